"""Chunked, streaming AES-256-GCM: the sealed form of one file.

The construction is STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), laid out as
Tink's streaming AEAD lays it out: each chunk's 96-bit nonce is a 7-byte random prefix (one
per file), a 4-byte big-endian chunk counter and a 1-byte last-chunk flag. Binding the index
and the flag into the nonce is what stops chunks being reordered, duplicated, dropped from the
end or appended after it: a chunk only opens at its own position, and only the real last chunk
opens as last. The header goes into every chunk's associated data, so no field of it can be
changed either.

Layout (version 1)::

    header  = b"DDSEAL" | version u8 (1) | chunk_size u32 BE | nonce_prefix 7 B | key_check 16 B
    chunk_i = AES-256-GCM(data_key, prefix | i u32 BE | last u8, plaintext_i, aad=header)

Every chunk but the last holds exactly ``chunk_size`` bytes of plaintext; the last holds 0 to
``chunk_size`` (an empty file is one empty last chunk, so a stream cut after its header is
refused too). Ciphertext grows by 34 bytes plus 16 per chunk.

``key_check`` is HMAC-SHA256(data_key, label | header fields)[:16]. GCM alone is not
key-committing; the check makes a wrong key fail at the header, before any chunk is tried, with
its own error, and ties the header to the key.

Each file gets a fresh random 256-bit data key (``DataKey.generate``), so the random prefix is
a second line of defence against nonce reuse, not the first. Memory is one chunk in and one out
whatever the file's size.

Decryption writes a chunk only after it has authenticated, so no unauthenticated byte is ever
written. The whole stream is only authentic once the last chunk has opened: when
``decrypt_stream`` raises, the chunks before the bad one are already in ``dst``, and the caller
must discard them (write to a temporary file and keep it only on success, or abort the
response being served). This module does not buffer to a temporary file itself: the caller
knows where the output goes, and a streaming response can stop mid-way, which counts as refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datadao.sealing.errors import (
    MalformedError,
    TamperedError,
    TrailingDataError,
    TruncatedError,
    WrongKeyError,
)

MAGIC = b"DDSEAL"
VERSION = 1
KEY_BYTES = 32
PREFIX_BYTES = 7
CHECK_BYTES = 16
TAG_BYTES = 16
_FIELDS = struct.Struct(">6sBI7s")  # magic, version, chunk size, nonce prefix
HEADER_BYTES = _FIELDS.size + CHECK_BYTES
DEFAULT_CHUNK_SIZE = 1024 * 1024
# A header names its chunk size, and a reader allocates that much: the bounds keep a forged
# header from asking for gigabytes. The lower bound only keeps the per-chunk overhead sane.
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
MAX_CHUNKS = 2**32  # the counter's width
_CHECK_LABEL = b"datadao sealed stream v1 key check\x00"


class DataKey:
    """One file's 256-bit data key. Its repr and str never show the key."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._material = bytes(material)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @property
    def material(self) -> bytes:
        """The raw key, for wrapping and for the cipher; never format it into text."""
        return self._material

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataKey) and hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._material).digest())

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> object:
        # Pickling would copy the key into a task message or a cache: refuse it.
        raise TypeError("a DataKey is not picklable")


