"""Content identifiers, computed here: the SDK checks what it downloads without trusting the
server, and carries its own code because it is installed without the platform.

``Cid`` parses and prints the CIDs the platform hands out (CIDv0 ``Qm…``, CIDv1 base32 ``b…``
or base58btc ``z…``, sha2-256 only). ``UnixfsHasher`` computes the CID ``ipfs add`` gives a
file (fixed 256 KiB chunks, balanced DAG of at most 174 links; CIDv1 means raw leaves), fed
chunk by chunk as a download arrives, so a file of any size is checked in constant memory.
A test holds it equal to the platform's importer (``ipfs.unixfs``) and to a real IPFS node.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12
CHUNK_SIZE = 262_144
MAX_LINKS = 174

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """``(value, position after it)``; ValueError when truncated or longer than 9 bytes."""
    value = shift = 0
    for i in range(9):
        if pos + i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ValueError("varint longer than 9 bytes")


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    chars = []
    while n:
        n, rem = divmod(n, 58)
        chars.append(_B58[rem])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(chars))


def _b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        if ch not in _B58_INDEX:
            raise ValueError(f"invalid base58btc character {ch!r}")
        n = n * 58 + _B58_INDEX[ch]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


@dataclass(frozen=True, slots=True)
class Cid:
    """A sha2-256 CID: ``version`` 0 or 1, its codec (dag-pb for v0) and the digest."""

    version: int
    codec: int
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> Cid:
        """The CID a string spells; ValueError naming the problem otherwise."""
        try:
            if len(text) == 46 and text.startswith("Qm"):
                raw = _b58decode(text)
                if raw[:2] != b"\x12\x20" or len(raw) != 34:
                    raise ValueError("not a sha2-256 multihash")
                return cls(0, DAG_PB, raw[2:])
            if text[:1] == "b":
                padded = text[1:].upper() + "=" * (-len(text[1:]) % 8)
                raw = base64.b32decode(padded)
            elif text[:1] == "z":
                raw = _b58decode(text[1:])
            else:
                raise ValueError("expected 'Qm…', 'b…' (base32) or 'z…' (base58btc)")
            cid, end = cls.read_bytes(raw)
            if end != len(raw):
                raise ValueError("trailing bytes")
            return cid
        except ValueError as exc:
            raise ValueError(f"invalid CID {text[:64]!r}: {exc}") from None

    @classmethod
    def read_bytes(cls, data: bytes | memoryview, pos: int = 0) -> tuple[Cid, int]:
        """A binary CID at ``pos`` (as in CAR sections and dag-pb links) and where it ends."""
        if data[pos : pos + 2] == b"\x12\x20":
            end = pos + 34
            if len(data) < end:
                raise ValueError("truncated CIDv0")
            return cls(0, DAG_PB, bytes(data[pos + 2 : end])), end
        version, pos = decode_varint(data, pos)
        codec, pos = decode_varint(data, pos)
        code, pos = decode_varint(data, pos)
        length, pos = decode_varint(data, pos)
        if version != 1 or code != SHA2_256 or length != 32 or len(data) < pos + 32:
            raise ValueError("only sha2-256 CIDv1 and CIDv0 are supported")
        return cls(1, codec, bytes(data[pos : pos + 32])), pos + 32

    def to_bytes(self) -> bytes:
        multihash = b"\x12\x20" + self.digest
        return multihash if self.version == 0 else b"\x01" + encode_varint(self.codec) + multihash

    def __str__(self) -> str:
        if self.version == 0:
            return _b58encode(self.to_bytes())
        return "b" + base64.b32encode(self.to_bytes()).decode().rstrip("=").lower()

    def verify(self, block: bytes | memoryview) -> bool:
        """True when ``block`` hashes to this CID."""
        return hashlib.sha256(block).digest() == self.digest


# --- the UnixFS file importer: only the hashing -----------------------------------------

_Link = tuple[Cid, int, int]  # (cid, tsize, file bytes under it)


def _file_node(links: list[_Link]) -> bytes:
    """A dag-pb File node over ``links``, byte for byte as Kubo writes it."""
    parts = []
    for cid, tsize, _ in links:
        raw = cid.to_bytes()
        body = b"\x0a" + encode_varint(len(raw)) + raw + b"\x12\x00\x18" + encode_varint(tsize)
        parts.append(b"\x12" + encode_varint(len(body)) + body)
    data = b"\x08\x02\x18" + encode_varint(sum(size for _, _, size in links))
    data += b"".join(b"\x20" + encode_varint(size) for _, _, size in links)
    parts.append(b"\x0a" + encode_varint(len(data)) + data)
    return b"".join(parts)


def _v0_leaf(chunk: bytes) -> bytes:
    """A CIDv0 leaf: a dag-pb node holding UnixFS File{Data, filesize}."""
    size = encode_varint(len(chunk))
    inner = b"\x08\x02" + (b"\x12" + size + chunk if chunk else b"") + b"\x18" + size
    return b"\x0a" + encode_varint(len(inner)) + inner


class UnixfsHasher:
    """``update`` with a file's bytes in order, then ``finish`` for its CID (``version`` 1:
    raw leaves, as ``ipfs add --cid-version=1``; 0: as plain ``ipfs add``)."""

    def __init__(self, version: int = 1) -> None:
        if version not in (0, 1):
            raise ValueError("CID version must be 0 or 1")
        self.version = version
        self.size = 0
        self._buffer = bytearray()
        self._levels: list[list[_Link]] = [[]]

    def update(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) > CHUNK_SIZE:
            self._leaf(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]

    def _leaf(self, chunk: bytes) -> None:
        if self.version == 1:
            self._push(0, (Cid(1, RAW, hashlib.sha256(chunk).digest()), len(chunk), len(chunk)))
        else:
            block = _v0_leaf(chunk)
            self._push(0, (Cid(0, DAG_PB, hashlib.sha256(block).digest()), len(block), len(chunk)))

    def _node(self, links: list[_Link]) -> _Link:
        block = _file_node(links)
        cid = Cid(self.version, DAG_PB, hashlib.sha256(block).digest())
        return cid, len(block) + sum(t for _, t, _ in links), sum(s for _, _, s in links)

    def _push(self, level: int, link: _Link) -> None:
        while True:
            if level == len(self._levels):
                self._levels.append([])
            pending = self._levels[level]
            pending.append(link)
            if len(pending) < MAX_LINKS:
                return
            link = self._node(pending)
            pending.clear()
            level += 1

    def finish(self) -> Cid:
        """The root CID; the hasher is spent."""
        if self._buffer or self.size == 0:
            # The last chunk (possibly the empty file's only, empty, leaf).
            self._leaf(bytes(self._buffer))
            self._buffer.clear()
        level = 0
        while True:
            top = max(i for i, pending in enumerate(self._levels) if pending)
            if level >= top:
                break
            pending = self._levels[level]
            if pending:
                # Below the top a partial level is wrapped even around one link, as Kubo's
                # balanced layout does.
                link = self._node(pending)
                pending.clear()
                self._push(level + 1, link)
            level += 1
        pending = self._levels[top]
        return pending[0][0] if len(pending) == 1 else self._node(pending)[0]


def cid_of_bytes(data: bytes, version: int = 1) -> str:
    """The CID ``ipfs add`` prints for ``data``."""
    hasher = UnixfsHasher(version)
    hasher.update(data)
    return str(hasher.finish())
