"""Consensus labels from many labelers: majority vote and Dawid–Skene. Pure: no Django imports.

Inputs are a sparse list of labels as three parallel integer arrays, one entry per label
given: ``tasks[i]`` was labelled ``labels[i]`` by ``workers[i]``, all dense 0-based indexes
(``n_tasks``, ``n_workers``, ``n_classes`` bound them). A worker may label a task more than once;
each label counts.

Dawid–Skene (Dawid & Skene 1979) models each worker by a confusion matrix
``confusion[w, true, observed]`` (rows sum to 1) and the classes by a prior, and fits both by EM
from a majority-vote start. Everything is vectorised through one sparse task × (worker, label)
count matrix ``A``: the E-step is ``A @ log(confusion)`` and the M-step ``Aᵀ @ probs``, so an
iteration costs O(n_labels · K) time and memory stays O(n_labels + n_workers·K² + n_tasks·K).

Gold tasks (known answers) are clamped to their class in every iteration, so they calibrate the
confusion matrices and always come out with their gold label at posterior 1.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Floor for probabilities before a log: keeps an unused class or a never-seen (worker, label)
# pair finite, as crowd-kit's clip does, so a row of log-likelihoods is never all -inf.
_FLOOR = 1e-10


@dataclass(frozen=True)
class Consensus:
    """One aggregation's result.

    ``labels[t]`` is the chosen class (-1 for a task with no labels and no gold answer),
    ``posterior[t]`` its probability (0.0 where there is none), ``probs[t]`` the distribution
    over classes (each row sums to 1; a task without labels gets the priors under Dawid–Skene,
    uniform under majority vote). ``confusion[w, true, observed]`` is None for majority vote.
    ``worker_accuracy[w]`` is the prior-weighted diagonal of the confusion matrix (majority vote:
    the share of the worker's labels that agree with the chosen label), NaN for a worker with no
    labels. ``iterations`` is the number of EM iterations run (0 for majority vote).
    """

    labels: IntArray
    posterior: FloatArray
    probs: FloatArray
    n_labels: IntArray
    priors: FloatArray
    confusion: FloatArray | None
    worker_accuracy: FloatArray
    iterations: int


@dataclass(frozen=True)
class MultiConsensus:
    """Multi-choice result: ``probs[t, k]`` that class k applies to task t (an independent
    binary Dawid–Skene per class), ``present = probs >= 0.5`` (all False for a task with no
    labels), ``worker_accuracy`` the mean over classes of each binary model's accuracy (NaN for a
    worker with no labels), ``iterations[k]`` per class."""

    probs: FloatArray
    present: npt.NDArray[np.bool_]
    n_labels: IntArray
    worker_accuracy: FloatArray
    iterations: IntArray


def _as_index(values: npt.ArrayLike, name: str, bound: int) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, not {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= bound):
        raise ValueError(f"{name} must lie in [0, {bound}); found {array.min()}..{array.max()}")
    return array


def _check(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    labels: npt.ArrayLike,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
) -> tuple[IntArray, IntArray, IntArray]:
    if n_tasks < 0 or n_workers < 0 or n_classes < 1:
        raise ValueError("n_tasks and n_workers must be >= 0 and n_classes >= 1")
    t = _as_index(tasks, "tasks", n_tasks)
    w = _as_index(workers, "workers", n_workers)
    y = _as_index(labels, "labels", n_classes)
    if not len(t) == len(w) == len(y):
        raise ValueError(
            f"tasks, workers and labels differ in length: {len(t)}, {len(w)}, {len(y)}"
        )
    return t, w, y


def _check_gold(
    gold: Mapping[int, int] | None, n_tasks: int, n_classes: int
) -> tuple[IntArray, IntArray]:
    if not gold:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    g_tasks = np.fromiter((int(k) for k in gold), np.int64, len(gold))
    g_labels = np.fromiter((int(v) for v in gold.values()), np.int64, len(gold))
    if g_tasks.min() < 0 or g_tasks.max() >= n_tasks:
        raise ValueError(f"gold task indexes must lie in [0, {n_tasks})")
    if g_labels.min() < 0 or g_labels.max() >= n_classes:
        raise ValueError(f"gold labels must lie in [0, {n_classes})")
    return g_tasks, g_labels


def _choose(probs: FloatArray, has_answer: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
    # argmax takes the first maximum: ties go to the lowest class index, deterministically.
    chosen = probs.argmax(axis=1)
    posterior = np.take_along_axis(probs, chosen[:, None], axis=1)[:, 0]
    return np.where(has_answer, chosen, -1), np.where(has_answer, posterior, 0.0)


def majority_vote(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    labels: npt.ArrayLike,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    gold: Mapping[int, int] | None = None,
) -> Consensus:
    """The most voted class per task; ties go to the lowest class index; posterior = vote share.

    Gold tasks get their known class at posterior 1 (and workers are scored against it there).
    """
    t, w, y = _check(tasks, workers, labels, n_tasks, n_workers, n_classes)
    g_tasks, g_labels = _check_gold(gold, n_tasks, n_classes)
    k = n_classes
    votes = np.bincount(t * k + y, minlength=n_tasks * k).reshape(n_tasks, k).astype(np.float64)
    n_labels = votes.sum(axis=1).astype(np.int64)
    answered = n_labels > 0
    probs = np.full((n_tasks, k), 1.0 / k)
    probs[answered] = votes[answered] / n_labels[answered, None]
    probs[g_tasks] = 0.0
    probs[g_tasks, g_labels] = 1.0
    answered[g_tasks] = True
    chosen, posterior = _choose(probs, answered)
    priors = probs[answered].mean(axis=0) if answered.any() else np.full(k, 1.0 / k)
    per_worker = np.bincount(w, minlength=n_workers)
    agree = np.bincount(w, weights=(chosen[t] == y).astype(np.float64), minlength=n_workers)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(per_worker > 0, agree / per_worker, np.nan)
    return Consensus(chosen, posterior, probs, n_labels, priors, None, accuracy, 0)


def _log_confusion_rows(confusion: FloatArray) -> FloatArray:
    """``log confusion`` as a (worker·observed, true) matrix: the E-step's right operand."""
    w, k, _ = confusion.shape
    logs = np.log(np.maximum(confusion, _FLOOR))
    return np.ascontiguousarray(logs.transpose(0, 2, 1).reshape(w * k, k))


