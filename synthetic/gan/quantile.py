"""A numeric column's map to a standard normal score, and its point masses. Pure numpy/scipy.

``QuantileNormal`` maps through a smoothed empirical CDF (see ``transform`` for why); its knots
are averages of neighbouring values, never one row's value. A heavy upper tail (a Pareto-like
one: incomes, sizes) is continued past the top knot by a fitted Pareto tail, so the largest
values are not cut at the knots' last quantile, and no real extreme value is stored or emitted.
A value that a large share of a column holds exactly (``point_masses``: the zeros of a
zero-inflated balance) is not put through the map, which would smear it into nearby values: it
is a mode of its own (``mode_codes``/``mode_values``), beside "value" and "missing".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ..table import ColumnSpec

# Quantile knots kept per numeric column (a checkpoint stores them).
MAX_KNOTS = 1000
# Sorted values averaged into each point the knots are read from.
SMOOTH = 3
MAX_DECIMALS = 10
_DAY = 86_400.0
# A point mass: a value held by at least this share of a column's present values and by at
# least ``MIN_MASS_ROWS`` rows (so it is no one row's value), standing ``MASS_SPIKE`` times above
# its neighbouring values; at most ``MAX_MASSES`` per column.
MASS_SHARE = 0.05
MIN_MASS_ROWS = 30
MAX_MASSES = 3
MASS_SPIKE = 2.0
# The upper tail past the top knot is modelled (Hill's estimator over the top ``TAIL_SHARE`` of
# the values, at least ``MIN_TAIL_ROWS`` of them) when its Pareto index is at most
# ``MAX_TAIL_INDEX`` (lighter tails are cut at the top knot, as every tail was). Draws stop
# where the tail has ``1 / TAIL_CAP`` of the mass the top knot leaves.
TAIL_SHARE = 0.05
MIN_TAIL_ROWS = 10
MAX_TAIL_INDEX = 4.0
TAIL_CAP = 100.0


@dataclass
class QuantileNormal:
    """Monotone map between a numeric column and N(0, 1) through mid-rank quantiles."""

    knots: np.ndarray  # sorted distinct values
    levels: np.ndarray  # mid-rank CDF at each knot, strictly inside (0, 1)
    step: float  # output granularity: 1 for ints, 86400 for whole days, 0 for none
    decimals: int | None = None  # floats: the most decimals the real column shows
    tail: float | None = None  # Pareto index of the upper tail past the top knot, if heavy

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
        return cls(knots, levels, step, decimals, _tail_index(values, knots[-1]))

    def forward(self, values: np.ndarray) -> np.ndarray:
        if len(self.knots) == 1:
            return np.zeros(len(values))
        levels = np.interp(values, self.knots, self.levels)
        if self.tail is not None:
            top, rest = self.knots[-1], 1.0 - self.levels[-1]
            above = values > top
            with np.errstate(divide="ignore", invalid="ignore"):
                beyond = 1.0 - rest * (values / top) ** -self.tail
            levels = np.where(above, np.minimum(beyond, 1.0 - rest / TAIL_CAP), levels)
        return ndtri(levels)

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        levels = ndtr(scores)
        values = np.interp(levels, self.levels, self.knots)
        if self.tail is not None:
            top, rest = self.knots[-1], 1.0 - self.levels[-1]
            above = levels > self.levels[-1]
            left = np.maximum(1.0 - levels[above], rest / TAIL_CAP)
            values[above] = top * (rest / left) ** (1.0 / self.tail)
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
        if self.tail is not None:
            high = high * TAIL_CAP ** (1.0 / self.tail)
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
            "tail": self.tail,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileNormal:
        return cls(
            np.array(state["knots"]),
            np.array(state["levels"]),
            state["step"],
            state["decimals"],
            state.get("tail"),
        )


def _tail_index(values: np.ndarray, top: float) -> float | None:
    """Hill's estimate of the upper tail's Pareto index from sorted ``values``, when the tail is
    heavy (index at most ``MAX_TAIL_INDEX``) and lies above a positive top knot; else None.
    The index is a statistic of many rows, not a value of one."""
    k = max(MIN_TAIL_ROWS, int(TAIL_SHARE * len(values)))
    if len(values) <= 2 * k or top <= 0:
        return None
    threshold = values[-k - 1]
    if threshold <= 0:
        return None
    spread = float(np.mean(np.log(values[-k:] / threshold)))
    if spread <= 0 or 1.0 / spread > MAX_TAIL_INDEX:
        return None
    return round(1.0 / spread, 6)


def point_masses(column: np.ndarray) -> list[float]:
    """The values a numeric column holds exactly in many rows (``MASS_SHARE``, ``MIN_MASS_ROWS``)
    and in at least ``MASS_SPIKE`` times as many rows as each neighbouring value (a spike, as
    the zeros of a zero-inflated column: a count column's commonest values are not), the
    commonest first (at most ``MAX_MASSES``). Each is held by many rows, so no one row's."""
    present = column[~np.isnan(column)]
    if len(present) == 0:
        return []
    distinct, counts = np.unique(present, return_counts=True)
    floor = max(MIN_MASS_ROWS, MASS_SHARE * len(present))
    padded = np.concatenate([[0], counts, [0]])
    spike = counts >= MASS_SPIKE * np.maximum(padded[:-2], padded[2:])
    order = np.argsort(-counts, kind="stable")[:MAX_MASSES]
    return [float(distinct[i]) for i in order if counts[i] >= floor and spike[i]]


def mode_codes(column: np.ndarray, masses: list[float], has_missing: bool) -> np.ndarray:
    """Per row: 0 for a value read through the quantile map, 1 for missing (when the column may
    miss), then one code per point mass."""
    codes = np.zeros(len(column), dtype=np.int64)
    first = 1 + int(has_missing)
    for k, mass in enumerate(masses):
        codes[column == mass] = first + k
    if has_missing:
        codes[np.isnan(column)] = 1
    return codes


def mode_values(
    codes: np.ndarray, values: np.ndarray, masses: list[float], has_missing: bool
) -> np.ndarray:
    """The inverse of ``mode_codes``: ``values`` where the code is 0, else the mode's value."""
    out = np.array(values, dtype=float)
    if has_missing:
        out[codes == 1] = np.nan
    first = 1 + int(has_missing)
    for k, mass in enumerate(masses):
        out[codes == first + k] = mass
    return out


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
