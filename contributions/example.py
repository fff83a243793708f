"""An example CSV for a tabular dataset, offered on its page. Pure: no Django imports.

Every cell is a candidate that the pipeline's own cell check (``validation.cells``) accepts, so
the example passes validation by construction. A column whose rules no candidate satisfies (a
``regex`` none of the usual values match) is left empty and named, so the page can say which
cells the contributor has to fill in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contributions.export import FORMULA_PREFIXES
from contributions.validation.cells import ColumnRule, check_csv_cell, compile_columns

EXAMPLE_ROWS = 3
_TEXT_GUESSES = ("example", "sample-1", "sample-2", "a", "A1", "abc123", "x", "1", "0")
_DATETIME_GUESSES = ("2024-01-15T09:30:00Z", "2024-06-01T18:00:00Z", "2025-02-28T00:00:00Z")


@dataclass(frozen=True)
class Example:
    text: str
    unfilled: list[str]  # columns no candidate value satisfied


def example_csv(columns: list[dict[str, Any]], rows: int = EXAMPLE_ROWS) -> Example:
    """A header and ``rows`` valid rows for ``columns`` (a valid ``tabular`` schema's)."""
    rules = compile_columns(columns)
    choices = {name: _valid_values(rule) for name, rule in rules.items()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(rules))
    for i in range(rows):
        writer.writerow([values[i % len(values)] if values else "" for values in choices.values()])
    return Example(text=out.getvalue(), unfilled=[name for name, v in choices.items() if not v])


def _valid_values(rule: ColumnRule) -> list[str]:
    seen: list[str] = []
    for candidate in _candidates(rule):
        if candidate in seen or (rule.type in ("string", "category") and _unsafe(candidate)):
            continue
        if check_csv_cell(rule, candidate)[1] is None:
            seen.append(candidate)
        if len(seen) == EXAMPLE_ROWS:
            break
    return seen


def _unsafe(text: str) -> bool:
    # A DAO's allowed values are not ours to trust: no cell a spreadsheet would run as a formula.
    return not text or text.startswith(FORMULA_PREFIXES)


def _candidates(rule: ColumnRule) -> Iterator[str]:
    if rule.allowed is not None:
        yield from sorted(map(str, rule.allowed))[: EXAMPLE_ROWS * 4]
        return
    if rule.type == "bool":
        yield from ("true", "false")
    elif rule.type in ("int", "float"):
        yield from _numbers(rule)
    elif rule.type == "datetime":
        yield from _datetimes(rule)
    else:
        for guess in _TEXT_GUESSES:
            yield guess[: rule.max_length] if rule.max_length else guess


def _numbers(rule: ColumnRule) -> Iterator[str]:
    low, high = rule.low, rule.high
    points: list[float] = []
    if low is not None and high is not None:
        points = [low + (high - low) * f for f in (0.25, 0.5, 0.75)] + [low, high]
    elif low is not None:
        points = [low, low + 1, low + 10]
    elif high is not None:
        points = [high, high - 1, high - 10]
    points += [1, 2, 3, 0]
    for point in points:
        if rule.type == "int":
            yield str(int(point))
        else:
            yield f"{point:.2f}".rstrip("0").rstrip(".") if point != int(point) else f"{point}"


def _datetimes(rule: ColumnRule) -> Iterator[str]:
    low: datetime | None = rule.low
    high: datetime | None = rule.high
    if low is not None and high is not None:
        span = high - low
        for f in (0.25, 0.5, 0.75):
            yield (low + timedelta(seconds=int(span.total_seconds() * f))).isoformat() + "Z"
    for bound in (low, high):
        if bound is not None:
            yield bound.isoformat() + "Z"
    yield from _DATETIME_GUESSES
