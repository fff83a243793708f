"""Fidelity of synthetic rows, the way SDMetrics' single-table QualityReport scores it. Pure.

The overall quality is the mean of two properties (as in SDMetrics 0.32):

* column shapes: per column, KSComplement (1 − Kolmogorov–Smirnov D) for numeric and datetime
  columns, TVComplement (1 − total variation distance) for bool and discrete columns; averaged.
* column-pair trends: per pair, CorrelationSimilarity (1 − |Δ Pearson r| / 2) for two numeric
  columns and ContingencySimilarity (1 − total variation of the joint frequencies) otherwise, a
  numeric column binned into ``numpy.histogram_bin_edges`` bins of its own table first. Only
  pairs that are related in the real data count: |r| > 0.5, or Cramér's V > 0.3.

Re-implemented here (rather than importing sdmetrics) because sdmetrics imports copulas, which
is under the Business Source License; tests check that both give the same scores.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import numpy as np
from scipy.stats import ks_2samp, pearsonr
from scipy.stats.contingency import association

from .table import Table

REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
# SDMetrics rounds numeric values to this many decimals before the KS test.
KS_DECIMALS = 14
_MISSING = "\x00missing"


def quality(real: Table, synthetic: Table) -> dict[str, Any]:
    """Overall quality score in [0, 1] and its two properties, with per-column scores."""
    shapes = {
        spec.name: _column_shape(spec.numeric, real[spec.name], synthetic[spec.name])
        for spec in real.specs
    }
    pairs = _pair_trends(real, synthetic)
    shape_scores = [s for s in shapes.values() if not np.isnan(s)]
    shape_mean = float(np.mean(shape_scores)) if shape_scores else float("nan")
    pair_mean = float(np.mean(list(pairs.values()))) if pairs else float("nan")
    parts = [p for p in (shape_mean, pair_mean) if not np.isnan(p)]
    return {
        "score": float(np.mean(parts)) if parts else float("nan"),
        "column_shapes": shape_mean,
        "column_pair_trends": pair_mean,
        "pairs_counted": len(pairs),
        "columns": shapes,
    }


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    real = np.round(real[~np.isnan(real)], KS_DECIMALS)
    synthetic = np.round(synthetic[~np.isnan(synthetic)], KS_DECIMALS)
    if len(real) == 0 or len(synthetic) == 0:
        return float("nan")
    return float(1 - ks_2samp(real, synthetic).statistic)


def tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    real_counts = Counter(v for v in real.tolist() if v is not None)
    synthetic_counts = Counter(v for v in synthetic.tolist() if v is not None)
    if not real_counts or not synthetic_counts:
        return float("nan")
    for value in synthetic_counts:
        if value not in real_counts:
            real_counts[value] += 1e-6  # type: ignore[assignment]  # as SDMetrics regularises
    real_total, synthetic_total = sum(real_counts.values()), sum(synthetic_counts.values())
    variation = sum(
        abs(synthetic_counts[v] / synthetic_total - real_counts[v] / real_total)
        for v in real_counts
    )
    return float(1 - 0.5 * variation)


def _column_shape(numeric: bool, real: np.ndarray, synthetic: np.ndarray) -> float:
    return ks_complement(real, synthetic) if numeric else tv_complement(real, synthetic)


def _pair_trends(real: Table, synthetic: Table) -> dict[tuple[str, str], float]:
    """Scores of the column pairs that meet the real-data threshold."""
    real_bins = {s.name: _discretize(real[s.name]) for s in real.specs if s.numeric}
    synthetic_bins = {s.name: _discretize(synthetic[s.name]) for s in real.specs if s.numeric}
    scores: dict[tuple[str, str], float] = {}
    for a, b in itertools.combinations(real.specs, 2):
        if a.numeric and b.numeric:
            score = _correlation_similarity(
                real[a.name], real[b.name], synthetic[a.name], synthetic[b.name]
            )
        else:
            columns = []
            for spec in (a, b):
                if spec.numeric:
                    columns.append((real_bins[spec.name], synthetic_bins[spec.name]))
                else:
                    columns.append((_keys(real[spec.name]), _keys(synthetic[spec.name])))
            score = _contingency_similarity(columns[0], columns[1])
        if score is not None and not np.isnan(score):
            scores[(a.name, b.name)] = score
    return scores


def _correlation_similarity(
    real_a: np.ndarray, real_b: np.ndarray, synthetic_a: np.ndarray, synthetic_b: np.ndarray
) -> float | None:
    for column in (real_a, real_b, synthetic_a, synthetic_b):
        if len(np.unique(column[~np.isnan(column)])) == 1:
            return None  # SDMetrics refuses constant columns: the pair does not count
    both = ~np.isnan(real_a) & ~np.isnan(real_b)
    if both.sum() < 2:
        return None
    r_real = pearsonr(real_a[both], real_b[both]).statistic
    if not abs(r_real) > REAL_CORRELATION_THRESHOLD:
        return None
    both = ~np.isnan(synthetic_a) & ~np.isnan(synthetic_b)
    if both.sum() < 2:
        return None
    r_synthetic = pearsonr(synthetic_a[both], synthetic_b[both]).statistic
    if np.isnan(r_synthetic):
        return None
    return float(1 - abs(r_real - r_synthetic) / 2)


def _discretize(column: np.ndarray) -> np.ndarray | None:
    present = column[~np.isnan(column)]
    if len(present) == 0:
        return None
    # NaN lands past the last edge, in a bin of its own, as numpy.digitize puts it.
    return np.digitize(column, bins=np.histogram_bin_edges(present)).astype(object)


def _keys(column: np.ndarray) -> np.ndarray:
    out = np.empty(len(column), dtype=object)
    out[:] = [_MISSING if v is None else v for v in column.tolist()]
    return out


def _contingency_similarity(
    first: tuple[np.ndarray | None, np.ndarray | None],
    second: tuple[np.ndarray | None, np.ndarray | None],
) -> float | None:
    (real_a, synthetic_a), (real_b, synthetic_b) = first, second
    if real_a is None or real_b is None or synthetic_a is None or synthetic_b is None:
        return None
    real_joint = Counter(zip(real_a.tolist(), real_b.tolist(), strict=True))
    rows = sorted({a for a, _ in real_joint}, key=repr)
    cols = sorted({b for _, b in real_joint}, key=repr)
    if min(len(rows), len(cols)) < 2:
        return None
    table = np.array([[real_joint.get((r, c), 0) for c in cols] for r in rows])
    if not association(table, method="cramer") > REAL_ASSOCIATION_THRESHOLD:
        return None
    synthetic_joint = Counter(zip(synthetic_a.tolist(), synthetic_b.tolist(), strict=True))
    n_real, n_synthetic = len(real_a), len(synthetic_a)
    variation = sum(
        abs(real_joint.get(k, 0) / n_real - synthetic_joint.get(k, 0) / n_synthetic)
        for k in set(real_joint) | set(synthetic_joint)
    )
    return float(1 - variation / 2)


def evaluate(
    train: Table,
    holdout: Table,
    synthetic: Table,
    *,
    target: str | None,
    seed: int = 0,
    copies: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The evaluation report for ``synthetic`` rows of a generator fitted on ``train``.

    Fidelity is scored against the hold-out, rows neither generator saw: ``quality`` is the
    synthetic rows against the hold-out, ``real_ceiling`` the training rows against the same
    hold-out (what fresh real rows reach; no generator can be expected to beat that).
    ``utility`` (with a target) or ``discriminator`` (without one) says whether the rows keep
    the relationships between columns.
    """
    from .discriminate import discriminator
    from .privacy import privacy
    from .utility import utility

    report: dict[str, Any] = {
        "rows": {"train": train.n_rows, "holdout": holdout.n_rows, "synthetic": synthetic.n_rows},
        "quality": quality(holdout, synthetic),
        "quality_basis": "synthetic rows scored against the hold-out (rows no generator saw)",
        "real_ceiling": quality(holdout, train)["score"],
        "real_ceiling_basis": "the training rows scored against the same hold-out",
        "privacy": privacy(train, holdout, synthetic, seed=seed, copies=copies),
    }
    if target is not None:
        report["utility"] = utility(train, holdout, synthetic, target=target, seed=seed)
    else:
        report["discriminator"] = discriminator(holdout, synthetic, seed=seed)
    return report