def _key_check(key: DataKey, fields: bytes) -> bytes:
    return hmac.new(key.material, _CHECK_LABEL + fields, hashlib.sha256).digest()[:CHECK_BYTES]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= MAX_CHUNKS:
        raise ValueError("too many chunks for one sealed stream")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _read_full(src: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at the end of the stream (raw streams may read short)."""
    parts = []
    wanted = n
    while wanted:
        piece = src.read(wanted)
        if not piece:
            break
        parts.append(piece)
        wanted -= len(piece)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _write_all(dst: BinaryIO, data: bytes) -> None:
    """All of ``data``: a raw (unbuffered) stream's write may take only part of it."""
    view = memoryview(data)
    while view:
        n = dst.write(view)
        if n is None:
            raise BlockingIOError("the output stream would block: give a blocking stream")
        view = view[n:]


def sealed_size(plain_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The sealed stream's size for ``plain_size`` bytes of plaintext."""
    chunks = max(1, -(-plain_size // chunk_size))
    return HEADER_BYTES + plain_size + chunks * TAG_BYTES


# magic, version, chunk size: the part of a sealed stream's header readable without its key.
_PUBLIC_HEAD = struct.Struct(">6sBI")


def structure_problem(head: bytes, size: int, plain_size: int) -> str | None:
    """What is wrong with a sealed stream of ``size`` bytes beginning ``head`` said to hold
    ``plain_size`` bytes of plaintext, or None: the checks that need no key (a release's
    verifier and a DAO's validator, who hold none, make them)."""
    if len(head) < _PUBLIC_HEAD.size:
        return "shorter than a sealed stream's header"
    magic, version, chunk_size = _PUBLIC_HEAD.unpack(head[: _PUBLIC_HEAD.size])
    if magic != MAGIC or version != VERSION:
        return f"not a sealed stream of version {VERSION}"
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        return f"its header names a chunk size of {chunk_size} bytes"
    expected = sealed_size(plain_size, chunk_size)
    if size != expected:
        return (
            f"{size} bytes sealed, not the {expected} that {plain_size} bytes of plaintext seal to"
        )
    return None


def encrypt_stream(
    src: BinaryIO, dst: BinaryIO, key: DataKey, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> int:
    """Seal all of ``src`` into ``dst`` under ``key``; returns the bytes written. Either
    stream may be raw (short reads and writes are completed here) or buffered."""
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes")
    prefix = os.urandom(PREFIX_BYTES)
    fields = _FIELDS.pack(MAGIC, VERSION, chunk_size, prefix)
    header = fields + _key_check(key, fields)
    _write_all(dst, header)
    written = len(header)
    aead = AESGCM(key.material)
    # One chunk of look-ahead: a chunk is sealed as last only when nothing follows it.
    current = _read_full(src, chunk_size)
    index = 0
    while True:
        following = _read_full(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        sealed = aead.encrypt(_nonce(prefix, index, last), current, header)
        _write_all(dst, sealed)
        written += len(sealed)
        if last:
            return written
        current = following
        index += 1


def _open_header(src: BinaryIO, key: DataKey) -> tuple[bytes, int, bytes]:
    header = _read_full(src, HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise MalformedError("not a sealed stream: shorter than its header")
    fields, check = header[: _FIELDS.size], header[_FIELDS.size :]
    magic, version, chunk_size, prefix = _FIELDS.unpack(fields)
    if magic != MAGIC:
        raise MalformedError("not a sealed stream: wrong magic bytes")
    if version != VERSION:
        raise MalformedError(f"sealed stream version {version} is not one this code reads")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise MalformedError("sealed stream header names a chunk size out of bounds")
    if not hmac.compare_digest(check, _key_check(key, fields)):
        raise WrongKeyError("the data key does not open this stream, or its header was altered")
    return header, chunk_size, prefix


def iter_decrypt(src: BinaryIO, key: DataKey) -> Iterator[bytes]:
    """The plaintext of a sealed stream, one authenticated chunk at a time.

    Raises a ``SealError`` subclass at the first chunk that does not open; what was yielded
    before it must then be discarded (see the module docstring).
    """
    header, chunk_size, prefix = _open_header(src, key)
    aead = AESGCM(key.material)
    sealed_chunk = chunk_size + TAG_BYTES
    current = _read_full(src, sealed_chunk)
    index = 0
    while True:
        following = _read_full(src, sealed_chunk) if len(current) == sealed_chunk else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, index, last), current, header)
        except InvalidTag:
            raise _why(aead, prefix, index, last, current, header) from None
        yield plain
        if last:
            return
        current = following
        index += 1


def _why(
    aead: AESGCM, prefix: bytes, index: int, last: bool, chunk: bytes, header: bytes
) -> TamperedError:
    """Name the failure: a chunk that opens under the other last-flag was cut off or extended
    at; anything else was altered or moved. Only runs on the failure path."""
    if not chunk:
        # Even an empty last chunk carries its tag: nothing at all is a cut at a boundary.
        return TruncatedError("the sealed stream ends before its last chunk", index=index)
    if len(chunk) >= TAG_BYTES:
        try:
            aead.decrypt(_nonce(prefix, index, not last), chunk, header)
        except InvalidTag:
            pass
        else:
            if last:
                return TruncatedError("the sealed stream ends before its last chunk", index=index)
            return TrailingDataError("data follows the sealed stream's last chunk", index=index)
    return TamperedError("a chunk of the sealed stream failed authentication", index=index)


def decrypt_stream(src: BinaryIO, dst: BinaryIO, key: DataKey) -> int:
    """Open the sealed stream ``src`` into ``dst``; returns the plaintext bytes written.

    On a raise, discard ``dst``: it holds the chunks that authenticated before the bad one.
    """
    written = 0
    for plain in iter_decrypt(src, key):
        _write_all(dst, plain)
        written += len(plain)
    return written
