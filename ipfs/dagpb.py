"""dag-pb (PBNode/PBLink) and UnixFS ``Data`` protobuf codecs, hand-written.

Pure: no Django imports. Encoding follows what Kubo writes byte for byte: PBNode Links
(field 2) before Data (field 1); every PBLink carries Hash, Name (empty string, still
written) and Tsize; UnixFS ``filesize`` is always written and ``blocksizes`` are
unpacked. Decoding follows the dag-pb spec's strictness for PBNode/PBLink (it is what
peers reject) and protobuf's tolerance for UnixFS ``Data`` (unknown fields skipped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ipfs.cid import Cid, decode_varint, encode_varint

# UnixFS Data.DataType
UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2
UNIXFS_METADATA = 3
UNIXFS_SYMLINK = 4
UNIXFS_HAMT_SHARD = 5

_WIRE_VARINT = 0
_WIRE_I64 = 1
_WIRE_LEN = 2
_WIRE_I32 = 5

# Precomputed protobuf keys: (field << 3) | wire type.
_KEY_PBNODE_DATA = b"\x0a"  # field 1, length-delimited
_KEY_PBNODE_LINK = b"\x12"  # field 2, length-delimited
_KEY_LINK_HASH = b"\x0a"  # field 1, length-delimited
_EMPTY_NAME = b"\x12\x00"  # field 2, zero-length string: Kubo writes it, so must we
_KEY_LINK_TSIZE = b"\x18"  # field 3, varint
_UNIXFS_TYPE_FILE = b"\x08\x02"  # field 1 = File
_KEY_UNIXFS_DATA = b"\x12"  # field 2, length-delimited
_KEY_UNIXFS_FILESIZE = b"\x18"  # field 3, varint
_KEY_UNIXFS_BLOCKSIZE = b"\x20"  # field 4, varint (unpacked)


class DagPbError(ValueError):
    """A block is not valid dag-pb / UnixFS."""


class PBLink(NamedTuple):
    cid: Cid
    name: str | None
    tsize: int | None


@dataclass(frozen=True, slots=True)
class UnixfsData:
    """The decoded UnixFS ``Data`` message of a dag-pb node."""

    type: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]


# --- encoding -------------------------------------------------------------------------


def encode_link(cid: Cid, tsize: int) -> bytes:
    """One PBLink with an empty Name, as Kubo writes file links."""
    cid_bytes = cid.to_bytes()
    body = b"".join(
        (
            _KEY_LINK_HASH,
            encode_varint(len(cid_bytes)),
            cid_bytes,
            _EMPTY_NAME,
            _KEY_LINK_TSIZE,
            encode_varint(tsize),
        )
    )
    return _KEY_PBNODE_LINK + encode_varint(len(body)) + body


def encode_file_node(links: Sequence[tuple[Cid, int, int]]) -> bytes:
    """An internal UnixFS File node over ``links`` of ``(cid, tsize, filesize)``.

    Its UnixFS data records ``filesize`` = the sum of the children's file bytes and one
    ``blocksizes`` entry per child, in link order.
    """
    parts = [encode_link(cid, tsize) for cid, tsize, _ in links]
    filesize = sum(fs for _, _, fs in links)
    data = [_UNIXFS_TYPE_FILE, _KEY_UNIXFS_FILESIZE, encode_varint(filesize)]
    for _, _, fs in links:
        data.append(_KEY_UNIXFS_BLOCKSIZE)
        data.append(encode_varint(fs))
    unixfs = b"".join(data)
    parts.append(_KEY_PBNODE_DATA + encode_varint(len(unixfs)) + unixfs)
    return b"".join(parts)


def file_leaf_frame(size: int) -> tuple[bytes, bytes]:
    """``(prefix, suffix)`` such that ``prefix + chunk + suffix`` is a CIDv0 leaf node.

    The leaf is a dag-pb node with no links whose UnixFS data is File{Data=chunk,
    filesize=len(chunk)}. Returning the frame instead of the node lets callers hash and
    write a 256 KiB chunk without copying it. ``size`` 0 gives the empty-file node, where
    Kubo omits the Data field entirely.
    """
    size_varint = encode_varint(size)
    if size:
        inner_len = len(_UNIXFS_TYPE_FILE) + 1 + len(size_varint) + size + 1 + len(size_varint)
        prefix = b"".join(
            (
                _KEY_PBNODE_DATA,
                encode_varint(inner_len),
                _UNIXFS_TYPE_FILE,
                _KEY_UNIXFS_DATA,
                size_varint,
            )
        )
    else:
        inner_len = len(_UNIXFS_TYPE_FILE) + 1 + len(size_varint)
        prefix = _KEY_PBNODE_DATA + encode_varint(inner_len) + _UNIXFS_TYPE_FILE
    return prefix, _KEY_UNIXFS_FILESIZE + size_varint


# --- decoding -------------------------------------------------------------------------


def _read_len(buf: memoryview, pos: int) -> tuple[memoryview, int]:
    length, pos = decode_varint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise DagPbError("truncated length-delimited field")
    return buf[pos:end], end


def decode_dag_pb(block: bytes | bytearray | memoryview) -> tuple[list[PBLink], bytes | None]:
    """Decode a dag-pb block into ``(links, data)``.

    Enforces the dag-pb spec: only fields 1 (Data) and 2 (Links), every Link before Data,
    Data at most once, each PBLink's fields in order with Hash present. Raises
    :class:`DagPbError` on anything else.
    """
    buf = memoryview(block)
    links: list[PBLink] = []
    data: bytes | None = None
    pos = 0
    try:
        while pos < len(buf):
            key, pos = decode_varint(buf, pos)
            if key & 7 != _WIRE_LEN:
                raise DagPbError(f"unexpected wire type {key & 7} in PBNode")
            field = key >> 3
            value, pos = _read_len(buf, pos)
            if field == 2:
                if data is not None:
                    raise DagPbError("PBNode Links after Data")
                links.append(_decode_link(value))
            elif field == 1:
                if data is not None:
                    raise DagPbError("duplicate PBNode Data")
                data = bytes(value)
            else:
                raise DagPbError(f"unknown PBNode field {field}")
    except DagPbError:
        raise
    except ValueError as exc:
        raise DagPbError(f"malformed dag-pb: {exc}") from None
    return links, data


def _decode_link(buf: memoryview) -> PBLink:
    cid: Cid | None = None
    name: str | None = None
    tsize: int | None = None
    last_field = 0
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field <= last_field:
            raise DagPbError("PBLink fields out of order or repeated")
        last_field = field
        if field == 1 and wire == _WIRE_LEN:
            value, pos = _read_len(buf, pos)
            try:
                cid = Cid.from_bytes(value, codecs=None)
            except ValueError as exc:
                raise DagPbError(f"bad PBLink Hash: {exc}") from None
        elif field == 2 and wire == _WIRE_LEN:
            value, pos = _read_len(buf, pos)
            try:
                name = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise DagPbError("PBLink Name is not UTF-8") from None
        elif field == 3 and wire == _WIRE_VARINT:
            tsize, pos = decode_varint(buf, pos)
        else:
            raise DagPbError(f"unexpected PBLink field {field} (wire type {wire})")
    if cid is None:
        raise DagPbError("PBLink without Hash")
    return PBLink(cid, name, tsize)


def decode_unixfs_data(data: bytes | bytearray | memoryview) -> UnixfsData:
    """Decode a UnixFS ``Data`` message. Unknown fields are skipped; Type is required."""
    buf = memoryview(data)
    kind: int | None = None
    payload = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    pos = 0
    try:
        while pos < len(buf):
            key, pos = decode_varint(buf, pos)
            field, wire = key >> 3, key & 7
            if field == 1 and wire == _WIRE_VARINT:
                kind, pos = decode_varint(buf, pos)
            elif field == 2 and wire == _WIRE_LEN:
                value, pos = _read_len(buf, pos)
                payload = bytes(value)
            elif field == 3 and wire == _WIRE_VARINT:
                filesize, pos = decode_varint(buf, pos)
            elif field == 4 and wire == _WIRE_VARINT:
                size, pos = decode_varint(buf, pos)
                blocksizes.append(size)
            elif field == 4 and wire == _WIRE_LEN:
                # Packed encoding: Kubo never writes it, other protobuf encoders may.
                packed, pos = _read_len(buf, pos)
                inner = 0
                while inner < len(packed):
                    size, inner = decode_varint(packed, inner)
                    blocksizes.append(size)
            else:
                pos = _skip_field(buf, pos, wire)
    except DagPbError:
        raise
    except ValueError as exc:
        raise DagPbError(f"malformed UnixFS data: {exc}") from None
    if kind is None:
        raise DagPbError("UnixFS data without Type")
    return UnixfsData(kind, payload, filesize, tuple(blocksizes))


def _skip_field(buf: memoryview, pos: int, wire: int) -> int:
    if wire == _WIRE_VARINT:
        return decode_varint(buf, pos)[1]
    if wire == _WIRE_LEN:
        return _read_len(buf, pos)[1]
    width = {_WIRE_I64: 8, _WIRE_I32: 4}.get(wire)
    if width is None or pos + width > len(buf):
        raise DagPbError(f"unsupported or truncated wire type {wire}")
    return pos + width
