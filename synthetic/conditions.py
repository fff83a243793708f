"""Conditions on the output (``column=value``): only generated rows of a chosen subgroup are
kept. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from contributions.validation.cells import check_csv_cell, compile_columns

from .infer import InputError
from .table import Table


@dataclass(frozen=True)
class Condition:
    column: str
    value: Any  # canonical, as a validated upload holds it
    text: str


def parse_conditions(
    texts: list[str] | dict[str, Any] | None, schema: dict[str, Any]
) -> list[Condition]:
    """``column=value`` texts (or a ``{column: value}`` object) checked against the schema's
    column rules; ``InputError`` names the bad one."""
    if not texts:
        return []
    items = list(texts.items()) if isinstance(texts, dict) else [_split(t) for t in texts]
    rules = compile_columns(schema["columns"])
    out: list[Condition] = []
    for column, raw in items:
        text = f"{column}={raw}"
        if column not in rules:
            raise InputError(
                f"condition {text!r}: no column {column!r} (columns: {', '.join(rules)})"
            )
        if any(c.column == column for c in out):
            raise InputError(f"condition {text!r}: column {column!r} is conditioned twice")
        value, problem = check_csv_cell(rules[column], str(raw).strip())
        if problem is not None:
            raise InputError(f"condition {text!r}: {problem.reason}")
        out.append(Condition(column, value, text))
    return out


def _split(text: Any) -> tuple[str, str]:
    if not isinstance(text, str) or "=" not in text or not text.split("=", 1)[0].strip():
        raise InputError(f"condition {text!r}: a condition is 'column=value'")
    column, raw = text.split("=", 1)
    return column.strip(), raw


def condition_mask(table: Table, conditions: list[Condition]) -> np.ndarray:
    """Rows of ``table`` that meet every condition."""
    keep = np.ones(table.n_rows, dtype=bool)
    if not conditions:
        return keep
    wanted = Table.from_records(
        [{c.column: c.value for c in conditions}], [table.spec(c.column) for c in conditions]
    )
    for c in conditions:
        column, value = table[c.column], wanted[c.column][0]
        if table.spec(c.column).numeric:
            keep &= column == value
        else:
            keep &= np.array([v == value for v in column.tolist()], dtype=bool)
    return keep
