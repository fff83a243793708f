"""Schema rules and declared constraints on generated rows: a violating row is dropped and
redrawn, never output.

Pure. Each generated record goes through the upload validator's own cell check
(``contributions.validation.cells.check_json_cell``): type, ``min``/``max``, ``allowed``,
``regex``, ``max_length``, and ``required``. Rows equal to a training row are dropped the same
way, so no output row is an exact copy of a real one (training or hold-out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contributions.validation.cells import check_json_cell, compile_columns

from .infer import InputError
from .table import Table

# Each round draws this many times the rows still missing (rejections are usually rare), at
# most ``MAX_BATCH`` rows at a time (memory), and gives up after drawing ``MAX_DRAW_FACTOR``
# times the rows asked for.
OVERDRAW = 1.2
MAX_BATCH = 50_000
MAX_DRAW_FACTOR = 20
# A conditioned draw (``--condition``) keeps only a subgroup's rows: it may draw this much more.
SUBGROUP_DRAW_FACTOR = 200
SUBGROUP_EXTRA_DRAWS = 20_000


class ConstraintError(InputError):
    """Too few generated rows satisfy the schema; the message names the commonest violation.

    An ``InputError``: the schema (or a table too small to vary) makes the job impossible."""


@dataclass
class SampleStats:
    """What the sampler refused, by reason (reported so a weak model is visible)."""

    drawn: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # Drawn rows equal to a training row, counted before any row is dropped.
    copies: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "drawn": self.drawn,
            "copies_of_training_rows": self.copies,
            "rejected": dict(self.rejected.most_common()),
        }


class RowChecker:
    """The schema's column rules, compiled once."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.rules = compile_columns(schema["columns"])

    def problem(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` violates the schema (the first reason), or None if it is valid."""
        for name, rule in self.rules.items():
            value = record.get(name)
            if value is None:
                if rule.required:
                    return f"{name}: required"
                continue
            canonical, problem = check_json_cell(rule, value)
            if problem is not None:
                return f"{name}: {problem.reason}"
            if canonical != value:
                return f"{name}: not in canonical form"
        return None


def sample_valid(
    draw: Callable[[int, np.random.Generator], Table],
    n_rows: int,
    *,
    rng: np.random.Generator,
    checker: RowChecker,
    forbidden: set[tuple[Any, ...]],
    drop_forbidden: bool = True,
    rules: Callable[[Table], list[str | None]] | None = None,
    subgroup: tuple[str, Callable[[Table], np.ndarray]] | None = None,
) -> tuple[Table, SampleStats]:
    """``n_rows`` rows from ``draw`` that satisfy ``checker`` and ``rules`` (declared
    constraints: per row the broken one, or None), are in the ``subgroup`` (its text and a
    row mask) and, with ``drop_forbidden``, are not in ``forbidden``. Rows in ``forbidden``
    are counted (``stats.copies``) before anything is dropped, so the report sees how often
    the model copies. A subgroup may be rare: it gets ``SUBGROUP_DRAW_FACTOR`` times the draws.

    ``draw(k, rng)`` returns ``k`` generated rows. Deterministic given ``rng``'s state.
    """
    stats = SampleStats()
    kept: list[Table] = []
    have = 0
    factor = SUBGROUP_DRAW_FACTOR if subgroup is not None else MAX_DRAW_FACTOR
    limit = factor * n_rows + (SUBGROUP_EXTRA_DRAWS if subgroup is not None else 1000)
    outside = 0
    while have < n_rows and stats.drawn < limit:
        want = n_rows - have
        batch = draw(min(max(int(want * OVERDRAW) + 1, 16), MAX_BATCH), rng)
        stats.drawn += batch.n_rows
        keep = np.zeros(batch.n_rows, dtype=bool)
        broken = rules(batch) if rules is not None else [None] * batch.n_rows
        inside = subgroup[1](batch) if subgroup is not None else np.ones(batch.n_rows, bool)
        rows = zip(batch.records(), batch.row_keys(), broken, inside, strict=True)
        for i, (record, key, rule, member) in enumerate(rows):
            copy = key in forbidden
            stats.copies += copy
            if not member:
                outside += 1  # not the subgroup asked for: not a fault of the row
                continue
            reason = "copy of a training row" if copy and drop_forbidden else None
            reason = reason or checker.problem(record) or rule
            if reason is None:
                keep[i] = True
            else:
                stats.rejected[reason] += 1
        chosen = np.flatnonzero(keep)[:want]
        kept.append(batch.take(chosen))
        have += len(chosen)
    if have < n_rows and subgroup is not None and outside > sum(stats.rejected.values()):
        raise ConstraintError(
            f"only {have} of {n_rows} rows meet the condition {subgroup[0]} after "
            f"{stats.drawn} draws ({stats.drawn - outside} generated rows were in the "
            "subgroup): it is too rare for this model; ask for fewer rows or another subgroup"
        )
    if have < n_rows:
        worst = stats.rejected.most_common(1)[0][0] if stats.rejected else "none"
        raise ConstraintError(
            f"only {have} of {n_rows} generated rows satisfy the schema after "
            f"{stats.drawn} draws; most common violation: {worst}"
        )
    result = kept[0]
    for part in kept[1:]:
        result = result.concat(part)
    return result, stats
