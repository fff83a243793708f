"""A numeric column's map to normal scores, one per level of the discrete column it depends on
most (its driver). Pure numpy.

A model that learns a category and a number through one pooled quantile map must learn how the
number's distribution shifts with the category: GANs on small, skewed tables often do not
(orders per plan come out nearly flat). With a map per level, a row's score is its rank among
the rows of its own level, so a model that gets the category and the rank right gets the
number's distribution within that category right, whatever it learned about the dependence.

A driver is chosen only where it matters and is well supported: a discrete column with at most
``MAX_DRIVER_LEVELS`` levels whose levels explain at least ``MIN_DRIVER_EFFECT`` of the
variance of the column's pooled scores (η²); a level with fewer than ``MIN_DRIVER_ROWS`` values
uses the pooled map. Each level's knots are smoothed as the pooled ones are
(``QuantileNormal.fit``): no single row's value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..table import ColumnSpec, Table, discrete_values, is_discrete
from .quantile import QuantileNormal

MAX_DRIVER_LEVELS = 10
MIN_DRIVER_ROWS = 50
MIN_DRIVER_EFFECT = 0.1


class ColumnMap:
    """The pooled map, and per level of ``driver`` (if any) the level's own map."""

    def __init__(
        self,
        pooled: QuantileNormal,
        driver: str | None = None,
        levels: list[Any] | None = None,
        maps: list[QuantileNormal] | None = None,
    ) -> None:
        self.pooled = pooled
        self.driver = driver
        self.levels = levels or []
        self.maps = maps or []

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> ColumnMap:
        pooled = QuantileNormal.from_state(info["quantile"])
        driven = info.get("driven")
        if not driven:
            return cls(pooled)
        return cls(
            pooled,
            driven["driver"],
            [level for level, _ in driven["levels"]],
            [QuantileNormal.from_state(state) for _, state in driven["levels"]],
        )

    def _groups(self, keys: np.ndarray | None, n: int) -> list[tuple[np.ndarray, QuantileNormal]]:
        if self.driver is None or keys is None:
            return [(np.ones(n, dtype=bool), self.pooled)]
        listed = keys.tolist()
        masks = [np.array([k == level for k in listed], dtype=bool) for level in self.levels]
        rest = ~np.any(masks, axis=0) if masks else np.ones(n, dtype=bool)
        return [*zip(masks, self.maps, strict=True), (rest, self.pooled)]

    def forward(self, column: np.ndarray, keys: np.ndarray | None) -> np.ndarray:
        """Scores of ``column``; ``keys`` are the driver's discrete values in the same rows."""
        out = np.zeros(len(column))
        for mask, quantile in self._groups(keys, len(column)):
            if mask.any():
                out[mask] = quantile.forward(column[mask])
        return out

    def inverse(self, scores: np.ndarray, keys: np.ndarray | None) -> np.ndarray:
        out = np.zeros(len(scores))
        for mask, quantile in self._groups(keys, len(scores)):
            if mask.any():
                out[mask] = quantile.inverse(scores[mask])
        return out


def driver_keys(table: Table, driver: str | None) -> np.ndarray | None:
    """The driver's values as the maps key them (ints for int columns, None when missing)."""
    if driver is None:
        return None
    return discrete_values(table.spec(driver), table[driver])


def fit_driven(
    table: Table, spec: ColumnSpec, value: np.ndarray, pooled: QuantileNormal, skip: set[str]
) -> dict[str, Any] | None:
    """``{"driver": name, "levels": [[level, quantile state], ...]}`` for the discrete column
    whose levels explain most of the column's pooled scores in the rows ``value`` marks, or
    None when none qualifies. Columns in ``skip`` are not drivers."""
    column = table[spec.name]
    scores = pooled.forward(column[value])
    total = float(np.sum((scores - scores.mean()) ** 2)) if len(scores) else 0.0
    best: tuple[float, str, list[Any]] | None = None
    for other in table.specs:
        if other.name == spec.name or other.name in skip:
            continue
        if not is_discrete(other, table[other.name]):
            continue
        keys = discrete_values(other, table[other.name])[value].tolist()
        levels = sorted(set(keys), key=repr)
        if not 2 <= len(levels) <= MAX_DRIVER_LEVELS or total <= 0:
            continue
        between = 0.0
        for level in levels:
            mask = np.array([k == level for k in keys], dtype=bool)
            between += mask.sum() * (scores[mask].mean() - scores.mean()) ** 2
        effect = between / total
        supported = [v for v in levels if sum(k == v for k in keys) >= MIN_DRIVER_ROWS]
        good = effect >= MIN_DRIVER_EFFECT and len(supported) >= 2
        if good and (best is None or effect > best[0]):
            best = (effect, other.name, supported)
    if best is None:
        return None
    _, driver, levels = best
    keys = discrete_values(table.spec(driver), table[driver])
    fitted = []
    for level in levels:
        mask = value & np.array([k == level for k in keys.tolist()], dtype=bool)
        fitted.append([level, QuantileNormal.fit(column[mask], spec).state()])
    return {"driver": driver, "levels": fitted}
