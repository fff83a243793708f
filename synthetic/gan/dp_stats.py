"""The column statistics a DP job's encoder needs, each bought with ε or taken from the schema.

Without this, a DP generator's category lists and frequencies, quantile knots, ranges and
missing-value flags come from the real rows outside the accountant: a generator at ε=1 can
emit every city that occurs once in training. Here, for a DP job:

* a discrete column's categories come from the schema when it declares them (``allowed``,
  bool, an int range of at most ``MAX_DISCRETE_INTS`` values) and are then counted with
  Laplace noise; otherwise the observed categories are counted with Laplace noise and only
  those whose noisy count clears ``1 + ln(1/(2δ))/ε`` are kept (a stability-based histogram:
  a category that occurs in a handful of rows is suppressed, whatever the seed);
* a numeric column's range is the schema's ``min``/``max`` where declared, otherwise the
  outermost power-of-two buckets whose noisy counts clear a threshold; its quantile knots are
  read off a noisy histogram over that range (so no knot is a real value);
* whether a column may be missing comes from the schema (``required``), never from the rows.

``public`` holds only what a person declared: a schema inferred from the rows (whose
``allowed`` lists every value seen) must not be passed as public.

Each histogram changes by one in one bin when a row is added or removed (L1 sensitivity 1):
the statistics together spend ``epsilon`` (basic composition over the histograms) and
``delta`` (split over the thresholded ones). Noise comes from the OS CSPRNG. Pure numpy.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..table import MAX_DISCRETE_INTS, ColumnSpec, Table, discrete_values
from .quantile import QuantileNormal
from .secure_random import secure_uniform

# Bins of the noisy histogram a numeric column's knots are read from, and knots kept.
HISTOGRAM_BINS = 16
KNOTS = 32
# Power-of-two magnitudes tried for a range the schema does not declare: 2^-20 … 2^60.
MIN_EXPONENT, MAX_EXPONENT = -20, 60
# Chance that a bucket holding no row clears the range threshold anyway.
RANGE_FAILURE = 0.05


class DPStatsError(ValueError):
    """The table is too small for ε to buy a statistic; the message says what to declare."""


def laplace(scale: float, n: int) -> np.ndarray:
    u = secure_uniform(n) - 0.5
    return -scale * np.sign(u) * np.log1p(-2.0 * np.abs(u))


def _bound(value: Any, spec: ColumnSpec) -> float | None:
    if value is None:
        return None
    if spec.type == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _public_domain(spec: ColumnSpec, public: dict[str, Any]) -> list[Any] | None:
    values: list[Any] | None = None
    if spec.type == "bool":
        values = [True, False]
    elif "allowed" in public:
        values = [int(v) for v in public["allowed"]] if spec.numeric else list(public["allowed"])
    elif spec.type == "int":
        low, high = _bound(public.get("min"), spec), _bound(public.get("max"), spec)
        if low is not None and high is not None and high - low + 1 <= MAX_DISCRETE_INTS:
            values = list(range(math.ceil(low), math.floor(high) + 1))
    if values is not None and not public.get("required", False):
        values.append(None)
    return values


def _is_discrete(spec: ColumnSpec, public: dict[str, Any]) -> bool:
    return not spec.numeric or spec.categorical or _public_domain(spec, public) is not None


def plan_queries(table: Table, public: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(histograms, thresholded histograms) the statistics of ``table`` take."""
    total = thresholded = 0
    for spec in table.specs:
        column_public = public.get(spec.name, {})
        if _is_discrete(spec, column_public):
            total += 1
            thresholded += _public_domain(spec, column_public) is None
        else:
            declared = all(_bound(column_public.get(k), spec) is not None for k in ("min", "max"))
            total += 1 if declared else 2
            thresholded += 0 if declared else 1
    return total, thresholded


