"""How the benchmarks summarise repeated measurements: percentiles of one run's samples and the
median with min–max over repetitions.

Three percentile rules are in use and kept apart by name, since each benchmark's published
figures were computed with its own: ``nearest_rank`` (the textbook one: the smallest value with
at least q of the samples at or below it), ``rounded_rank`` (the sample at the rounded position
q·(n−1)) and ``lower_rank`` (at the position rounded down).
"""

from __future__ import annotations

import math
import statistics
from typing import Any


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def rounded_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def lower_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def dist(values: list[float]) -> dict[str, float]:
    """n, p50/p95/p99 (nearest rank), mean and max of one run's samples; ``{"n": 0}`` when
    there are none."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": nearest_rank(values, 0.50),
        "p95": nearest_rank(values, 0.95),
        "p99": nearest_rank(values, 0.99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def spread(values: list[float], digits: int = 2) -> dict[str, Any]:
    """Median, min and max over repetitions, rounded."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def spread_runs(values: list[float], digits: int = 2, key: str = "runs") -> dict[str, Any]:
    """``spread`` with every repetition's value under ``key``."""
    return spread(values, digits) | {key: [round(v, digits) for v in values]}


def spread_counted(values: list[float], digits: int = 2) -> dict[str, Any]:
    """``spread`` with how many values there were; ``{"n": 0}`` when none."""
    if not values:
        return {"n": 0}
    return spread(values, digits) | {"n": len(values)}


def ratio_spread(values: list[float], references: list[float], digits: int = 4) -> dict[str, Any]:
    """``spread`` of each repetition's value over its own reference."""
    return spread([v / r for v, r in zip(values, references, strict=True)], digits)


def spread_samples(values: list[float], digits: int = 3) -> dict[str, Any]:
    """``spread_runs`` in the form of the pure benchmarks' summaries: to 3 digits, every
    repetition under ``samples``."""
    return spread_runs(values, digits, key="samples")
