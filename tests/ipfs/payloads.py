"""Deterministic test payloads, generated lazily so large ones never sit in memory.

The pattern (64 KiB blocks, block at offset ``o`` = sha256(o as 8 little-endian bytes)
repeated) is also what the reference CIDs in test_unixfs.py were computed over with the
JS importer, so it must not change.
"""

from __future__ import annotations

import hashlib
import io

BLOCK = 64 * 1024


def _block(index: int) -> bytes:
    return hashlib.sha256((index * BLOCK).to_bytes(8, "little")).digest() * (BLOCK // 32)


class PatternStream(io.RawIOBase):
    """``size`` bytes of the pattern, produced on demand; holds one 64 KiB block."""

    def __init__(self, size: int, *, max_read: int | None = None) -> None:
        self.size = size
        self.pos = 0
        self.max_read = max_read  # simulate pipes/sockets that return short reads
        self._index = -1
        self._current = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self.pos)
        if self.max_read is not None:
            want = min(want, self.max_read)
        done = 0
        while done < want:
            index, offset = divmod(self.pos, BLOCK)
            if index != self._index:
                self._index, self._current = index, _block(index)
            take = min(want - done, BLOCK - offset)
            view[done : done + take] = self._current[offset : offset + take]
            done += take
            self.pos += take
        return done


def pattern(size: int) -> bytes:
    """The first ``size`` bytes of the pattern, in memory (for small sizes)."""
    return PatternStream(size).read()
