"""The resident near-duplicate indexes (``contributions.nearindex``) against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from contributions import scoring
from contributions.nearindex import (
    SKETCH_CANDIDATES,
    HammingIndex,
    SketchIndex,
    candidate_floor,
    minhash_sketch,
)


def _random_hashes(rng: np.random.Generator, n: int) -> list[int]:
    return [int(v) for v in rng.integers(-(2**63), 2**63 - 1, size=n, dtype=np.int64)]


def _flip(value: int, bits: list[int]) -> int:
    unsigned = value & ((1 << 64) - 1)
    for bit in bits:
        unsigned ^= 1 << bit
    return unsigned - (1 << 64) if unsigned >= (1 << 63) else unsigned


def test_the_image_index_answers_what_brute_force_answers() -> None:
    rng = np.random.default_rng(7)
    stored = _random_hashes(rng, 5000)
    index = HammingIndex()
    # Added in three refreshes, as a worker grows it.
    rows = [(i + 1, 1000 + i, h) for i, h in enumerate(stored)]
    for part in (rows[:10], rows[10:4000], rows[4000:]):
        index.add(part)
    queries = _random_hashes(rng, 50) + [
        _flip(stored[int(i)], [int(b) for b in rng.choice(64, size=k, replace=False)])
        for i, k in zip(rng.integers(0, len(stored), 50), rng.integers(0, 17, 50), strict=True)
    ]
    for query in queries:
        expected_index, expected_distance = scoring.nearest_hamming(
            query, np.array(stored[::-1], dtype=np.int64)
        )
        owner, distance = index.nearest(query)[0]
        assert distance == expected_distance
        # brute force over newest-first picks the newest on a tie, and so does the index
        assert owner == 1000 + len(stored) - 1 - expected_index


def test_the_image_index_leaves_out_the_contribution_itself_and_prefers_the_newest() -> None:
    index = HammingIndex()
    index.add([(1, 10, 5), (2, 11, 5), (3, 12, 4)])
    assert index.nearest(5) == [(11, 0)]
    assert index.nearest(5, exclude=11) == [(10, 0)]
    assert index.nearest(5, count=3) == [(11, 0), (10, 0), (12, 1)]
    assert HammingIndex().nearest(5) == []
    lone = HammingIndex()
    lone.add([(1, 10, 5)])
    assert lone.nearest(5, exclude=10) == []


def test_an_index_refuses_rows_out_of_number_order() -> None:
    index = HammingIndex()
    index.add([(5, 1, 0)])
    with pytest.raises(ValueError, match="increasing number order"):
        index.add([(5, 2, 0)])
    assert index.last_id == 5 and len(index) == 1


def _texts(rng: np.random.Generator, n: int, words: int = 60) -> list[str]:
    vocabulary = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(vocabulary, size=words)) for _ in range(n)]


def _variant(rng: np.random.Generator, text: str, share: float) -> str:
    """``text`` with about ``share`` of its words replaced."""
    words = text.split()
    for i in rng.choice(len(words), size=int(share * len(words)), replace=False):
        words[int(i)] = f"x{rng.integers(1_000_000)}"
    return " ".join(words)


def test_the_text_candidates_hold_every_near_duplicate_brute_force_finds() -> None:
    rng = np.random.default_rng(3)
    stored = _texts(rng, 1500)
    signatures = [scoring.text_minhash(t) for t in stored]
    index = SketchIndex()
    index.add([(i + 1, 100 + i, minhash_sketch(s)) for i, s in enumerate(signatures)])
    found = checked = 0
    for i in rng.integers(0, len(stored), 60):
        query = scoring.text_minhash(_variant(rng, stored[int(i)], float(rng.uniform(0, 0.25))))
        _, brute = scoring.nearest_jaccard(query, signatures)
        candidates = index.candidates(minhash_sketch(query), threshold=0.8)
        assert len(candidates) >= min(SKETCH_CANDIDATES, len(stored))
        positions = [c - 100 for c in candidates]
        _, best = scoring.nearest_jaccard(query, [signatures[p] for p in positions])
        if brute >= 0.5:
            checked += 1
            found += best == brute
    assert checked >= 30
    assert found == checked


def test_every_text_above_the_floor_is_a_candidate() -> None:
    rng = np.random.default_rng(5)
    base = _texts(rng, 1)[0]
    # Far more similar texts than the ranked candidates: the floor keeps them all.
    similar = [_variant(rng, base, 0.05) for _ in range(3 * SKETCH_CANDIDATES)]
    unrelated = _texts(rng, 200)
    index = SketchIndex()
    rows = similar + unrelated
    index.add([(i + 1, i + 1, minhash_sketch(scoring.text_minhash(t))) for i, t in enumerate(rows)])
    candidates = set(index.candidates(minhash_sketch(scoring.text_minhash(base)), threshold=0.8))
    assert set(range(1, len(similar) + 1)) <= candidates
    assert candidate_floor(0.8) == pytest.approx(0.55)


def test_a_sketch_is_sixteen_bytes_of_the_signatures_lowest_bits() -> None:
    signature = np.arange(128, dtype=np.uint64).tobytes()
    sketch = minhash_sketch(signature)
    assert len(sketch) == 16
    assert np.unpackbits(np.frombuffer(sketch, dtype=np.uint8)).tolist() == [
        i % 2 for i in range(128)
    ]


def _full_sort(values: np.ndarray, count: int, exclude_at: int, at_most: int) -> list[int]:
    # By difference, then the newest (highest index) first; the excluded entry left out.
    ranked = sorted(
        (i for i in range(len(values)) if i != exclude_at), key=lambda i: (int(values[i]), -i)
    )
    return [i for rank, i in enumerate(ranked) if rank < count or values[i] <= at_most]


@pytest.mark.parametrize("size", [1, 7, 300, 40_000, 200_000])
def test_the_selection_is_what_a_full_sort_gives(size: int) -> None:
    """Small arrays take the exact cut; large ones the sampled cut, including when the sample
    misses a thin tail of close entries (the planted ones) and when it undershoots."""
    rng = np.random.default_rng(size)
    for _ in range(40 if size < 1000 else 4):
        values = rng.binomial(128, 0.5, size).astype(np.uint8)
        planted = rng.choice(size, size=min(size, int(rng.integers(0, 40))), replace=False)
        values[planted] = rng.integers(0, 20, len(planted))
        index = SketchIndex()
        owners = rng.permutation(size) + 1
        index._columns.append(
            np.arange(1, size + 1), owners, np.zeros((size, index.width), dtype=np.uint64)
        )
        count = int(rng.integers(1, 50))
        exclude_at = int(rng.integers(0, size)) if rng.random() < 0.5 else -1
        exclude = int(owners[exclude_at]) if exclude_at >= 0 else 0
        at_most = int(rng.integers(-1, 30))
        got = index._select(values, count, exclude, at_most=at_most).tolist()
        assert got == _full_sort(values, count, exclude_at, at_most)


@pytest.mark.parametrize("kind", [HammingIndex, SketchIndex])
def test_differences_over_threads_are_a_plain_count(kind: type) -> None:
    """An index large enough to be split over threads counts each entry's differing bits as
    one XOR and population count over the whole array would."""
    rng = np.random.default_rng(11)
    size = 300_001  # several chunks, split unevenly
    index = kind()
    values = rng.integers(0, 2**63, size=(size, index.width), dtype=np.int64).view(np.uint64)
    index._columns.append(np.arange(1, size + 1), np.arange(1, size + 1), values)
    query = rng.integers(0, 2**63, size=index.width, dtype=np.int64).view(np.uint64)
    expected = np.bitwise_count(values ^ query).sum(axis=1)
    assert np.array_equal(index._differ(query), expected)
