"""Inter-annotator agreement and accuracy against gold. Pure: no Django imports.

Inputs are the same sparse label arrays as ``dawid_skene`` (``tasks[i]`` got class
``labels[i]``); who gave a label does not matter to these measures, so workers are not taken.
Everything goes through an n_tasks × n_classes count matrix, never a workers × tasks matrix.
A measure that is undefined (too few paired labels, a single class used: 0/0) is None, never NaN.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import numpy.typing as npt
from statsmodels.stats.inter_rater import fleiss_kappa as _statsmodels_fleiss_kappa

# krippendorff.alpha(value_counts=...) builds several n_units × K × K temporaries (at 1M tasks
# and 10 classes, ~3 GB). Above this many cells we compute the same coincidence matrix in
# O(n_units · K) with one matrix product instead; tests check the two agree.
PACKAGE_MAX_CELLS = 4_000_000


def value_counts(
    tasks: npt.ArrayLike, labels: npt.ArrayLike, n_tasks: int, n_classes: int
) -> npt.NDArray[np.int64]:
    """``counts[t, c]`` = how many labels said class c for task t."""
    t = np.asarray(tasks, dtype=np.int64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(t) != len(y):
        raise ValueError(f"tasks and labels differ in length: {len(t)}, {len(y)}")
    if len(t) and (t.min() < 0 or t.max() >= n_tasks):
        raise ValueError(f"tasks must lie in [0, {n_tasks})")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    return np.bincount(t * n_classes + y, minlength=n_tasks * n_classes).reshape(n_tasks, n_classes)


def _alpha_from_counts(counts: npt.NDArray[np.int64]) -> float:
    """Nominal alpha from pairable units' value counts, as the package defines it."""
    pairable = counts.sum(axis=1)
    scaled = counts / (pairable - 1.0)[:, None]
    coincidences = scaled.T @ counts - np.diag(scaled.sum(axis=0))
    n_v = coincidences.sum(axis=0)
    n = n_v.sum()
    observed = n - np.trace(coincidences)
    expected = (n * n - (n_v * n_v).sum()) / (n - 1.0)
    return float(1.0 - observed / expected)


def krippendorff_alpha_nominal(
    tasks: npt.ArrayLike, labels: npt.ArrayLike, n_tasks: int, n_classes: int
) -> float | None:
    """Krippendorff's alpha for nominal labels; None when fewer than two labels share a task
    or only one class is ever used among the paired labels (alpha is then 0/0)."""
    counts = value_counts(tasks, labels, n_tasks, n_classes)
    # A unit with a single value has no pairs and adds nothing to the coincidences.
    counts = counts[counts.sum(axis=1) >= 2]
    if not len(counts) or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    if counts.size * n_classes <= PACKAGE_MAX_CELLS:
        alpha = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
    else:
        alpha = _alpha_from_counts(counts)
    return alpha if np.isfinite(alpha) else None


def fleiss_kappa(
    tasks: npt.ArrayLike, labels: npt.ArrayLike, n_tasks: int, n_classes: int
) -> tuple[float | None, int]:
    """Fleiss' kappa over the tasks with the modal number of labels (Fleiss needs the same
    number of raters per task; ties go to the larger count), and how many tasks that is.

    Tasks with fewer than two labels never count. ``(None, n)`` when fewer than two tasks
    qualify or every label is the same class (chance agreement is then 1: 0/0).
    """
    counts = value_counts(tasks, labels, n_tasks, n_classes)
    raters = counts.sum(axis=1)
    raters = raters[raters >= 2]
    if not len(raters):
        return None, 0
    histogram = np.bincount(raters)
    modal = len(histogram) - 1 - int(np.argmax(histogram[::-1]))
    table = counts[counts.sum(axis=1) == modal]
    used = len(table)
    if used < 2 or np.count_nonzero(table.sum(axis=0)) < 2:
        return None, used
    kappa = float(_statsmodels_fleiss_kappa(table, method="fleiss"))
    return (kappa if np.isfinite(kappa) else None), used


def gold_confusion(
    predicted: npt.ArrayLike, truth: npt.ArrayLike, n_classes: int
) -> npt.NDArray[np.int64]:
    """``confusion[true, predicted]`` counts over gold tasks; a prediction of -1 (a task with
    no consensus yet) is left out. Per-class accuracy is ``diag / confusion.sum(axis=1)``."""
    p = np.asarray(predicted, dtype=np.int64).reshape(-1)
    g = np.asarray(truth, dtype=np.int64).reshape(-1)
    if len(p) != len(g):
        raise ValueError(f"predicted and truth differ in length: {len(p)}, {len(g)}")
    keep = p >= 0
    p, g = p[keep], g[keep]
    if (len(p) and p.max() >= n_classes) or (len(g) and (g.min() < 0 or g.max() >= n_classes)):
        raise ValueError(f"classes must lie in [0, {n_classes})")
    return np.bincount(g * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )
