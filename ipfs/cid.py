"""CIDs: unsigned varints, base32/base58btc multibase, sha2-256 multihash.

Pure: no Django imports. ``Cid.parse`` is the one gate user-supplied strings (URL path
segments, form fields) pass through, so it accepts only the canonical spellings a CID can
have and raises ``ValueError`` with a message fit to show the user for anything else.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection
from dataclasses import dataclass

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
SHA2_256 = 0x12
SHA2_256_LEN = 32

#: Codecs a UnixFS file DAG is made of; the default whitelist for parsing user input.
UNIXFS_CODECS: frozenset[int] = frozenset({RAW, DAG_PB})

# The multiformats unsigned-varint spec caps varints at 9 bytes (63 bits).
_MAX_VARINT_BYTES = 9

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")

# A CID string is never this long; the cap bounds the work done on hostile input before
# any real validation happens (base58 decoding is quadratic in the length).
_MAX_CID_STR = 256


# --- unsigned varint ------------------------------------------------------------------


def encode_varint(n: int) -> bytes:
    """Minimal unsigned LEB128 encoding of ``n`` (0 <= n < 2**63)."""
    if n < 0 or n >= 1 << 63:
        raise ValueError(f"varint out of range: {n}")
    if n < 0x80:
        # Fast path: the common case for tags, lengths under 128 and CID versions.
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_varint(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode a varint at ``offset``; return ``(value, offset_after)``.

    Rejects truncated input, more than 9 bytes and non-minimal encodings (a trailing 0x00
    byte), as the multiformats spec requires, so one value has exactly one encoding.
    """
    value = 0
    shift = 0
    end = len(buf)
    for i in range(_MAX_VARINT_BYTES):
        pos = offset + i
        if pos >= end:
            raise ValueError("truncated varint")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise ValueError("non-minimal varint encoding")
            return value, pos + 1
        shift += 7
    raise ValueError("varint longer than 9 bytes")


