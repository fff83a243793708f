"""What a contribution earns under a reward policy: pure integer arithmetic, no Django."""

from __future__ import annotations

BPS = 10_000


def reward_amount(
    *, per_contribution: int, score: int, rows: int | None, new: int = 0, per_row: int = 0
) -> int:
    """What an accepted contribution earns, rounded down once, integers only.

    ``per_contribution × score / 10000``, times ``new / rows`` for a tabular file (``rows``:
    its valid rows, ``new``: those new to the dataset; None for other files); plus, for a
    tabular file, ``per_row × score / 10000`` for each new row. ``per_contribution`` pays per
    file, so rows split over many small files earn it many times over; ``per_row`` pays the
    same however the rows are split. Files that are not tabular earn ``per_contribution``
    only."""
    if rows is None:
        return per_contribution * score // BPS
    if rows == 0:
        return 0
    return score * new * (per_contribution + per_row * rows) // (BPS * rows)
