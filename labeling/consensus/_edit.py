"""Levenshtein distance and alignment of many pairs of sequences at once. Pure numpy.

Sequences are integer codes (word or character ids). A batch of pairs is padded into two
matrices and the dynamic programme runs one row at a time across the whole batch: within a row
the insertion recurrence ``D[i, j] = min(E[j], D[i, j-1] + 1)`` is a running minimum of
``E[j] - j`` plus ``j``, so each row is a handful of vector operations whatever the batch size.
The cost of a batch is O(longest ``a``) numpy calls over (batch × longest ``b``) cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
# Pairs per block: bounds the (block × len_a × len_b) table the alignment keeps for its
# backtrace (a few MiB for sentences of tens of words).
_BLOCK = 4096
# Pairs per block when only distances are wanted: two rows per block are kept, so blocks can
# be larger, which spreads each numpy call's overhead over more pairs.
_DISTANCE_BLOCK = 16384


def pad(sequences: Sequence[Sequence[int] | str], fill: int) -> tuple[IntArray, IntArray]:
    """(matrix padded with ``fill``, lengths) of integer sequences (codes fit in int32) or of
    strings (their code points)."""
    lengths = np.fromiter((len(s) for s in sequences), np.int64, len(sequences))
    width = int(lengths.max()) if len(lengths) else 0
    matrix = np.full((len(sequences), width), fill, np.int32)
    if width:
        mask = np.arange(width)[None, :] < lengths[:, None]
        if isinstance(sequences[0], str):
            text = "".join(sequences)  # type: ignore[arg-type]
            matrix[mask] = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int32)
        else:
            matrix[mask] = np.fromiter(
                itertools.chain.from_iterable(sequences), np.int32, int(lengths.sum())
            )
    return matrix, lengths


def _rows(a: IntArray, b: IntArray) -> Iterator[IntArray]:
    """The DP rows 0..La of padded ``a`` (batch × La) against ``b`` (batch × Lb), each as an
    (Lb + 1) × batch array: the running minimum then runs down contiguous rows."""
    batch, lb = b.shape
    b_t = np.ascontiguousarray(b.T)
    steps = np.arange(lb + 1, dtype=np.int32)[:, None]
    row = np.broadcast_to(steps, (lb + 1, batch)).copy()
    yield row
    e = np.empty_like(row)
    for i in range(a.shape[1]):
        np.minimum(row[:-1] + (a[None, :, i] != b_t), row[1:] + 1, out=e[1:])
        e[0] = i + 1
        e -= steps
        # A running minimum down the rows; numpy's minimum.accumulate along axis 0 is several
        # times slower than this loop of whole-row operations.
        for j in range(1, lb + 1):
            np.minimum(e[j - 1], e[j], out=e[j])
        row = e + steps
        yield row


def distances(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> IntArray:
    """Levenshtein distance of each pair ``(a[k], b[k])`` (unit costs)."""
    if len(a) != len(b):
        raise ValueError("a and b differ in length")
    out = np.zeros(len(a), np.int64)
    # Blocks of pairs of similar lengths, so little of each block's table is padding.
    size = np.fromiter((len(x) + len(y) for x, y in zip(a, b, strict=True)), np.int64, len(a))
    order = np.argsort(size, kind="stable")
    for start in range(0, len(a), _DISTANCE_BLOCK):
        chosen = order[start : start + _DISTANCE_BLOCK].tolist()
        am, la = pad([a[k] for k in chosen], -1)
        bm, lb = pad([b[k] for k in chosen], -2)
        found = np.zeros(len(chosen), np.int64)
        for i, row in enumerate(_rows(am, bm)):
            ending = np.flatnonzero(la == i)
            found[ending] = row[lb[ending], ending]
        out[chosen] = found
    return out


def align(
    a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Align each ``b[k]`` onto ``a[k]`` by a minimal edit script.

    Returns ``(distance, pair, a_pos, b_pos)``: the distance per pair, and one row per
    operation of every pair's script: ``a_pos`` is the index in ``a[k]`` that ``b[k][b_pos]``
    is matched or substituted to; for a word of ``b`` inserted, ``a_pos`` is ``-1 - g`` where
    ``g`` is the gap it falls into (the count of ``a`` items before it); for an item of ``a``
    deleted, ``b_pos`` is -1. Operations come in no particular order. Ties prefer a match or
    substitution, then a deletion.
    """
    if len(a) != len(b):
        raise ValueError("a and b differ in length")
    out_d, out_k, out_a, out_b = [], [], [], []
    for start in range(0, len(a), _BLOCK):
        am, la = pad(a[start : start + _BLOCK], -1)
        bm, lb = pad(b[start : start + _BLOCK], -2)
        table = np.stack([r.T for r in _rows(am, bm)], axis=1)  # batch × (La+1) × (Lb+1)
        batch = np.arange(len(la))
        out_d.append(table[batch, la, lb])
        i, j = la.copy(), lb.copy()
        live = (i > 0) | (j > 0)
        while live.any():
            k = batch[live]
            ii, jj = i[live], j[live]
            here = table[k, ii, jj]
            both = (ii > 0) & (jj > 0)
            sub_cost = np.where(
                both, am[k, np.maximum(ii - 1, 0)] != bm[k, np.maximum(jj - 1, 0)], 0
            )
            diag = both & (
                table[k, np.maximum(ii - 1, 0), np.maximum(jj - 1, 0)] + sub_cost == here
            )
            delete = ~diag & (ii > 0) & (table[k, np.maximum(ii - 1, 0), jj] + 1 == here)
            insert = ~diag & ~delete
            out_k.append(k + start)
            out_a.append(np.where(insert, -1 - ii, ii - 1))
            out_b.append(np.where(delete, -1, jj - 1))
            i[k] = ii - (diag | delete)
            j[k] = jj - (diag | insert)
            live = (i > 0) | (j > 0)
    empty = np.empty(0, np.int64)
    return (
        np.concatenate(out_d) if out_d else empty,
        np.concatenate(out_k) if out_k else empty,
        np.concatenate(out_a) if out_a else empty,
        np.concatenate(out_b) if out_b else empty,
    )
