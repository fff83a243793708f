"""CARv1 (content-addressed archive) streaming writer and verifying reader.

Pure: no Django imports. A CARv1 is ``varint(len(header)) header`` followed by sections
``varint(len(cid) + len(block)) cid block``; the header is the dag-cbor map
``{"roots": [CID, …], "version": 1}``. Only that header shape is ever encoded or decoded,
so the few dag-cbor rules needed are written out here rather than pulling in a CBOR
library: canonical key order (shorter key first, so "roots" precedes "version") and CIDs
as tag 42 over bytes with a leading 0x00 (the identity multibase).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from ipfs.cid import SHA2_256, Cid, decode_varint, encode_varint

# Bigger than any block ``ipfs add`` makes (a 256 KiB chunk plus framing) and than the
# 2 MiB bitswap ceiling, small enough that a hostile length prefix cannot exhaust memory.
MAX_SECTION = 4 * 1024 * 1024
MAX_HEADER = 1024 * 1024

_CBOR_TAG_CID = b"\xd8\x2a"  # tag(42)
_CBOR_KEY_ROOTS = b"\x65roots"  # text(5)
_CBOR_KEY_VERSION = b"\x67version"  # text(7)


class CarError(ValueError):
    """The archive is malformed or a block does not hash to its CID."""


# --- writing --------------------------------------------------------------------------


def _cbor_head(major: int, n: int) -> bytes:
    """A CBOR initial byte plus argument, in the shortest form (as dag-cbor requires)."""
    if n < 24:
        return bytes((major << 5 | n,))
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes((major << 5 | info,)) + n.to_bytes(width, "big")
    raise ValueError("CBOR argument too large")


def encode_header(roots: Sequence[Cid]) -> bytes:
    """The length-prefixed CARv1 header naming ``roots``."""
    parts = [_cbor_head(5, 2), _CBOR_KEY_ROOTS, _cbor_head(4, len(roots))]
    for root in roots:
        raw = b"\x00" + root.to_bytes()
        parts += [_CBOR_TAG_CID, _cbor_head(2, len(raw)), raw]
    parts += [_CBOR_KEY_VERSION, b"\x01"]
    header = b"".join(parts)
    return encode_varint(len(header)) + header


class CarWriter:
    """Streams a CARv1 to ``out``: the header at construction, then one section per block.

    Deduplication is the caller's business: CARv1 allows repeated blocks, and only the
    caller knows whether it has already written one.
    """

    def __init__(self, out: BinaryIO, roots: Sequence[Cid]) -> None:
        self._out = out
        out.write(encode_header(roots))

    def write_block(self, cid: Cid, parts: Sequence[bytes | memoryview] | bytes) -> None:
        """Append a section; ``parts`` is the block, whole or in pieces (not copied)."""
        if isinstance(parts, bytes | bytearray | memoryview):
            parts = (parts,)
        cid_bytes = cid.to_bytes()
        length = len(cid_bytes) + sum(len(p) for p in parts)
        self._out.write(encode_varint(length) + cid_bytes)
        for part in parts:
            self._out.write(part)


# --- reading --------------------------------------------------------------------------


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) == n:
        return data
    chunks = [data]
    got = len(data)
    while got < n:
        more = stream.read(n - got)
        if not more:
            raise CarError(f"truncated CAR: wanted {n} bytes, got {got}")
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def _read_varint(stream: BinaryIO) -> int | None:
    """A varint from the stream; None at a clean EOF before its first byte."""
    raw = bytearray()
    while True:
        byte = stream.read(1)
        if not byte:
            if raw:
                raise CarError("truncated varint")
            return None
        raw += byte
        if not byte[0] & 0x80 or len(raw) >= 9:
            break
    try:
        return decode_varint(raw)[0]
    except ValueError as exc:
        raise CarError(f"bad varint: {exc}") from None


class _Cbor:
    """Just enough of a dag-cbor decoder for a CAR header."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _head(self) -> tuple[int, int]:
        if self.pos >= len(self.data):
            raise CarError("truncated CAR header")
        first = self.data[self.pos]
        self.pos += 1
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
        if width is None or self.pos + width > len(self.data):
            raise CarError("unsupported or truncated CBOR item in CAR header")
        value = int.from_bytes(self.data[self.pos : self.pos + width], "big")
        self.pos += width
        return major, value

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CarError("truncated CAR header")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def item(self) -> object:
        major, arg = self._head()
        if major == 0:
            return arg
        if major == 2:
            return self._take(arg)
        if major == 3:
            try:
                return self._take(arg).decode("utf-8")
            except UnicodeDecodeError:
                raise CarError("CAR header key is not UTF-8") from None
        if major == 4:
            return [self.item() for _ in range(arg)]
        if major == 5:
            result: dict[object, object] = {}
            for _ in range(arg):
                key = self.item()
                if not isinstance(key, str) or key in result:
                    raise CarError("CAR header map keys must be distinct strings")
                result[key] = self.item()
            return result
        if major == 6 and arg == 42:
            raw = self.item()
            if not isinstance(raw, bytes) or raw[:1] != b"\x00":
                raise CarError("CID in CAR header is not tag 42 over 0x00-prefixed bytes")
            try:
                return Cid.from_bytes(raw[1:], codecs=None)
            except ValueError as exc:
                raise CarError(f"bad root CID in CAR header: {exc}") from None
        raise CarError(f"unsupported CBOR major type {major} in CAR header")


