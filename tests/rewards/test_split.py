"""The royalty split (rewards/split.py): exact sums, the largest-remainder rule, determinism."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.split import SplitError, split_pro_rata, treasury_cut

keys = st.text(alphabet="0123456789abcdef", min_size=1, max_size=6)
weights = st.lists(st.tuples(keys, st.integers(0, 10_000)), min_size=1, max_size=40).filter(
    lambda pairs: sum(w for _, w in pairs) > 0
)
amounts = st.integers(0, 2**256 - 1)


def test_a_remainder_goes_to_the_largest_remainders() -> None:
    # 100 by 1:1:1 is 33.33 each: one unit left, the remainders tie, the smallest key wins.
    assert split_pro_rata(100, [("c", 1), ("a", 1), ("b", 1)]) == {"a": 34, "b": 33, "c": 33}
    # 10 by 7000:2000:1000 of 10000: exact, nothing left over.
    assert split_pro_rata(10, [("x", 7000), ("y", 2000), ("z", 1000)]) == {
        "x": 7,
        "y": 2,
        "z": 1,
    }
    # 7 by 5:3:2 is 3.5, 2.1, 1.4: floors 3+2+1 = 6, the unit goes to the 0.5 remainder.
    assert split_pro_rata(7, [("p", 5), ("q", 3), ("r", 2)]) == {"p": 4, "q": 2, "r": 1}
    # 7 by 2:3:5 is 1.4, 2.1, 3.5: the largest remainder wins, not the first or largest key.
    assert split_pro_rata(7, [("a", 2), ("b", 3), ("c", 5)]) == {"a": 1, "b": 2, "c": 4}


def test_a_key_listed_twice_is_one_payee_rounded_once() -> None:
    # Alice's two contributions (1 + 1) against Bob's one (1): 2/3 and 1/3 of 10.
    assert split_pro_rata(10, [("alice", 1), ("bob", 1), ("alice", 1)]) == {"alice": 7, "bob": 3}


def test_zero_weights_are_left_out_and_small_amounts_still_add_up() -> None:
    assert split_pro_rata(1, [("a", 5), ("b", 0), ("c", 5)]) == {"a": 1, "c": 0}
    assert split_pro_rata(0, [("a", 1)]) == {"a": 0}


@pytest.mark.parametrize(
    ("amount", "pairs", "message"),
    [
        (10, [], "nobody to split among"),
        (10, [("a", 0), ("b", 0)], "add up to 0"),
        (10, [("a", -1), ("b", 2)], "weight of a must be a whole number >= 0"),
        (-1, [("a", 1)], "whole number >= 0"),
        (1.5, [("a", 1)], "whole number >= 0"),
        (10, [("a", 1.0)], "weight of a"),
        (True, [("a", 1)], "whole number >= 0"),
    ],
)
def test_undefined_splits_are_refused(amount: object, pairs: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SplitError, match=message):
        split_pro_rata(amount, pairs)  # type: ignore[arg-type]


def test_the_treasury_cut_rounds_down_and_refuses_a_share_out_of_range() -> None:
    assert treasury_cut(1001, 1000) == 100  # 100.1 → 100; the 0.1 stays with contributors
    assert treasury_cut(1001, 0) == 0 and treasury_cut(1001, 10_000) == 1001
    for bad in (-1, 10_001):
        with pytest.raises(SplitError, match="between 0 and 10000"):
            treasury_cut(10, bad)
    with pytest.raises(SplitError, match="whole basis points"):
        treasury_cut(10, 2.5)  # type: ignore[arg-type]


@given(amount=amounts, pairs=weights)
def test_the_parts_add_up_to_exactly_the_amount(amount: int, pairs: list[tuple[str, int]]) -> None:
    parts = split_pro_rata(amount, pairs)
    assert sum(parts.values()) == amount
    totals: dict[str, int] = {}
    for key, weight in pairs:
        totals[key] = totals.get(key, 0) + weight
    total = sum(totals.values())
    assert set(parts) == {k for k, w in totals.items() if w > 0}
    for key, part in parts.items():
        # Each part is the floor or the ceiling of its exact share.
        floor = amount * totals[key] // total
        assert part in (floor, floor + 1)


@given(amount=amounts, pairs=weights, seed=st.integers(0, 2**32))
def test_the_split_does_not_depend_on_the_order(
    amount: int, pairs: list[tuple[str, int]], seed: int
) -> None:
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    assert split_pro_rata(amount, shuffled) == split_pro_rata(amount, pairs)


@given(amount=st.integers(0, 10**30), pairs=weights)
def test_the_leftover_units_go_to_the_largest_remainders(
    amount: int, pairs: list[tuple[str, int]]
) -> None:
    parts = split_pro_rata(amount, pairs)
    totals: dict[str, int] = {}
    for key, weight in pairs:
        totals[key] = totals.get(key, 0) + weight
    total = sum(totals.values())
    remainder = {k: amount * totals[k] % total for k in parts}
    rounded_up = {k for k in parts if parts[k] > amount * totals[k] // total}
    kept = set(parts) - rounded_up
    # Nobody rounded down had a larger remainder (or an equal one and a smaller key) than
    # anybody rounded up.
    for up in rounded_up:
        for down in kept:
            assert remainder[up] > remainder[down] or (
                remainder[up] == remainder[down] and up < down
            )
