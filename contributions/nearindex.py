"""Resident near-duplicate indexes of one dataset's fingerprints. Pure: no Django imports.

Scoring an image or a text asks for its nearest accepted neighbour in the whole dataset, a
million fingerprints or more. Both indexes hold a compact array per dataset in the worker's
memory, grown from the database by fingerprint number (``contributions.near``), and answer with one
vectorised pass:

* **images** (``HammingIndex``): the 64-bit perceptual hashes themselves, 8 bytes each. A
  XOR and a population count over the array gives every distance exactly, so the answer is
  the brute-force answer. Multi-index hashing or a BK-tree would prune, but only for small
  radii: uniqueness needs the distance up to 16 bits of 64, where they visit most of the
  set anyway.
* **texts** (``SketchIndex``): a 1-bit sketch of each 128-value MinHash signature (the lowest
  bit of each value, 16 bytes). Two sketches agree on a bit with probability
  J + (1 − J) / 2, so the agreement ranks the whole set by estimated Jaccard similarity; the
  best-ranked candidates are then compared on their full signatures (the caller reads
  them), so the similarity reported is the full-signature estimate, as a linear scan over
  full signatures would give. A true neighbour at similarity J is missed only if its sketch
  ranks below ``SKETCH_CANDIDATES`` others and below ``candidate_floor(J)``: at J = 0.5 its
  sketch agreement sits 6 standard deviations above an unrelated text's.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

SKETCH_BYTES = 16  # 128 one-bit values
# Candidates re-ranked on full signatures: the best-ranked this many, plus every sketch whose
# estimated similarity reaches ``candidate_floor`` of the policy's threshold.
SKETCH_CANDIDATES = 32
# How far below the near-duplicate threshold a sketch estimate may fall and still be
# re-ranked: 0.25 is 5.6 standard deviations of a 128-bit estimate at J = 0.8.
SKETCH_MARGIN = 0.25
_EMPTY = np.zeros(0, dtype=np.int64)
# Entries XOR-ed and counted per step: the step's temporaries stay in the CPU's cache.
_CHUNK = 1 << 16
# The cut is estimated from about this many evenly spaced entries, aiming at this many times
# the entries wanted (a miss costs one exact histogram of the whole array).
_SAMPLE = 1 << 14
_SAMPLE_MARGIN = 4
# Threads one search splits a large index over (the process's cores, at most 4).
_THREADS = min(4, len(os.sched_getaffinity(0)))
_pool_lock = threading.Lock()
_executor: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """This process's search threads, started on first use: a forked worker process starts
    its own (a fork copies the parent's pool but none of its threads)."""
    global _executor
    with _pool_lock:
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(_THREADS, thread_name_prefix="near"))
        return _executor[1]


def minhash_sketch(signature: bytes) -> bytes:
    """The lowest bit of each 64-bit MinHash value, packed (128 values → 16 bytes)."""
    values = np.frombuffer(signature, dtype=np.uint64)
    return np.packbits((values & np.uint64(1)).astype(np.uint8)).tobytes()


def candidate_floor(threshold: float) -> float:
    return max(0.0, threshold - SKETCH_MARGIN)


@dataclass
class _Columns:
    """Append-only arrays in number order, grown by doubling so a refresh copies amortised O(1)."""

    width: int  # uint64 words per entry
    size: int = 0
    ids: np.ndarray = field(default_factory=lambda: _EMPTY.copy())
    owners: np.ndarray = field(default_factory=lambda: _EMPTY.copy())
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.uint64))

    def append(self, ids: np.ndarray, owners: np.ndarray, values: np.ndarray) -> None:
        needed = self.size + len(ids)
        if needed > len(self.ids):
            capacity = max(needed, 2 * len(self.ids), 1024)
            self.ids = _grown(self.ids, (capacity,))
            self.owners = _grown(self.owners, (capacity,))
            # Column-major: each 64-bit word of every entry is one contiguous array to scan.
            self.values = _grown(self.values, (capacity, self.width), order="F")
        self.ids[self.size : needed] = ids
        self.owners[self.size : needed] = owners
        self.values[self.size : needed] = values.reshape(len(ids), self.width)
        self.size = needed


def _grown(array: np.ndarray, shape: tuple[int, ...], order: str = "C") -> np.ndarray:
    bigger = np.zeros(shape, dtype=array.dtype, order=order)
    bigger[: len(array)] = array
    return bigger


