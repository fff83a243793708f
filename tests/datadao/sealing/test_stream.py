"""Sealed streams: round trips, every tamper refused with its own error, constant memory."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from datadao.sealing import (
    DataKey,
    MalformedError,
    SealError,
    TamperedError,
    TrailingDataError,
    TruncatedError,
    WrongKeyError,
    decrypt_stream,
    encrypt_stream,
    iter_decrypt,
    sealed_size,
)
from datadao.sealing.stream import HEADER_BYTES, MAX_CHUNK_SIZE, TAG_BYTES

CHUNK = 1024  # the smallest allowed: many chunks from a few KiB


def seal(plain: bytes, key: DataKey, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    written = encrypt_stream(io.BytesIO(plain), out, key, chunk_size=chunk)
    assert written == len(out.getvalue()) == sealed_size(len(plain), chunk)
    return out.getvalue()


def open_sealed(sealed: bytes, key: DataKey) -> tuple[bytes, Exception | None]:
    """What decrypt_stream wrote, and what it raised (if anything)."""
    out = io.BytesIO()
    try:
        decrypt_stream(io.BytesIO(sealed), out, key)
    except SealError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def chunks_of(sealed: bytes, chunk: int = CHUNK) -> list[bytes]:
    body = sealed[HEADER_BYTES:]
    step = chunk + TAG_BYTES
    return [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 7], ids=str
)
def test_round_trip(size: int) -> None:
    plain = os.urandom(size)
    key = DataKey.generate()
    sealed = seal(plain, key)
    assert size < 16 or plain not in sealed  # a short run of bytes turns up by chance
    assert len(chunks_of(sealed)) == max(1, -(-size // CHUNK))
    assert open_sealed(sealed, key) == (plain, None)


class ShortWriter(io.RawIOBase):
    """Takes at most 1000 bytes per write, as a raw pipe may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def]
        taken = bytes(b[:1000])
        self.data += taken
        return len(taken)


def test_round_trip_default_chunk_over_short_reads_and_writes() -> None:
    class Trickle(io.RawIOBase):
        """Returns at most 1000 bytes per read, as a socket or pipe may."""

        def __init__(self, data: bytes) -> None:
            self._src = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self._src.read(min(n, 1000) if n >= 0 else 1000)

    plain = os.urandom(2 * 1024 * 1024 + 5)
    key = DataKey.generate()
    out = ShortWriter()
    encrypt_stream(Trickle(plain), out, key)
    back = ShortWriter()
    decrypt_stream(Trickle(bytes(out.data)), back, key)
    assert bytes(back.data) == plain


def test_same_plaintext_same_key_seals_differently() -> None:
    key = DataKey.generate()
    assert seal(b"x" * 3000, key) != seal(b"x" * 3000, key)  # fresh nonce prefix


def test_chunk_size_bounds() -> None:
    with pytest.raises(ValueError, match="chunk size"):
        encrypt_stream(io.BytesIO(b""), io.BytesIO(), DataKey.generate(), chunk_size=512)
    key = DataKey.generate()
    sealed = bytearray(seal(b"abc", key))
    sealed[7:11] = (MAX_CHUNK_SIZE + 1).to_bytes(4, "big")  # a header asking for a huge buffer
    written, exc = open_sealed(bytes(sealed), key)
    assert written == b"" and isinstance(exc, MalformedError)
    assert "chunk size out of bounds" in str(exc)


PLAIN = bytes(range(256)) * 20  # 5 chunks of 1024, the last 1024 too
KEY = DataKey.generate()


def refused(sealed: bytes, key: DataKey = KEY) -> tuple[bytes, Exception]:
    written, exc = open_sealed(sealed, key)
    assert exc is not None, "a tampered stream was accepted"
    return written, exc


@pytest.mark.parametrize("offset", range(HEADER_BYTES))
def test_every_header_bit_flip_is_refused_before_any_output(offset: int) -> None:
    sealed = bytearray(seal(PLAIN, KEY))
    sealed[offset] ^= 0x01
    written, exc = refused(bytes(sealed))
    assert written == b""
    # Magic and version are checked as structure; the chunk size may fall out of bounds
    # first; every other field (and the check itself) is covered by the key check.
    if offset < 7:
        assert type(exc) is MalformedError
    elif offset < 11:
        assert type(exc) in (MalformedError, WrongKeyError)
    else:
        assert type(exc) is WrongKeyError


def test_not_a_sealed_stream() -> None:
    for junk in (b"", b"DDSEAL", b"hello world, not sealed at all, not even close"):
        written, exc = refused(junk)
        assert (written, type(exc)) == (b"", MalformedError)


def test_flip_in_a_chunk_keeps_only_the_chunks_before_it() -> None:
    sealed = seal(PLAIN, KEY)
    for index in range(5):
        tampered = bytearray(sealed)
        tampered[HEADER_BYTES + index * (CHUNK + TAG_BYTES) + 100] ^= 0x80
        written, exc = refused(bytes(tampered))
        assert type(exc) is TamperedError and exc.index == index
        assert written == PLAIN[: index * CHUNK]  # authenticated chunks only, none of the bad