def dawid_skene(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    labels: npt.ArrayLike,
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    gold: Mapping[int, int] | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.01,
) -> Consensus:
    """Dawid–Skene by EM, started from the majority-vote shares (as crowd-kit's is).

    Each iteration is an M-step (confusion matrices from the current class probabilities, with
    ``smoothing`` pseudo-counts per cell; priors the mean of the probabilities over tasks with
    labels or gold) then an E-step, so the returned ``confusion`` and ``priors`` are exactly the
    ones that produced ``probs`` (``posterior_for_task`` reproduces a task's row from them).
    It stops after ``max_iter`` iterations or when the log-likelihood per label improves by less
    than ``tol``. Gold tasks are clamped to a one-hot row on their class after every E-step, and
    the first M-step weighs the gold answers up (see ``_gold_start``); without gold this is
    crowd-kit's algorithm.
    """
    t, w, y = _check(tasks, workers, labels, n_tasks, n_workers, n_classes)
    if smoothing < 0 or max_iter < 1:
        raise ValueError("smoothing must be >= 0 and max_iter >= 1")
    g_tasks, g_labels = _check_gold(gold, n_tasks, n_classes)
    k = n_classes
    start = majority_vote(t, w, y, n_tasks, n_workers, n_classes, gold=gold)
    n_labels = start.n_labels
    active = n_labels > 0
    active[g_tasks] = True
    n_active = int(active.sum())
    gold_mask = np.zeros(n_tasks, bool)
    gold_mask[g_tasks] = True
    free = active & ~gold_mask

    # A[t, w·K + y] = how many times worker w said y on task t (duplicates summed).
    a = sparse.csr_matrix(
        (np.ones(len(t)), (t, w * k + y)), shape=(n_tasks, n_workers * k), dtype=np.float64
    )
    a_t = a.T.tocsr()
    probs = start.probs

    previous = -np.inf
    iterations = 0
    priors = np.full(k, 1.0 / k)
    confusion = np.full((n_workers, k, k), 1.0 / k)
    for iterations in range(1, max_iter + 1):
        # M-step. counts[w, true, observed] = Σ over w's labels "observed" of P(task is true).
        counts = (a_t @ probs).reshape(n_workers, k, k).transpose(0, 2, 1)
        if iterations == 1 and len(g_tasks):
            counts = _gold_start(counts, a_t, g_tasks, g_labels, n_tasks, n_workers, k)
        counts += smoothing
        confusion = counts / np.maximum(counts.sum(axis=2, keepdims=True), _FLOOR)
        priors = (probs[active].sum(axis=0) + smoothing) / (n_active + k * smoothing)
        # E-step in log space; rows shifted by their max before exp so nothing underflows.
        log_lik = a @ _log_confusion_rows(confusion) + np.log(np.maximum(priors, _FLOOR))
        shift = log_lik.max(axis=1, keepdims=True)
        probs = np.exp(log_lik - shift)
        totals = probs.sum(axis=1, keepdims=True)
        probs /= totals
        ll = float((np.log(totals[free, 0]) + shift[free, 0]).sum())
        ll += float(log_lik[g_tasks, g_labels].sum())
        probs[g_tasks] = 0.0
        probs[g_tasks, g_labels] = 1.0
        ll /= max(len(t), 1)
        if ll - previous < tol:
            break
        previous = ll

    chosen, posterior = _choose(probs, active)
    per_worker = np.bincount(w, minlength=n_workers)
    diagonal = np.diagonal(confusion, axis1=1, axis2=2)
    accuracy = np.where(per_worker > 0, diagonal @ priors, np.nan)
    return Consensus(chosen, posterior, probs, n_labels, priors, confusion, accuracy, iterations)


