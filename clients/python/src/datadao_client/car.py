"""A release's CAR (CARv1) checked block by block, and the files in it read back.

``CarIndex.scan`` reads a CAR file once: it checks that every block hashes to its CID and
records where each block lies, so the files are then read from the disk, one block at a time,
whatever the archive's size. ``read_file`` walks a UnixFS file from its root and fails when a
block is missing or malformed: a CAR that verifies holds every byte of every root it names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from datadao_client.cid import DAG_PB, RAW, Cid, decode_varint
from datadao_client.errors import VerificationError

MAX_SECTION = 4 * 1024 * 1024
MAX_HEADER = 1024 * 1024


def _varint(stream: BinaryIO) -> int | None:
    raw = bytearray()
    while True:
        byte = stream.read(1)
        if not byte:
            if raw:
                raise VerificationError("truncated CAR: a length ends early")
            return None
        raw += byte
        if not byte[0] & 0x80 or len(raw) >= 9:
            return decode_varint(bytes(raw))[0]


def _read(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise VerificationError(f"truncated CAR: wanted {n} bytes, got {len(data)}")
    return data


def _header_roots(header: bytes) -> list[Cid]:
    """The roots of a CARv1 header (dag-cbor ``{"roots": [CID…], "version": 1}``).

    Only the shape the platform writes is read: a two-entry map, roots first.
    """
    if header[:7] != b"\xa2\x65roots":
        raise VerificationError("the CAR header is not a CARv1 header")
    pos, roots = 7, []
    first = header[pos]
    count, pos = (first & 0x1F, pos + 1) if first & 0x1F < 24 else _cbor_arg(header, pos)
    for _ in range(count):
        if header[pos : pos + 2] != b"\xd8\x2a":
            raise VerificationError("a CAR root is not a CID (tag 42)")
        length, pos = _cbor_arg(header, pos + 2)
        raw = header[pos : pos + length]
        if raw[:1] != b"\x00":
            raise VerificationError("a CAR root CID lacks its 0x00 prefix")
        roots.append(Cid.read_bytes(raw, 1)[0])
        pos += length
    if header[pos:] != b"\x67version\x01":
        raise VerificationError("the CAR is not version 1")
    return roots


def _cbor_arg(data: bytes, pos: int) -> tuple[int, int]:
    info = data[pos] & 0x1F
    if info < 24:
        return info, pos + 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "big"), pos + 1 + width


@dataclass
class CarIndex:
    """Where each verified block of a CAR file lies: ``(offset, length)`` by sha2-256 digest
    (one block whether a link names it by a CIDv0 or a CIDv1)."""

    path: Path
    roots: list[Cid]
    blocks: dict[bytes, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def scan(cls, path: Path) -> CarIndex:
        """Read the whole CAR, checking every block against its CID (VerificationError)."""
        with path.open("rb") as stream:
            length = _varint(stream)
            if length is None or not 0 < length <= MAX_HEADER:
                raise VerificationError("the CAR has no header")
            index = cls(path=path, roots=_header_roots(_read(stream, length)))
            while (length := _varint(stream)) is not None:
                if not 0 < length <= MAX_SECTION:
                    raise VerificationError(f"a CAR section of {length} bytes is out of range")
                start = stream.tell()
                section = _read(stream, length)
                try:
                    cid, offset = Cid.read_bytes(section)
                except ValueError as exc:
                    raise VerificationError(f"a CAR section has no valid CID: {exc}") from None
                if not cid.verify(memoryview(section)[offset:]):
                    raise VerificationError(f"block {cid} does not hash to its CID")
                index.blocks[cid.digest] = (start + offset, length - offset)
        return index

    def block(self, cid: Cid) -> bytes:
        place = self.blocks.get(cid.digest)
        if place is None:
            raise VerificationError(f"block {cid} is missing from the CAR")
        offset, length = place
        with self.path.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
        # Checked again: the file may have changed since it was scanned.
        if hashlib.sha256(data).digest() != cid.digest:
            raise VerificationError(f"block {cid} changed on disk after it was verified")
        return data

    def read_file(self, root: Cid) -> Iterator[bytes]:
        """A UnixFS file's bytes in order; VerificationError when its DAG is incomplete or
        not a file."""
        expected: int | None = None
        produced = 0
        stack: list[Iterator[Cid]] = [iter((root,))]
        while stack:
            cid = next(stack[-1], None)
            if cid is None:
                stack.pop()
                continue
            block = self.block(cid)
            if cid.codec == RAW:
                produced += len(block)
                yield block
                continue
            if cid.codec != DAG_PB:
                raise VerificationError(f"block {cid} is not part of a UnixFS file")
            links, data = _dag_pb(block)
            kind, payload, filesize = _unixfs(data)
            if kind not in (0, 2):
                raise VerificationError(f"{cid} is a UnixFS node of type {kind}, not a file")
            if expected is None:
                expected = filesize
            produced += len(payload)
            if payload:
                yield payload
            if links:
                stack.append(iter(links))
        if expected is not None and produced != expected:
            raise VerificationError(f"{root} declares {expected} bytes but holds {produced}")


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Protobuf ``(field, wire type, value)``; only varints and length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        wire = key & 7
        if wire == 0:
            value, pos = decode_varint(buf, pos)
            yield key >> 3, wire, value
        elif wire == 2:
            length, pos = decode_varint(buf, pos)
            if pos + length > len(buf):
                raise VerificationError("a dag-pb field runs past its block")
            yield key >> 3, wire, buf[pos : pos + length]
            pos += length
        else:
            raise VerificationError(f"unexpected protobuf wire type {wire} in a dag-pb block")


def _dag_pb(block: bytes) -> tuple[list[Cid], bytes]:
    links, data = [], b""
    try:
        for number, wire, value in _fields(block):
            if number == 2 and wire == 2:
                for inner, inner_wire, hash_ in _fields(value):  # type: ignore[arg-type]
                    if inner == 1 and inner_wire == 2:
                        links.append(Cid.read_bytes(hash_)[0])  # type: ignore[arg-type]
            elif number == 1 and wire == 2:
                data = value  # type: ignore[assignment]
    except ValueError as exc:
        raise VerificationError(f"a block is not valid dag-pb: {exc}") from None
    return links, data


def _unixfs(data: bytes) -> tuple[int, bytes, int | None]:
    kind, payload, filesize = -1, b"", None
    try:
        for number, wire, value in _fields(data):
            if number == 1 and wire == 0:
                kind = value  # type: ignore[assignment]
            elif number == 2 and wire == 2:
                payload = value  # type: ignore[assignment]
            elif number == 3 and wire == 0:
                filesize = value  # type: ignore[assignment]
    except ValueError as exc:
        raise VerificationError(f"a block's UnixFS data is malformed: {exc}") from None
    return kind, payload, filesize