# --- multibase ------------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58, leading zero bytes as '1' (no multibase prefix)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    chars: list[str] = []
    while n:
        n, rem = divmod(n, 58)
        chars.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; ``ValueError`` on characters outside the alphabet."""
    n = 0
    for ch in text:
        try:
            n = n * 58 + _B58_INDEX[ch]
        except KeyError:
            raise ValueError(f"invalid base58btc character {ch!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, lowercase, unpadded (no multibase prefix)."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32decode(text: str) -> bytes:
    """Inverse of :func:`b32encode`; only the canonical lowercase, unpadded form decodes."""
    if not set(text) <= _B32_ALPHABET:
        raise ValueError("invalid base32 character (expected lowercase a-z, 2-7, no padding)")
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        data = base64.b32decode(padded)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise ValueError(f"invalid base32: {exc}") from None
    # Unused trailing bits must be zero, otherwise two strings would name one CID.
    if b32encode(data) != text:
        raise ValueError("non-canonical base32 encoding")
    return data


# --- multihash / CID ------------------------------------------------------------------


def sha256_multihash(digest: bytes) -> bytes:
    """The multihash bytes ``0x12 0x20 <digest>``."""
    return b"\x12\x20" + digest


_CODEC_NAMES = {RAW: "raw", DAG_PB: "dag-pb", DAG_CBOR: "dag-cbor"}


@dataclass(frozen=True, slots=True)
class Cid:
    """A sha2-256 content identifier.

    ``version`` 0 implies ``codec`` dag-pb; ``digest`` is the 32-byte sha2-256 digest.
    Instances are validated on construction, so any ``Cid`` that exists is well-formed.
    """

    version: int
    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise ValueError(f"unsupported CID version {self.version}")
        if self.version == 0 and self.codec != DAG_PB:
            raise ValueError("CIDv0 is always dag-pb")
        if not 0 <= self.codec < 1 << 63:
            raise ValueError(f"invalid codec {self.codec}")
        if len(self.digest) != SHA2_256_LEN:
            raise ValueError(f"sha2-256 digest must be 32 bytes, got {len(self.digest)}")

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def of_block(
        cls, block: bytes | bytearray | memoryview, *, codec: int, version: int = 1
    ) -> Cid:
        """The CID naming ``block`` when stored under ``codec``."""
        return cls(version, codec, hashlib.sha256(block).digest())

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        *,
        codecs: Collection[int] | None = UNIXFS_CODECS,
    ) -> Cid:
        """Parse binary CID bytes, exactly (trailing bytes are an error)."""
        cid, end = cls.read_bytes(data, 0, codecs=codecs)
        if end != len(data):
            raise ValueError("trailing bytes after CID")
        return cid

    @classmethod
    def read_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        offset: int = 0,
        *,
        codecs: Collection[int] | None = UNIXFS_CODECS,
    ) -> tuple[Cid, int]:
        """Parse a binary CID starting at ``offset``; return ``(cid, offset_after)``.

        Used where a CID is followed by other data (CAR sections). ``codecs`` whitelists
        the codecs accepted (``None`` accepts any).
        """
        # CIDv0 is a bare sha2-256 multihash; 0x12 is never a valid CIDv1 version byte.
        if len(data) - offset >= 2 and data[offset] == SHA2_256 and data[offset + 1] == 0x20:
            end = offset + 2 + SHA2_256_LEN
            if len(data) < end:
                raise ValueError("truncated CIDv0 multihash")
            cid = cls(0, DAG_PB, bytes(data[offset + 2 : end]))
        else:
            version, pos = decode_varint(data, offset)
            if version != 1:
                raise ValueError(f"unsupported CID version {version}")
            codec, pos = decode_varint(data, pos)
            code, pos = decode_varint(data, pos)
            if code != SHA2_256:
                raise ValueError(f"unsupported multihash 0x{code:x} (only sha2-256)")
            length, pos = decode_varint(data, pos)
            if length != SHA2_256_LEN:
                raise ValueError(f"sha2-256 digest length must be 32, got {length}")
            end = pos + length
            if len(data) < end:
                raise ValueError("truncated multihash digest")
            cid = cls(1, codec, bytes(data[pos:end]))
        if codecs is not None and cid.codec not in codecs:
            raise ValueError(f"unsupported codec {cid.codec_name}")
        return cid, end

    @classmethod
    def parse(cls, text: str, *, codecs: Collection[int] | None = UNIXFS_CODECS) -> Cid:
        """Parse a CID string strictly.

        Accepts CIDv0 (``Qm…``, base58btc, 46 chars), CIDv1 in base32 (``b…``, lowercase)
        and CIDv1 in base58btc (``z…``). Anything else, including non-canonical encodings,
        other multibases, other hashes and codecs outside ``codecs``, raises ``ValueError``.
        """
        if not isinstance(text, str):
            raise ValueError("CID must be a string")
        if not text:
            raise ValueError("invalid CID: empty CID")
        try:
            if len(text) > _MAX_CID_STR:
                raise ValueError("too long")
            if not text.isascii():
                raise ValueError("non-ASCII characters")
            if len(text) == 46 and text.startswith("Qm"):
                raw = b58decode(text)
                if len(raw) != 34 or raw[:2] != b"\x12\x20":
                    raise ValueError("not a sha2-256 multihash")
                cid = cls(0, DAG_PB, raw[2:])
            elif text[0] == "b":
                cid = cls.from_bytes(b32decode(text[1:]), codecs=None)
            elif text[0] == "z":
                raw = b58decode(text[1:])
                if b58encode(raw) != text[1:]:
                    raise ValueError("non-canonical base58btc encoding")
                cid = cls.from_bytes(raw, codecs=None)
            else:
                raise ValueError(
                    "unknown multibase prefix (expected 'Qm…' CIDv0, 'b…' base32 or 'z…' base58btc)"
                )
            if text[0] in "bz" and cid.version == 0:
                # A multibase-wrapped bare multihash is not a CID spelling Kubo produces.
                raise ValueError("CIDv0 has no multibase prefix")
        except ValueError as exc:
            raise ValueError(f"invalid CID {text[:64]!r}: {exc}") from None
        if codecs is not None and cid.codec not in codecs:
            raise ValueError(f"invalid CID {text[:64]!r}: unsupported codec {cid.codec_name}")
        return cid

    # -- encodings ----------------------------------------------------------------------

    @property
    def multihash(self) -> bytes:
        """The sha2-256 multihash bytes (what a block store keys blocks by)."""
        return sha256_multihash(self.digest)

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES.get(self.codec, f"0x{self.codec:x}")

    def to_bytes(self) -> bytes:
        """Binary CID: the bare multihash for v0, ``0x01 <codec> <multihash>`` for v1."""
        if self.version == 0:
            return self.multihash
        return b"\x01" + encode_varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    def to_v1(self) -> Cid:
        """The same block named by a CIDv1 (a v0 CID becomes dag-pb v1)."""
        return Cid(1, self.codec, self.digest)

    def verify(self, block: bytes | bytearray | memoryview) -> bool:
        """True when ``block`` hashes to this CID's digest."""
        return hashlib.sha256(block).digest() == self.digest
