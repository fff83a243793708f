"""Constraints between columns that every output row meets. Pure.

``ConstraintSet`` meets them by construction where it can: ``b`` of ``a<=b`` is modelled as the
non-negative ``b - a`` and put back as ``a + (b - a)``; a fixed combination is modelled as one
categorical column whose categories are the combinations seen. What cannot be built in (a
range, a strict inequality, anything on a DP job, which must not read real rows outside its
accountant) is met by the sampler's bounded rejection, with ``problems`` as the check. Every
output row is checked either way.

Inequalities inferred from the data (true in every training row, columns whose ranges overlap)
are not built in: the model stays the one the data gave. A generated row that breaks one has
the pair's two values swapped (``reverse``), which puts them in order and keeps both values the
model drew; the swaps repeat over the set until no pair is out of order (each swap of an
out-of-order pair takes one inversion away from an order of the columns that meets them all, so
this ends), and what a bounded number of passes leaves is met by rejection. Dropping the rows
instead biases what is kept: a model that draws ``mean radius`` and ``worst radius`` close
together breaks ``mean <= worst`` in a fifth of its rows, and those rows are the ones with
small gaps, so the kept rows lose that part of the joint distribution (on breast cancer, 44 %
of the GAN's rows dropped moved its quality from 0.02 to 0.04-0.06 below the real ceiling; with
swaps, 0.02). Pairs of columns of different types (an int and a float) are not swapped: a float
would land in the int column.

The syntax and the inference of inequalities are in ``constraint_syntax``; conditions on the
output (``column=value``) in ``conditions``. Both are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .conditions import Condition, condition_mask, parse_conditions
from .constraint_syntax import (
    MAX_CONSTRAINTS,
    MIN_INFER_ROWS,
    SYNTAX,
    Constraint,
    Fixed,
    Inequality,
    Range,
    infer_inequalities,
    parse_constraint,
    parse_constraints,
)
from .infer import InputError
from .table import (
    ColumnSpec,
    Table,
    datetime_to_seconds,
    discrete_values,
    is_discrete,
    specs_from_state,
    specs_state,
)

__all__ = [
    "MAX_CONSTRAINTS",
    "MIN_INFER_ROWS",
    "SYNTAX",
    "Condition",
    "Constraint",
    "ConstraintSet",
    "Fixed",
    "Inequality",
    "Range",
    "condition_mask",
    "infer_inequalities",
    "parse_conditions",
    "parse_constraint",
    "parse_constraints",
]

_FIXED_PREFIX = "\x00fixed:"


class ConstraintSet:
    """Constraints checked against a table's columns, with the transforms that meet them by
    construction (chosen by ``fit``; a DP job never calls it: nothing is read from real rows,
    and every constraint is met by rejection)."""

    def __init__(self, constraints: list[Constraint], specs: list[ColumnSpec]) -> None:
        self.constraints = constraints
        self.specs = specs
        self.by_name = {s.name: s for s in specs}
        for constraint in constraints:
            self._check_columns(constraint)
        self.bounds = {c.text: self._bounds(c) for c in constraints if isinstance(c, Range)}
        # Fitted by ``fit``: inequalities modelled as differences, merged combinations.
        self.differences: list[Inequality] = []
        self.decimals: dict[str, int | None] = {}
        self.merged: list[Fixed] = []
        self.seen: dict[str, set[tuple[Any, ...]]] = {}
        # Inferred inequalities a broken row meets by swapping the pair's values (``reverse``).
        self.swapped: list[Inequality] = []

    # --- declaration ------------------------------------------------------------------------

    def _spec(self, constraint: Constraint, name: str) -> ColumnSpec:
        if name not in self.by_name:
            raise InputError(
                f"constraint {constraint.text!r}: no column {name!r} "
                f"(columns: {', '.join(self.by_name)})"
            )
        return self.by_name[name]

    def _check_columns(self, constraint: Constraint) -> None:
        if isinstance(constraint, Inequality):
            low, high = (
                self._spec(constraint, constraint.low),
                self._spec(constraint, constraint.high),
            )
            if not (low.numeric and high.numeric):
                raise InputError(
                    f"constraint {constraint.text!r}: both columns must be numbers or datetimes"
                )
            if (low.type == "datetime") != (high.type == "datetime"):
                raise InputError(
                    f"constraint {constraint.text!r}: compares a datetime with a number"
                )
        elif isinstance(constraint, Range):
            if not self._spec(constraint, constraint.column).numeric:
                raise InputError(
                    f"constraint {constraint.text!r}: a range needs a number or datetime column"
                )
        else:
            for name in constraint.columns:
                self._spec(constraint, name)

    def _bounds(self, constraint: Range) -> tuple[float, float]:
        spec = self.by_name[constraint.column]
        out = []
        for raw, default in ((constraint.low, -np.inf), (constraint.high, np.inf)):
            if not raw:
                out.append(default)
                continue
            try:
                out.append(datetime_to_seconds(raw) if spec.type == "datetime" else float(raw))
            except ValueError:
                kind = "a date (YYYY-MM-DD)" if spec.type == "datetime" else "a number"
                raise InputError(
                    f"constraint {constraint.text!r}: bound {raw!r} is not {kind}"
                ) from None
        if out[0] > out[1]:
            raise InputError(f"constraint {constraint.text!r}: the low bound is above the high")
        return out[0], out[1]

    # --- checking ---------------------------------------------------------------------------

    def problems(self, table: Table) -> list[str | None]:
        """Per row, the first constraint it breaks (as text), or None."""
        reasons: np.ndarray = np.full(table.n_rows, None, dtype=object)
        for constraint in self.constraints:
            bad = self._violations(constraint, table)
            reasons[bad & (reasons == None)] = f"constraint {constraint.text}"  # noqa: E711
        return list(reasons)

    def _violations(self, constraint: Constraint, table: Table) -> np.ndarray:
        if isinstance(constraint, Inequality):
            x, y = table[constraint.low], table[constraint.high]
            with np.errstate(invalid="ignore"):
                bad = x >= y if constraint.strict else x > y
            return bad & ~np.isnan(x) & ~np.isnan(y)
        if isinstance(constraint, Range):
            low, high = self.bounds[constraint.text]
            x = table[constraint.column]
            with np.errstate(invalid="ignore"):
                return ~np.isnan(x) & ((x < low) | (x > high))
        seen = self.seen.get(constraint.text)
        if seen is None:
            return np.zeros(table.n_rows, dtype=bool)
        keys = _combination_keys(table, constraint.columns)
        return np.array([k not in seen for k in keys], dtype=bool)

    def refuse_violations(self, table: Table) -> None:
        """The data must meet its declared constraints, or the output could not resemble it."""
        for constraint in self.constraints:
            bad = self._violations(constraint, table)
            if bad.any():
                raise InputError(
                    f"constraint {constraint.text!r} fails in {int(bad.sum())} of "
                    f"{table.n_rows} input rows (first at data row {int(np.argmax(bad)) + 1}): "
                    "fix the data or the constraint"
                )

    # --- transforms -------------------------------------------------------------------------

    def fit(
        self, table: Table, *, target: str | None, checked_only: Sequence[Constraint] = ()
    ) -> ConstraintSet:
        """Choose the transforms and learn what they need (seen combinations, decimals).
        ``checked_only`` are never built in: a row that breaks one has the pair swapped where
        both columns are of one type, and the sampler's rejection meets the rest."""
        highs: set[str] = set()
        lows: set[str] = set()
        for c in self.constraints:
            if isinstance(c, Fixed):
                for n in c.columns:
                    if not is_discrete(self.by_name[n], table[n]):
                        raise InputError(
                            f"constraint {c.text!r}: column {n!r} is continuous; fixed "
                            "combinations are for categorical columns"
                        )
                self.seen[c.text] = set(_combination_keys(table, c.columns))
        merged_columns: set[str] = set()
        for c in self.constraints:
            if not isinstance(c, Fixed) or target in c.columns:
                continue
            if merged_columns & set(c.columns):
                continue
            self.merged.append(c)
            merged_columns |= set(c.columns)
        for c in self.constraints:
            if not isinstance(c, Inequality) or c.strict or c in checked_only:
                continue
            names = {c.low, c.high}
            if target in names or names & merged_columns or c.high in highs or c.high in lows:
                continue
            spec_low, spec_high = self.by_name[c.low], self.by_name[c.high]
            if spec_low.categorical or spec_high.categorical or np.isnan(table[c.low]).any():
                continue  # a missing ``a`` would lose ``b``: met by rejection instead
            if spec_high.type == "int" and spec_low.type != "int":
                continue  # a + (b - a) would not be a whole number
            if c.low in highs:
                continue  # chains are met by rejection: each difference needs a raw ``a``
            self.differences.append(c)
            highs.add(c.high)
            lows.add(c.low)
            self.decimals[c.high] = _decimals(table[c.low], table[c.high], spec_high)
        self.swapped = [
            c
            for c in checked_only
            if isinstance(c, Inequality)
            and not c.strict
            and self.by_name[c.low].type == self.by_name[c.high].type
        ]
        return self

    def forward(self, table: Table) -> Table:
        """The table the model learns: differences for ``b``, merged combinations."""
        if not self.differences and not self.merged:
            return table
        data = dict(table.data)
        for c in self.differences:
            data[c.high] = table[c.high] - table[c.low]
        specs = list(table.specs)
        for c in self.merged:
            name = _FIXED_PREFIX + ",".join(c.columns)
            column = np.empty(table.n_rows, dtype=object)
            column[:] = [json.dumps(list(k)) for k in _combination_keys(table, c.columns)]
            data[name] = column
            at = min(specs.index(self.by_name[n]) for n in c.columns)
            specs = [s for s in specs if s.name not in c.columns]
            specs.insert(at, ColumnSpec(name, "category", required=True))
            for n in c.columns:
                del data[n]
        return Table(specs, {s.name: data[s.name] for s in specs})

    def reverse(self, table: Table) -> Table:
        """Back to the original columns (the inverse of ``forward``), then the pairs of
        ``swapped`` put in order."""
        if not self.differences and not self.merged and not self.swapped:
            return table
        data = dict(table.data)
        for c in self.merged:
            name = _FIXED_PREFIX + ",".join(c.columns)
            keys = [json.loads(v) for v in data.pop(name)]
            for i, column in enumerate(c.columns):
                spec = self.by_name[column]
                values = [k[i] for k in keys]
                if spec.numeric:
                    data[column] = np.array(
                        [np.nan if v is None else float(v) for v in values], dtype=float
                    )
                else:
                    out = np.empty(len(values), dtype=object)
                    out[:] = values
                    data[column] = out
        for c in self.differences:
            value = data[c.low] + data[c.high]
            decimals = self.decimals.get(c.high)
            data[c.high] = np.round(value, decimals) if decimals is not None else value
        if self.swapped:
            _swap_out_of_order(data, self.swapped)
        return Table(self.specs, {s.name: data[s.name] for s in self.specs})

    def fitted_state(self) -> dict[str, Any]:
        """What sampling from a stored model needs to undo the transforms and check rows."""
        return {
            "specs": specs_state(self.specs),
            "constraints": [c.text for c in self.constraints],
            "differences": [c.text for c in self.differences],
            "decimals": self.decimals,
            "merged": [c.text for c in self.merged],
            "swapped": [c.text for c in self.swapped],
            "seen": {
                text: sorted((list(k) for k in keys), key=json.dumps)
                for text, keys in self.seen.items()
            },
        }

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any]) -> ConstraintSet:
        constraints = [parse_constraint(t) for t in state["constraints"]]
        rules = cls(constraints, specs_from_state(state["specs"]))
        by_text = {c.text: c for c in constraints}
        rules.differences = [by_text[t] for t in state["differences"]]  # type: ignore[misc]
        rules.decimals = dict(state["decimals"])
        rules.merged = [by_text[t] for t in state["merged"]]  # type: ignore[misc]
        # A checkpoint stored before swaps existed meets its inferred pairs by rejection.
        rules.swapped = [by_text[t] for t in state.get("swapped", [])]  # type: ignore[misc]
        rules.seen = {t: {tuple(k) for k in keys} for t, keys in state["seen"].items()}
        return rules

    def forward_columns(self) -> list[str]:
        """Columns the model sees transformed (a difference, or part of a combination)."""
        return [c.high for c in self.differences] + [n for c in self.merged for n in c.columns]

    def state(self) -> dict[str, Any]:
        return {
            "constraints": [c.text for c in self.constraints],
            "modelled_as_differences": [c.text for c in self.differences],
            "merged_combinations": [c.text for c in self.merged],
            "swapped_when_out_of_order": [c.text for c in self.swapped],
        }