def _gold_start(
    counts: FloatArray,
    a_t: sparse.csr_matrix,
    g_tasks: IntArray,
    g_labels: IntArray,
    n_tasks: int,
    n_workers: int,
    k: int,
) -> FloatArray:
    """First confusion counts: the majority-vote counts plus the gold answers' counts, scaled to
    weigh as much as all the rest together.

    Clamping gold tasks alone cannot pull EM out of the mode a systematically wrong majority
    sets up at the majority-vote start (the other tasks outweigh the gold ones); weighing the
    gold answers up in the first M-step can. A blend rather than gold alone, so a worker with few
    gold answers keeps the majority vote's view of the classes their gold did not cover.
    """
    one_hot = np.zeros((n_tasks, k))
    one_hot[g_tasks, g_labels] = 1.0
    gold_counts = (a_t @ one_hot).reshape(n_workers, k, k).transpose(0, 2, 1)
    weight = counts.sum() / max(gold_counts.sum(), 1.0)
    return counts + weight * gold_counts


def symmetric_confusion(n_classes: int, accuracy: float) -> FloatArray:
    """The confusion matrix of a worker right with probability ``accuracy``, wrong uniformly."""
    if n_classes == 1:
        return np.ones((1, 1))
    off = (1.0 - accuracy) / (n_classes - 1)
    return np.full((n_classes, n_classes), off) + np.eye(n_classes) * (accuracy - off)


