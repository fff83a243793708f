"""The result every labeling task type's aggregator returns. Pure: no Django imports.

Labels come in as parallel arrays, one entry per label given (``tasks[i]`` was labelled by
``workers[i]``, dense 0-based indexes), with each type's own payload. Whatever the type, the
aggregator answers with:

- ``answers[t]``: the aggregated answer of task t (its shape is the type's; None where a task
  has no labels and no gold answer);
- ``confidence[t]``: the probability (for ``text``: the score) that this answer is right;
- ``label_prob[i]``: the probability (score) that label i is right, the weight for its reward;
- ``skill[w]``: worker w's estimated skill in [0, 1], the mean of ``label_prob`` over their
  labels (NaN for a worker with no labels), so one number reads the same across task types.

Each type adds its own fields (per-box and per-span posteriors, candidate scores) to a subclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TASK_TYPES = ("classification", "boxes", "spans", "pairwise", "text")


@dataclass(frozen=True)
class Aggregate:
    """One aggregation's answers, confidences, per-label probabilities and worker skills."""

    answers: Sequence[Any]
    confidence: FloatArray
    label_prob: FloatArray
    skill: FloatArray
    iterations: int


def check_index(values: npt.ArrayLike, name: str, bound: int) -> IntArray:
    """``values`` as a 1-D int64 array of indexes in [0, bound); ValueError otherwise."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, not {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= bound):
        raise ValueError(f"{name} must lie in [0, {bound}); found {array.min()}..{array.max()}")
    return array


def check_labels(
    tasks: npt.ArrayLike, workers: npt.ArrayLike, n_tasks: int, n_workers: int, n_labels: int
) -> tuple[IntArray, IntArray]:
    """Checked task and worker indexes for ``n_labels`` labels."""
    if n_tasks < 0 or n_workers < 0:
        raise ValueError("n_tasks and n_workers must be >= 0")
    t = check_index(tasks, "tasks", n_tasks)
    w = check_index(workers, "workers", n_workers)
    if not len(t) == len(w) == n_labels:
        raise ValueError(
            f"tasks, workers and labels differ in length: {len(t)}, {len(w)}, {n_labels}"
        )
    return t, w


def mean_by(index: IntArray, values: FloatArray, n: int) -> FloatArray:
    """Mean of ``values`` grouped by ``index`` (NaN for a group with none)."""
    counts = np.bincount(index, minlength=n)
    sums = np.bincount(index, weights=values, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
