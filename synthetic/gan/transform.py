"""Per-column transforms between a ``Table`` and the matrix a model sees. Pure numpy/scipy.

* Numeric columns go through a smoothed empirical CDF to a standard normal score
  (``QuantileNormal``). On small tables this beats CTGAN's Gaussian-mixture mode encoding: it
  has no fitted parameters to get wrong, the output stays inside the observed range (so
  ``min``/``max`` hold by construction), and a generator that outputs N(0, 1) reproduces the
  marginal closely. The knots are averages of neighbouring values, never one row's value. A
  heavy upper tail (a Pareto-like one: incomes, sizes) is continued past the top knot by a
  fitted Pareto tail, so the largest values are not cut at the knots' last quantile.
* A value that a large share of a numeric column holds exactly (a point mass: the zeros of a
  zero-inflated balance) is a mode of its own, not part of the quantile map, which would smear
  it into nearby values; the output holds it at about the real share.
* A numeric column that depends strongly on a discrete column (orders on a plan) gets one map
  per level of it (``driven``): its score is its rank within its level.
* Discrete columns (bool, category, string, and ints with few distinct values) become one-hot
  blocks; a missing value is one more category.
* A numeric column with missing values or point masses gets a mode block (value, missing,
  each point mass) so the model learns those rates, and which rows have them, with everything
  else; the score is read only in the rows whose mode is "value".

States are plain JSON (lists, numbers, strings) so checkpoints never need pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..table import ColumnSpec, Table, discrete_values, is_discrete, specs_from_state, specs_state
from .driven import ColumnMap, driver_keys, fit_driven
from .quantile import QuantileNormal, mode_codes, mode_values, point_masses


def categories_of(column: np.ndarray) -> list[Any]:
    """Distinct values (``None`` included), most frequent first, ties in a stable order."""
    counts: dict[Any, int] = {}
    for value in column.tolist():
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts, key=lambda v: (-counts[v], repr(v)))


def category_codes(column: np.ndarray, categories: list[Any]) -> np.ndarray:
    """Index of each value in ``categories`` (unseen values map to the commonest, 0)."""
    index = {value: i for i, value in enumerate(categories)}
    return np.array([index.get(v, 0) for v in column.tolist()], dtype=np.int64)


@dataclass(frozen=True)
class Span:
    """A slice of the encoded matrix: ``kind`` is "normal" (one score) or "onehot"."""

    column: str
    kind: str
    start: int
    width: int
    modes: bool = False  # a numeric column's (value, missing, point masses...) block

    @property
    def end(self) -> int:
        return self.start + self.width


class TableEncoder:
    """Encodes a table as a float32 matrix of normal scores and one-hot blocks, and back."""

    def __init__(self, specs: list[ColumnSpec], columns: dict[str, dict[str, Any]]) -> None:
        self.specs = specs
        self.columns = columns  # per column: {"quantile": state} or {"categories": [...]}
        self._maps = {n: ColumnMap.from_info(c) for n, c in columns.items() if "quantile" in c}
        self.spans: list[Span] = []
        start = 0
        for spec in specs:
            info = columns[spec.name]
            if "categories" in info:
                self.spans.append(Span(spec.name, "onehot", start, len(info["categories"])))
                start += len(info["categories"])
                continue
            self.spans.append(Span(spec.name, "normal", start, 1))
            start += 1
            width = 1 + int(info["has_missing"]) + len(info.get("masses", []))
            if width > 1:
                self.spans.append(Span(spec.name, "onehot", start, width, modes=True))
                start += width
        self.width = start

    @classmethod
    def fit(cls, table: Table, *, target: str | None = None) -> TableEncoder:
        """The encoding of ``table``. The ``target`` drives no column's map: a number mapped per
        class would be separated by the class by construction, and a model of such rows
        (rather than of how the class depends on every column) teaches a classifier to read
        the class off that one number."""
        columns: dict[str, dict[str, Any]] = {}
        skip = {target} if target is not None else set()
        for spec in table.specs:
            column = table[spec.name]
            if is_discrete(spec, column):
                columns[spec.name] = {"categories": categories_of(discrete_values(spec, column))}
            else:
                masses = point_masses(column)
                value = ~np.isnan(column) & ~np.isin(column, masses)
                pooled = QuantileNormal.fit(column[value], spec)
                columns[spec.name] = {
                    "quantile": pooled.state(),
                    "has_missing": bool(np.isnan(column).any()),
                    "masses": masses,
                    "driven": fit_driven(table, spec, value, pooled, skip=skip),
                }
        return cls(table.specs, columns)

    def discrete_spans(self) -> list[Span]:
        """The one-hot blocks of discrete columns (what the generator can be conditioned on)."""
        return [s for s in self.spans if s.kind == "onehot" and not s.modes]

    def _spec(self, name: str) -> ColumnSpec:
        return next(s for s in self.specs if s.name == name)

    def _modes(self, column: str) -> tuple[list[float], bool]:
        info = self.columns[column]
        return info.get("masses", []), info["has_missing"]

    def encode(self, table: Table) -> np.ndarray:
        out = np.zeros((table.n_rows, self.width), dtype=np.float32)
        rows = np.arange(table.n_rows)
        for span in self.spans:
            column = table[span.column]
            info = self.columns[span.column]
            if span.modes:
                out[rows, span.start + mode_codes(column, *self._modes(span.column))] = 1.0
            elif span.kind == "onehot":
                values = discrete_values(table.spec(span.column), column)
                out[rows, span.start + category_codes(values, info["categories"])] = 1.0
            else:
                masses = self.columns[span.column].get("masses", [])
                value = ~np.isnan(column) & ~np.isin(column, masses)
                column_map = self._maps[span.column]
                scores = column_map.forward(column, driver_keys(table, column_map.driver))
                out[:, span.start] = np.where(value, scores, 0.0)
        return out

    def decode(self, matrix: np.ndarray) -> Table:
        """A table from encoded rows (one-hot blocks read by argmax). Discrete columns first: a
        driven numeric column reads its map from its driver's decoded level."""
        data: dict[str, np.ndarray] = {}
        modes: dict[str, np.ndarray] = {}
        for span in self.spans:
            block = matrix[:, span.start : span.end]
            if span.modes:
                modes[span.column] = block.argmax(axis=1)
            elif span.kind == "onehot":
                values = np.empty(len(matrix), dtype=object)
                values[:] = [self.columns[span.column]["categories"][i] for i in block.argmax(1)]
                if self._spec(span.column).numeric:
                    values = np.array([np.nan if v is None else v for v in values], dtype=float)
                data[span.column] = values
        for span in self.spans:
            if span.kind == "normal":
                column_map = self._maps[span.column]
                driver = column_map.driver
                keys = None if driver is None else discrete_values(self._spec(driver), data[driver])
                data[span.column] = column_map.inverse(matrix[:, span.start].astype(float), keys)
        for name, codes in modes.items():
            data[name] = mode_values(codes, data[name], *self._modes(name))
        return Table(self.specs, data)

    def state(self) -> dict[str, Any]:
        return {
            "specs": specs_state(self.specs),
            "columns": self.columns,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        specs = specs_from_state(state["specs"])
        return cls(specs, state["columns"])