class _Index:
    width = 1

    def __init__(self) -> None:
        self._columns = _Columns(width=self.width)
        self.horizon = 0  # the dataset's newest fingerprint number when last grown (the caller's)

    @property
    def last_id(self) -> int:
        """The newest fingerprint number held (0 when empty): a refresh reads the ones after it."""
        return int(self._columns.ids[self._columns.size - 1]) if self._columns.size else 0

    def __len__(self) -> int:
        return self._columns.size

    def _append(self, rows: list[tuple[int, int, np.ndarray]]) -> None:
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if self._columns.size and ids[0] <= self.last_id:
            raise ValueError("fingerprints must be added in increasing number order")
        owners = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        values = np.vstack([r[2] for r in rows]).astype(np.uint64, copy=False)
        self._columns.append(ids, owners, values)

    def _differ(self, query: np.ndarray) -> np.ndarray:
        """Bits that differ from ``query`` per entry (uint8: at most two 64-bit words), in
        chunks small enough that the temporaries stay in cache. A large index is split over
        the machine's cores (numpy lets go of the GIL), so one search takes a fraction of the
        time; the work done is the same."""
        size = self._columns.size
        differ = np.empty(size, dtype=np.uint8)
        parts = min(_THREADS, size // _CHUNK)
        if parts < 2:
            self._count(query, differ, 0, size)
            return differ
        bounds = [size * k // parts for k in range(parts + 1)]
        done = [
            _pool().submit(self._count, query, differ, bounds[k], bounds[k + 1])
            for k in range(parts)
        ]
        for future in done:
            future.result()
        return differ

    def _count(self, query: np.ndarray, differ: np.ndarray, first: int, last: int) -> None:
        values = self._columns.values
        words = np.empty(min(last - first, _CHUNK), dtype=np.uint64)
        counts = np.empty(len(words), dtype=np.uint8)
        for start in range(first, last, _CHUNK):
            stop = min(start + _CHUNK, last)
            span, out = slice(0, stop - start), differ[start:stop]
            np.bitwise_xor(values[start:stop, 0], query[0], out=words[span])
            np.bitwise_count(words[span], out=out)
            for word in range(1, self.width):
                np.bitwise_xor(values[start:stop, word], query[word], out=words[span])
                np.bitwise_count(words[span], out=counts[span])
                np.add(out, counts[span], out=out)

    def _select(
        self, differ: np.ndarray, count: int, exclude: int, at_most: int = -1
    ) -> np.ndarray:
        """Indices of the ``count`` entries that differ least, and of every entry that differs
        by at most ``at_most``; ``exclude``'s entry left out (a contribution has one
        fingerprint); ordered by difference, the newest (highest index) first on a tie, as
        a search over the newest fingerprints first would find. One pass picks the entries
        at or below a cut estimated from a sample; the exact order is taken among those."""
        owners = self._columns.owners
        wanted = count + (1 if exclude else 0)
        cut = _estimated_cut(differ, wanted)
        chosen = np.flatnonzero(differ <= max(cut, at_most))
        if len(chosen) < min(wanted, len(differ)):  # the sample missed: the exact cut
            cut = _exact_cut(differ, wanted)
            chosen = np.flatnonzero(differ <= max(cut, at_most))
        if exclude:
            chosen = chosen[owners[chosen] != exclude]
        chosen = chosen[np.lexsort((-chosen, differ[chosen]))]
        return chosen[(np.arange(len(chosen)) < count) | (differ[chosen] <= at_most)]


class HammingIndex(_Index):
    """Perceptual hashes (signed 64-bit, as stored); exact nearest by Hamming distance."""

    width = 1

    def add(self, rows: list[tuple[int, int, int]]) -> None:
        """Append ``(fingerprint number, contribution id, phash)`` rows, numbers increasing."""
        self._append([(i, c, np.array([h], dtype=np.int64).view(np.uint64)) for i, c, h in rows])

    def nearest(self, phash: int, *, exclude: int = 0, count: int = 1) -> list[tuple[int, int]]:
        """Up to ``count`` ``(contribution id, distance)``, nearest first; ``exclude``'s own
        fingerprint is left out."""
        if not len(self):
            return []
        query = np.array([phash], dtype=np.int64).view(np.uint64)
        differ = self._differ(query)
        return [
            (int(self._columns.owners[i]), int(differ[i]))
            for i in self._select(differ, count, exclude)
        ]


class SketchIndex(_Index):
    """1-bit MinHash sketches; candidates for a full-signature comparison."""

    width = SKETCH_BYTES // 8

    def add(self, rows: list[tuple[int, int, bytes]]) -> None:
        """Append ``(fingerprint number, contribution id, sketch)`` rows, numbers increasing."""
        self._append([(i, c, np.frombuffer(bytes(s), dtype=np.uint64)) for i, c, s in rows])

    def candidates(self, sketch: bytes, *, threshold: float, exclude: int = 0) -> list[int]:
        """Contribution ids to compare on full signatures, best estimate first: the
        ``SKETCH_CANDIDATES`` best, and every one whose estimate reaches
        ``candidate_floor(threshold)``."""
        if not len(self):
            return []
        bits = 64 * self.width
        differ = self._differ(np.frombuffer(sketch, dtype=np.uint64))
        # The agreement share p = 1 − differ/bits estimates J + (1 − J)/2, so J ≈ 2p − 1:
        # an estimate of at least the floor is at most this many differing bits.
        most = int(bits * (1.0 - candidate_floor(threshold)) / 2.0)
        order = self._select(differ, SKETCH_CANDIDATES, exclude, at_most=most)
        return [int(owner) for owner in self._columns.owners[order]]


def _estimated_cut(differ: np.ndarray, count: int) -> int:
    """A difference at or below which about ``_SAMPLE_MARGIN`` × ``count`` entries lie, from
    an evenly spaced sample; the caller checks that at least ``count`` do."""
    step = max(1, len(differ) // _SAMPLE)
    if step == 1:
        return _exact_cut(differ, count)
    sample = np.cumsum(np.bincount(differ[::step]))
    return int(np.searchsorted(sample * step, _SAMPLE_MARGIN * count))


def _exact_cut(differ: np.ndarray, count: int) -> int:
    """The ``count``-th smallest difference (the largest one when there are fewer entries)."""
    if not len(differ):
        return 0
    counts = np.cumsum(np.bincount(differ))
    return int(np.searchsorted(counts, min(count, len(differ))))