def decode_header(data: bytes) -> list[Cid]:
    """The roots of a CARv1 header body (without its length prefix)."""
    parser = _Cbor(data)
    header = parser.item()
    if parser.pos != len(data):
        raise CarError("trailing bytes in CAR header")
    if not isinstance(header, dict):
        raise CarError("CAR header is not a map")
    version = header.get("version")
    if version == 2:
        raise CarError("CARv2 is not supported; export as CARv1")
    if version != 1:
        raise CarError(f"unsupported CAR version {version!r}")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, Cid) for r in roots):
        raise CarError("CAR header roots must be a list of CIDs")
    return list(roots)  # type: ignore[arg-type]  # checked just above


class CarReader:
    """Reads a CARv1 from a stream: ``roots`` at once, then blocks by iteration.

    Guarantees every block it yields hashes to its CID (sha2-256 only); a mismatch,
    an unsupported hash or truncation raises :class:`CarError`. Holds one block at a time.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        length = _read_varint(stream)
        if length is None:
            raise CarError("empty CAR")
        if not 0 < length <= MAX_HEADER:
            raise CarError(f"CAR header length {length} out of range")
        self.roots: list[Cid] = decode_header(_read_exact(stream, length))

    def __iter__(self) -> Iterator[tuple[Cid, bytes]]:
        while True:
            length = _read_varint(self._stream)
            if length is None:
                return
            if not 0 < length <= MAX_SECTION:
                raise CarError(f"CAR section length {length} out of range")
            section = _read_exact(self._stream, length)
            try:
                cid, offset = Cid.read_bytes(section, codecs=None)
            except ValueError as exc:
                raise CarError(f"bad CID in CAR section: {exc}") from None
            block = memoryview(section)[offset:]
            # Cid only admits sha2-256, so this check covers every CID that parsed.
            assert cid.multihash[0] == SHA2_256
            if hashlib.sha256(block).digest() != cid.digest:
                raise CarError(f"block {cid} does not match its hash")
            yield cid, bytes(block)


def read_car(stream: BinaryIO) -> tuple[list[Cid], Iterator[tuple[Cid, bytes]]]:
    """``(roots, blocks)`` of a CARv1; see :class:`CarReader` for the guarantees."""
    reader = CarReader(stream)
    return reader.roots, iter(reader)