def private_statistics(
    table: Table, public: dict[str, dict[str, Any]], *, epsilon: float, delta: float
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray], dict[str, Any]]:
    """(encoder columns, noisy category counts per discrete column, a record of what was
    released and how)."""
    total, thresholded = plan_queries(table, public)
    eps = epsilon / max(1, total)
    dlt = delta / max(1, thresholded)
    columns: dict[str, dict[str, Any]] = {}
    counts: dict[str, np.ndarray] = {}
    record: dict[str, Any] = {}
    for spec in table.specs:
        column_public = public.get(spec.name, {})
        column = table[spec.name]
        if _is_discrete(spec, column_public):
            categories, noisy, how = _categories(spec, column, column_public, eps, dlt)
            columns[spec.name] = {"categories": categories}
            counts[spec.name] = noisy
        else:
            low, high, how = _range(spec, column, column_public, eps, dlt)
            quantile = _knots(spec, column, low, high, eps)
            columns[spec.name] = {
                "quantile": quantile.state(),
                "has_missing": not column_public.get("required", False),
            }
        record[spec.name] = how
    summary = {
        "epsilon": epsilon,
        "delta": delta,
        "histograms": total,
        "thresholded": thresholded,
        "epsilon_per_histogram": eps,
        "columns": record,
    }
    return columns, counts, summary


def _categories(
    spec: ColumnSpec, column: np.ndarray, public: dict[str, Any], eps: float, dlt: float
) -> tuple[list[Any], np.ndarray, str]:
    observed = Counter(discrete_values(spec, column).tolist())
    domain = _public_domain(spec, public)
    if domain is not None:
        noisy = np.array([observed.get(v, 0) for v in domain], float) + laplace(
            1 / eps, len(domain)
        )
        keep = noisy >= 0.5
        keep[int(np.argmax(noisy))] = True
        how = "declared values, noisy counts"
        values = domain
    else:
        values = sorted(observed, key=repr)  # the order must not depend on the counts
        noisy = np.array([observed[v] for v in values], float) + laplace(1 / eps, len(values))
        threshold = 1 + math.log(1 / (2 * dlt)) / eps
        keep = noisy >= threshold
        if not keep.any():
            raise DPStatsError(
                f"column {spec.name!r}: no category is frequent enough to be released at this "
                f"ε (a noisy count must reach {threshold:.0f}); declare its allowed values in "
                "the schema, drop the column, or spend more ε"
            )
        how = f"observed values with noisy counts ≥ {threshold:.1f} (rarer ones suppressed)"
    order = np.argsort(-noisy[keep], kind="stable")
    kept = [v for v, k in zip(values, keep, strict=True) if k]
    return [kept[i] for i in order], np.maximum(noisy[keep][order], 0.5), how


def _range(
    spec: ColumnSpec, column: np.ndarray, public: dict[str, Any], eps: float, dlt: float
) -> tuple[float, float, str]:
    low, high = _bound(public.get("min"), spec), _bound(public.get("max"), spec)
    if low is not None and high is not None:
        return low, high, "declared range, noisy histogram"
    present = column[~np.isnan(column)]
    # Buckets ±[2^k, 2^(k+1)) and [0, 2^MIN_EXPONENT): a fixed, public grid.
    exponents = np.arange(MIN_EXPONENT, MAX_EXPONENT)
    edges = np.concatenate([-(2.0 ** exponents[::-1]), [0.0], 2.0**exponents])
    clipped = np.clip(present, edges[0], edges[-1])
    hist = np.histogram(clipped, bins=edges)[0].astype(float)
    noisy = hist + laplace(1 / eps, len(hist))
    threshold = math.log(len(hist) / RANGE_FAILURE) / eps
    over = np.flatnonzero(noisy >= threshold)
    if len(over) == 0:
        raise DPStatsError(
            f"column {spec.name!r}: too few rows to learn its range privately at this ε; "
            "declare min and max in the schema, or spend more ε"
        )
    found_low, found_high = float(edges[over[0]]), float(edges[over[-1] + 1])
    low = found_low if low is None else low
    high = found_high if high is None else high
    if high <= low:
        high = low + 1.0
    return low, high, "range from noisy power-of-two buckets, noisy histogram"


def _knots(
    spec: ColumnSpec, column: np.ndarray, low: float, high: float, eps: float
) -> QuantileNormal:
    present = np.clip(column[~np.isnan(column)], low, high)
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    noisy = np.histogram(present, bins=edges)[0] + laplace(1 / eps, HISTOGRAM_BINS)
    mass = np.maximum(noisy, 0.0) + 1e-3  # every bin keeps a little mass: a monotone CDF
    cdf = np.concatenate([[0.0], np.cumsum(mass) / mass.sum()])
    levels = (np.arange(KNOTS) + 0.5) / KNOTS
    knots, first = np.unique(np.interp(levels, cdf, edges), return_index=True)
    step = 1.0 if spec.type in ("int", "datetime") else 0.0
    return QuantileNormal(knots, levels[first], step, None)