# Passes of swaps over the inferred pairs; a row still out of order after them is rejected.
SWAP_PASSES = 10


def _swap_out_of_order(data: dict[str, np.ndarray], pairs: list[Inequality]) -> None:
    """In place: per row, swap the values of each pair ``a<=b`` with ``a > b`` (a missing value
    compares as in order), pass after pass until none is out of order or ``SWAP_PASSES``."""
    for name in {n for c in pairs for n in (c.low, c.high)}:
        data[name] = np.array(data[name], dtype=float)  # a copy: the model's arrays stay as drawn
    for _ in range(SWAP_PASSES):
        swapped = False
        for c in pairs:
            low, high = data[c.low], data[c.high]
            with np.errstate(invalid="ignore"):
                bad = low > high
            if bad.any():
                low[bad], high[bad] = high[bad], low[bad].copy()
                swapped = True
        if not swapped:
            return


def _combination_keys(table: Table, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    values = [discrete_values(table.spec(n), table[n]).tolist() for n in columns]
    return list(zip(*values, strict=True))


def _decimals(low: np.ndarray, high: np.ndarray, spec: ColumnSpec) -> int | None:
    """Decimals ``a + (b - a)`` is rounded to, so it reads as the real ``b`` does."""
    if spec.type != "float":
        return 0 if spec.type == "int" else None
    values = np.concatenate([low[~np.isnan(low)], high[~np.isnan(high)]])
    for decimals in range(11):
        if np.allclose(values, np.round(values, decimals), rtol=0, atol=1e-12):
            return decimals
    return None