def test_swapped_chunks_are_refused() -> None:
    sealed = seal(PLAIN, KEY)
    parts = chunks_of(sealed)
    parts[1], parts[2] = parts[2], parts[1]
    written, exc = refused(sealed[:HEADER_BYTES] + b"".join(parts))
    assert type(exc) is TamperedError and exc.index == 1
    assert written == PLAIN[:CHUNK]


def test_duplicated_chunk_is_refused() -> None:
    sealed = seal(PLAIN, KEY)
    parts = chunks_of(sealed)
    written, exc = refused(sealed[:HEADER_BYTES] + b"".join([parts[0], *parts]))
    assert type(exc) is TamperedError and exc.index == 1
    assert written == PLAIN[:CHUNK]


def test_dropped_last_chunk_is_refused_as_truncated() -> None:
    sealed = seal(PLAIN, KEY)
    parts = chunks_of(sealed)
    written, exc = refused(sealed[:HEADER_BYTES] + b"".join(parts[:-1]))
    assert type(exc) is TruncatedError and exc.index == 3
    assert written == PLAIN[: 3 * CHUNK]


def test_stream_cut_after_its_header_is_refused() -> None:
    sealed = seal(b"", KEY)
    written, exc = refused(sealed[:HEADER_BYTES])
    assert type(exc) is TruncatedError and exc.index == 0 and written == b""


def test_appended_chunk_is_refused_as_trailing_data() -> None:
    sealed = seal(PLAIN, KEY)
    parts = chunks_of(sealed)
    written, exc = refused(sealed + parts[0])
    assert type(exc) is TrailingDataError and exc.index == 4
    assert written == PLAIN[: 4 * CHUNK]
    # the final chunk of another stream under the same key does not fit either
    other = chunks_of(seal(b"tail", KEY))[-1]
    written, exc = refused(sealed + other)
    assert isinstance(exc, TamperedError) and written == PLAIN[: 4 * CHUNK]


@pytest.mark.parametrize("cut", [1, TAG_BYTES - 1, TAG_BYTES, CHUNK // 2, CHUNK + TAG_BYTES - 1])
def test_truncated_mid_chunk_is_refused(cut: int) -> None:
    sealed = seal(PLAIN + b"odd", KEY)  # 6 chunks, the last of 3 bytes
    last_start = HEADER_BYTES + 5 * (CHUNK + TAG_BYTES)
    written, exc = refused(sealed[: last_start - (CHUNK + TAG_BYTES) + cut])
    assert isinstance(exc, TamperedError) and exc.index == 4
    assert written == PLAIN[: 4 * CHUNK]


def test_wrong_data_key_is_refused_before_any_output() -> None:
    written, exc = refused(seal(PLAIN, KEY), DataKey.generate())
    assert (written, type(exc)) == (b"", WrongKeyError)


def test_iter_decrypt_yields_only_authenticated_chunks() -> None:
    sealed = bytearray(seal(PLAIN, KEY))
    sealed[-1] ^= 1
    got = []
    with pytest.raises(TamperedError):
        for piece in iter_decrypt(io.BytesIO(bytes(sealed)), KEY):
            got.append(piece)
    assert b"".join(got) == PLAIN[: 4 * CHUNK]


def test_key_never_in_repr_str_or_errors() -> None:
    key = DataKey.generate()
    shown = [repr(key), str(key), f"{key}", repr([key])]
    sealed = bytearray(seal(PLAIN, key))
    for tamper in (lambda b: b.__setitem__(20, b[20] ^ 1), lambda b: b.__setitem__(-1, b[-1] ^ 1)):
        copy = bytearray(sealed)
        tamper(copy)
        _, exc = refused(bytes(copy), key)
        shown += [str(exc), repr(exc), repr(exc.args)]
    for text in shown:
        assert key.material.hex() not in text and repr(key.material)[2:-1] not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(key)


def test_data_key_equality_is_by_value() -> None:
    material = os.urandom(32)
    assert DataKey(material) == DataKey(material) != DataKey.generate()
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(b"short")


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


class _Sink(io.RawIOBase):
    """Counts what it is given and keeps the last chunk only (to decrypt from later)."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def]
        self.size += len(b)
        return len(b)


def test_memory_stays_flat_over_64_mib() -> None:
    size = 64 * 1024 * 1024
    key = DataKey.generate()
    sink = _Sink()
    tracemalloc.start()
    try:
        encrypt_stream(_Zeros(size), sink, key)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == sealed_size(size)
    # Two 1 MiB plaintext chunks (current and look-ahead) plus one sealed chunk, with slack;
    # a whole-file buffer would be 64 MiB.
    assert peak < 8 * 1024 * 1024, peak
