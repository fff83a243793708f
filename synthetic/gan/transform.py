"""Per-column transforms between a ``Table`` and the matrix a model sees. Pure numpy/scipy.

* Numeric columns go through a smoothed empirical CDF to a standard normal score
  (``QuantileNormal``). On small tables this beats CTGAN's Gaussian-mixture mode encoding: it
  has no fitted parameters to get wrong, every output lands inside the observed range (so
  ``min``/``max`` hold by construction), and a generator that outputs N(0, 1) reproduces the
  marginal closely. The knots are averages of neighbouring values, never one row's value.
* Discrete columns (bool, category, string, and ints with few distinct values) become one-hot
  blocks; a missing value is one more category.
* A numeric column with missing values gets a two-way (present, missing) block so the model
  learns the missing rate, and which rows miss, with everything else.

States are plain JSON (lists, numbers, strings) so checkpoints never need pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ..table import ColumnSpec, Table, discrete_values, is_discrete, specs_from_state, specs_state

# Quantile knots kept per numeric column (a checkpoint stores them).
MAX_KNOTS = 1000
# Sorted values averaged into each point the knots are read from.
SMOOTH = 3
MAX_DECIMALS = 10
_DAY = 86_400.0


@dataclass
class QuantileNormal:
    """Monotone map between a numeric column and N(0, 1) through mid-rank quantiles."""

    knots: np.ndarray  # sorted distinct values
    levels: np.ndarray  # mid-rank CDF at each knot, strictly inside (0, 1)
    step: float  # output granularity: 1 for ints, 86400 for whole days, 0 for none
    decimals: int | None = None  # floats: the most decimals the real column shows

    @classmethod
    def fit(cls, values: np.ndarray, spec: ColumnSpec) -> QuantileNormal:
        """Knots are quantiles of the sorted column smoothed over ``SMOOTH`` neighbours, at
        interior levels: a checkpoint (which is published) holds no single row's value, and
        the output range stops short of the exact training minimum and maximum. A value
        shared by at least ``SMOOTH`` rows may still appear as a knot: it is no one row's."""
        values = np.sort(values[~np.isnan(values)])
        if len(values) == 0:
            return cls(np.zeros(1), np.full(1, 0.5), 0.0)
        step, decimals = _granularity(values, spec)
        if len(values) >= SMOOTH:
            smooth = np.convolve(values, np.ones(SMOOTH) / SMOOTH, mode="valid")
        else:
            smooth = np.full(1, values.mean())
        count = min(MAX_KNOTS, len(smooth))
        levels = (np.arange(count) + 0.5) / count
        knots, first = np.unique(np.quantile(smooth, levels), return_index=True)
        levels = levels[first]
        # An average can land exactly on a rare real value: step off it by one ulp.
        distinct, counts = np.unique(values, return_counts=True)
        rare = np.isin(knots, distinct[counts < SMOOTH])
        knots[rare] = np.nextafter(knots[rare], np.inf)
        return cls(knots, levels, step, decimals)

    def forward(self, values: np.ndarray) -> np.ndarray:
        if len(self.knots) == 1:
            return np.zeros(len(values))
        return ndtri(np.interp(values, self.knots, self.levels))

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        values = np.interp(ndtr(scores), self.levels, self.knots)
        if self.decimals is not None:
            # np.round to decimals gives the double nearest the short decimal (9.7, not
            # 9.700000000000001), so written rows look like the real ones.
            values = np.round(values, self.decimals)
        elif self.step:
            values = np.round(values / self.step) * self.step
        # Rounding may step past an end of the knots: pull it back to the nearest value of the
        # column's granularity inside them (so the exact training extremes are not emitted).
        return np.clip(values, *self._ends())

    def _ends(self) -> tuple[float, float]:
        low, high = float(self.knots[0]), float(self.knots[-1])
        if self.decimals is not None:
            scale = 10.0**self.decimals
            ends = np.ceil(low * scale - 1e-9) / scale, np.floor(high * scale + 1e-9) / scale
        elif self.step:
            ends = (
                np.ceil(low / self.step - 1e-9) * self.step,
                np.floor(high / self.step + 1e-9) * self.step,
            )
        else:
            return low, high
        return (float(ends[0]), float(ends[1])) if ends[0] <= ends[1] else (low, high)

    def state(self) -> dict[str, Any]:
        return {
            "knots": self.knots.tolist(),
            "levels": self.levels.tolist(),
            "step": self.step,
            "decimals": self.decimals,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileNormal:
        return cls(
            np.array(state["knots"]), np.array(state["levels"]), state["step"], state["decimals"]
        )


def _granularity(values: np.ndarray, spec: ColumnSpec) -> tuple[float, int | None]:
    """Keep the granularity the real column has: whole days, seconds, or its decimals."""
    if spec.type == "int":
        return 1.0, None
    if spec.type == "datetime":
        if np.all(values % _DAY == 0):
            return _DAY, None
        return (1.0 if np.all(values == np.round(values)) else 0.0), None
    for decimals in range(MAX_DECIMALS + 1):
        if np.allclose(values, np.round(values, decimals), rtol=0, atol=1e-12):
            return 0.0, decimals
    return 0.0, None


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
    missing: bool = False  # the (present, missing) block of a numeric column

    @property
    def end(self) -> int:
        return self.start + self.width


class TableEncoder:
    """Encodes a table as a float32 matrix of normal scores and one-hot blocks, and back."""

    def __init__(self, specs: list[ColumnSpec], columns: dict[str, dict[str, Any]]) -> None:
        self.specs = specs
        self.columns = columns  # per column: {"quantile": state} or {"categories": [...]}
        self._quantile = {
            n: QuantileNormal.from_state(c["quantile"])
            for n, c in columns.items()
            if "quantile" in c
        }
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
            if info["has_missing"]:
                self.spans.append(Span(spec.name, "onehot", start, 2, missing=True))
                start += 2
        self.width = start

    @classmethod
    def fit(cls, table: Table) -> TableEncoder:
        columns: dict[str, dict[str, Any]] = {}
        for spec in table.specs:
            column = table[spec.name]
            if is_discrete(spec, column):
                columns[spec.name] = {"categories": categories_of(discrete_values(spec, column))}
            else:
                columns[spec.name] = {
                    "quantile": QuantileNormal.fit(column, spec).state(),
                    "has_missing": bool(np.isnan(column).any()),
                }
        return cls(table.specs, columns)

    def discrete_spans(self) -> list[Span]:
        """The one-hot blocks of discrete columns (what the generator can be conditioned on)."""
        return [s for s in self.spans if s.kind == "onehot" and not s.missing]

    def encode(self, table: Table) -> np.ndarray:
        out = np.zeros((table.n_rows, self.width), dtype=np.float32)
        rows = np.arange(table.n_rows)
        for span in self.spans:
            column = table[span.column]
            info = self.columns[span.column]
            if span.missing:
                out[rows, span.start + np.isnan(column).astype(int)] = 1.0
            elif span.kind == "onehot":
                values = discrete_values(table.spec(span.column), column)
                out[rows, span.start + category_codes(values, info["categories"])] = 1.0
            else:
                scores = self._quantile[span.column].forward(column)
                out[:, span.start] = np.nan_to_num(scores, nan=0.0)
        return out

    def decode(self, matrix: np.ndarray) -> Table:
        """A table from encoded rows (one-hot blocks read by argmax)."""
        data: dict[str, np.ndarray] = {}
        missing: dict[str, np.ndarray] = {}
        for span in self.spans:
            block = matrix[:, span.start : span.end]
            info = self.columns[span.column]
            if span.missing:
                missing[span.column] = block.argmax(axis=1) == 1
            elif span.kind == "onehot":
                values = np.empty(len(matrix), dtype=object)
                values[:] = [info["categories"][i] for i in block.argmax(axis=1)]
                spec = next(s for s in self.specs if s.name == span.column)
                if spec.numeric:
                    values = np.array([np.nan if v is None else v for v in values], dtype=float)
                data[span.column] = values
            else:
                data[span.column] = self._quantile[span.column].inverse(block[:, 0].astype(float))
        for name, mask in missing.items():
            data[name] = np.where(mask, np.nan, data[name])
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
