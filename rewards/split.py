"""Splitting a payment among its payees: integers only, exact, deterministic. No Django.

A royalty is revenue a consumer already paid, so every base unit of it must reach someone:
the parts of a split always add up to exactly the amount split. Each payee first gets the
floor of their pro rata share; the few units left over (fewer than the number of payees) go
one each to the largest remainders (Hamilton's method), ties going to the smaller key. The
result depends only on the amount and the (key, weight) pairs, never on their order.
"""

from __future__ import annotations

from collections.abc import Iterable

BPS = 10_000


class SplitError(ValueError):
    """The split is undefined for these inputs; the message names why."""


def treasury_cut(amount: int, share_bps: int) -> int:
    """The treasury's part of ``amount`` at ``share_bps`` basis points, rounded down: the
    rounding unit goes to the contributors, whose pool is ``amount - treasury_cut(...)``."""
    _check_amount(amount)
    if isinstance(share_bps, bool) or not isinstance(share_bps, int):
        raise SplitError(f"The treasury share must be whole basis points, not {share_bps!r}.")
    if not 0 <= share_bps <= BPS:
        raise SplitError(
            f"The treasury share must be between 0 and {BPS} basis points, not {share_bps}."
        )
    return amount * share_bps // BPS


def split_pro_rata(amount: int, weights: Iterable[tuple[str, int]]) -> dict[str, int]:
    """``amount`` split among the keys in proportion to their weights, by largest remainder.

    A key listed several times has its weights added up first (one contributor with several
    contributions is one payee, rounded once). Every key with a positive weight is in the
    result, possibly with 0. Guarantees: the values add up to exactly ``amount``; each value
    is the floor or the ceiling of ``amount × weight / total``; the same inputs in any order
    give the same result. Raises ``SplitError`` for a negative amount or weight, no weights,
    or weights that add up to 0.
    """
    _check_amount(amount)
    totals: dict[str, int] = {}
    for key, weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise SplitError(f"The weight of {key} must be a whole number >= 0, not {weight!r}.")
        totals[key] = totals.get(key, 0) + weight
    if not totals:
        raise SplitError("There is nobody to split among.")
    total = sum(totals.values())
    if total == 0:
        raise SplitError("The weights add up to 0, so there is no proportion to split by.")
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key, weight in totals.items():
        if weight == 0:
            continue
        part, remainder = divmod(amount * weight, total)
        parts[key] = part
        remainders.append((remainder, key))
    left = amount - sum(parts.values())
    # Largest remainder first; among equal remainders the smaller key, so ties never depend
    # on the order the weights came in.
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        parts[key] += 1
    return dict(sorted(parts.items()))


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise SplitError(f"The amount must be a whole number >= 0, not {amount!r}.")