def posterior_for_task(
    workers: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    confusion: FloatArray | None = None,
    priors: FloatArray | None = None,
    n_classes: int | None = None,
    default_accuracy: float = 0.7,
) -> FloatArray:
    """Class probabilities of one task from its labels under an already fitted model.

    ``workers[i]`` said ``labels[i]``. A worker index of -1 or beyond ``confusion`` (a labeler
    the model has not seen), or every worker when ``confusion`` is None, gets the symmetric
    confusion matrix with ``default_accuracy`` on the diagonal. Priors default to uniform.
    ``n_classes`` is needed only when neither ``confusion`` nor ``priors`` is given.
    """
    if confusion is not None:
        confusion = np.asarray(confusion, dtype=np.float64)
        k = confusion.shape[1]
    elif priors is not None:
        k = len(priors)
    elif n_classes is not None:
        k = n_classes
    else:
        raise ValueError("give confusion, priors or n_classes")
    if not 0.0 < default_accuracy < 1.0 and k > 1:
        raise ValueError("default_accuracy must lie strictly between 0 and 1")
    w = np.asarray(workers, dtype=np.int64).reshape(-1)
    y = _as_index(labels, "labels", k)
    if len(w) != len(y):
        raise ValueError("workers and labels differ in length")
    prior = np.full(k, 1.0 / k) if priors is None else np.asarray(priors, dtype=np.float64)
    if prior.shape != (k,):
        raise ValueError(f"priors must hold {k} probabilities, one per class")
    n_known = 0 if confusion is None else len(confusion)
    known = (w >= 0) & (w < n_known)
    log_default = np.log(np.maximum(symmetric_confusion(k, default_accuracy), _FLOOR))
    log_lik = np.log(np.maximum(prior, _FLOOR)) + log_default[:, y[~known]].sum(axis=1)
    if confusion is not None and known.any():
        log_lik += np.log(np.maximum(confusion[w[known], :, y[known]], _FLOOR)).sum(axis=0)
    probs = np.exp(log_lik - log_lik.max())
    return probs / probs.sum()


def dawid_skene_multi(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    chosen: npt.ArrayLike,
    n_tasks: int,
    n_workers: int,
    *,
    gold: Mapping[int, Collection[int]] | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.01,
) -> MultiConsensus:
    """Multi-choice consensus: an independent binary Dawid–Skene per class.

    ``chosen`` is an (n_labels, n_classes) boolean matrix: row i is the set of classes worker
    ``workers[i]`` ticked on ``tasks[i]`` (an empty row means "none applies" and still counts as
    a "no" for every class). ``gold`` maps a task to the set of classes that apply to it.
    """
    ticks = np.asarray(chosen, dtype=bool)
    if ticks.ndim != 2 or ticks.shape[1] < 1:
        raise ValueError("chosen must be an (n_labels, n_classes) matrix")
    n_classes = ticks.shape[1]
    if gold and any(not 0 <= c < n_classes for classes in gold.values() for c in classes):
        raise ValueError(f"gold classes must lie in [0, {n_classes})")
    probs = np.zeros((n_tasks, n_classes))
    accuracy = np.zeros((n_classes, n_workers))
    iterations = np.zeros(n_classes, np.int64)
    n_labels = np.zeros(n_tasks, np.int64)
    for c in range(n_classes):
        class_gold = None
        if gold:
            class_gold = {task: int(c in classes) for task, classes in gold.items()}
        result = dawid_skene(
            tasks,
            workers,
            ticks[:, c].astype(np.int64),
            n_tasks,
            n_workers,
            2,
            gold=class_gold,
            max_iter=max_iter,
            tol=tol,
            smoothing=smoothing,
        )
        probs[:, c] = result.probs[:, 1]
        accuracy[c] = result.worker_accuracy
        iterations[c] = result.iterations
        n_labels = result.n_labels
    answered = n_labels > 0
    if gold:
        answered[list(gold)] = True
    present = (probs >= 0.5) & answered[:, None]
    with np.errstate(invalid="ignore"):
        worker_accuracy = accuracy.mean(axis=0)
    return MultiConsensus(probs, present, n_labels, worker_accuracy, iterations)
