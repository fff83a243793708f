"""The constraint syntax, and the inequalities a table's rows imply. Pure.

One text syntax everywhere (the ``synthesize`` command's ``--constraint``, a dataset schema's
``"constraints"`` list, a job's constraints):

* ``a<=b`` (also ``>=``, ``<``, ``>``): an inequality between two numeric (or two datetime)
  columns; a row where either is missing is not constrained.
* ``range:COLUMN:LOW:HIGH``: ``LOW <= COLUMN <= HIGH``; a bound may be empty (open); datetime
  bounds are dates (``2024-01-01``).
* ``fixed:A,B,...``: only combinations of these discrete columns seen in the data.

How they are met is ``table_constraints.ConstraintSet``'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .infer import InputError
from .table import Table

MAX_CONSTRAINTS = 50
# An inequality is inferred only from at least this many rows where both columns have values.
MIN_INFER_ROWS = 10
_INEQUALITY = re.compile(r"^\s*([^<>=]+?)\s*(<=|>=|<|>)\s*([^<>=]+?)\s*$")
SYNTAX = "a constraint is 'a<=b' (or >=, <, >), 'range:COLUMN:LOW:HIGH' or 'fixed:COLUMN,COLUMN'"


@dataclass(frozen=True)
class Inequality:
    low: str
    high: str
    strict: bool = False

    @property
    def text(self) -> str:
        return f"{self.low}{'<' if self.strict else '<='}{self.high}"


@dataclass(frozen=True)
class Range:
    column: str
    low: str
    high: str

    @property
    def text(self) -> str:
        return f"range:{self.column}:{self.low}:{self.high}"


@dataclass(frozen=True)
class Fixed:
    columns: tuple[str, ...]

    @property
    def text(self) -> str:
        return "fixed:" + ",".join(self.columns)


Constraint = Inequality | Range | Fixed


def parse_constraint(text: Any) -> Constraint:
    """One constraint from its text; ``InputError`` names what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"constraint {text!r}: {SYNTAX}")
    text = text.strip()
    if text.startswith("range:"):
        parts = text.split(":")
        if len(parts) != 4 or not parts[1]:
            raise InputError(f"constraint {text!r}: a range is 'range:COLUMN:LOW:HIGH'")
        if not parts[2] and not parts[3]:
            raise InputError(f"constraint {text!r}: a range needs a low or a high bound")
        return Range(parts[1], parts[2], parts[3])
    if text.startswith("fixed:"):
        columns = tuple(c.strip() for c in text[len("fixed:") :].split(","))
        if len(columns) < 2 or not all(columns):
            raise InputError(f"constraint {text!r}: fixed needs two or more columns, 'fixed:a,b'")
        if len(set(columns)) != len(columns):
            raise InputError(f"constraint {text!r}: a column is named twice")
        return Fixed(columns)
    match = _INEQUALITY.match(text)
    if match is None:
        raise InputError(f"constraint {text!r}: {SYNTAX}")
    left, op, right = match.groups()
    if left == right:
        raise InputError(f"constraint {text!r}: compares a column with itself")
    if op in ("<=", "<"):
        return Inequality(left, right, op == "<")
    return Inequality(right, left, op == ">")


def parse_constraints(texts: Any) -> list[Constraint]:
    if texts is None:
        return []
    if not isinstance(texts, list):
        raise InputError("constraints must be a list of texts like 'a<=b'")
    if len(texts) > MAX_CONSTRAINTS:
        raise InputError(f"at most {MAX_CONSTRAINTS} constraints, not {len(texts)}")
    out: list[Constraint] = []
    for text in texts:
        constraint = parse_constraint(text)
        if constraint not in out:
            out.append(constraint)
    return out


def infer_inequalities(
    table: Table, *, skip: set[str], known: list[Constraint]
) -> list[Inequality]:
    """``a<=b`` for each pair of numeric columns where it holds in every row that has both,
    the columns' ranges overlap (otherwise each column's own range already keeps it), and
    they are not always equal. Columns in ``skip`` (the target) are left alone."""
    have = {(c.low, c.high) for c in known if isinstance(c, Inequality)}
    columns = [s for s in table.specs if s.numeric and not s.categorical and s.name not in skip]
    found: list[Inequality] = []
    for a in columns:
        for b in columns:
            if a.name == b.name or (a.type == "datetime") != (b.type == "datetime"):
                continue
            if (a.name, b.name) in have or (b.name, a.name) in have:
                continue
            x, y = table[a.name], table[b.name]
            both = ~np.isnan(x) & ~np.isnan(y)
            if both.sum() < MIN_INFER_ROWS:
                continue
            x, y = x[both], y[both]
            if np.all(x <= y) and not np.all(x == y) and x.max() > y.min():
                found.append(Inequality(a.name, b.name))
                have.add((a.name, b.name))
    return found
