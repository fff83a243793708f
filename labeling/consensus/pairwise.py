"""Pairwise comparisons: which of two candidates is better (or a tie). A noisy Bradley–Terry
model over all comparisons ranks every candidate and estimates each labeler's skill. Pure: no
Django imports.

Each comparison ``c`` puts candidate ``left[c]`` against ``right[c]``; the outcome is 0 (left
is better), 1 (right) or 2 (a tie). A labeler is a mixture: with probability ``ρ_w`` (their
reliability) they answer by the Bradley–Terry model with Davidson's ties,

    P(left) = π_l / x,  P(right) = π_r / x,  P(tie) = ν √(π_l π_r) / x,
    x = π_l + π_r + ν √(π_l π_r),  π = exp(score),

and otherwise they answer from their own fixed distribution over the three outcomes (a
spammer's coin, or a preference for the left side). It is crowd-kit's NoisyBT model with ties
added, fitted by EM rather than by gradient descent: the E-step gives each comparison its
posterior of coming from the reliable part, and the M-step sets the reliabilities and noise
distributions in closed form and takes a few minorise–maximise steps (Hunter 2004) on the
weighted Davidson likelihood. Every step is a handful of ``bincount`` calls over the
comparisons, so 10k comparisons fit in milliseconds. Each candidate plays α = 0.5 virtual
wins and losses against a reference of score 0, which keeps an unbeaten or never-winning
candidate's score finite.

The probability that an outcome is the right one: a tie is right with the probability
Davidson's model gives it at the fitted scores, ν / (2 cosh(Δ/2) + ν) with Δ the score
difference, and the rest is split between "left" and "right" by Φ(Δ/σ), σ being Δ's standard
error from the model's Fisher information.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from labeling.consensus.result import (
    Aggregate,
    FloatArray,
    IntArray,
    check_index,
    check_labels,
    mean_by,
)

LEFT, RIGHT, TIE = 0, 1, 2
OUTCOMES = ("left", "right", "tie")
_FLOOR = 1e-12
# Virtual wins and losses per candidate against a reference of score 0.
_ALPHA = 0.5
# Minorise–maximise steps on the scores per EM iteration.
_MM_STEPS = 3


@dataclass(frozen=True)
class PairwiseResult(Aggregate):
    """``answers[c]``: the outcome code (0 left, 1 right, 2 tie) the fitted scores make likeliest
    to be right (None without labels or gold); ``answer_probs[c]``: the probability of each
    outcome being right; ``scores[k]``: candidate k's score (log strength, mean 0) and
    ``stderr[k]`` its standard error; ``rank[k]``: its place, 0 the best;
    ``rank_confidence[k]``: the probability that it is rightly ordered against both its
    neighbours in the ranking; ``reliability[w]``: ρ_w; ``left_bias[w]``: the share of
    "left" in worker w's noise; ``tie_strength``: ν."""

    answer_probs: FloatArray
    scores: FloatArray
    stderr: FloatArray
    rank: IntArray
    rank_confidence: FloatArray
    reliability: FloatArray
    left_bias: FloatArray
    tie_strength: float


def _davidson(
    pi_l: FloatArray, pi_r: FloatArray, nu: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(P(left), P(right), P(tie), x) under Davidson's model."""
    root = np.sqrt(pi_l * pi_r)
    x = pi_l + pi_r + nu * root
    return pi_l / x, pi_r / x, nu * root / x, x


def outcome_probabilities(
    scores: FloatArray, stderr: FloatArray, left: IntArray, right: IntArray, tie_strength: float
) -> FloatArray:
    """(n, 3) probabilities that left, right or a tie is the right answer to each pair: a tie
    as likely as Davidson's model makes it at the fitted scores, the rest split by how sure the
    scores are of the order."""
    delta = scores[left] - scores[right]
    sigma = np.sqrt(stderr[left] ** 2 + stderr[right] ** 2)
    p_tie = tie_strength / (2.0 * np.cosh(delta / 2.0) + tie_strength)
    p_left = (1.0 - p_tie) * ndtr(delta / sigma)
    return np.stack([p_left, 1.0 - p_tie - p_left, p_tie], axis=1)


def pairwise_gold_correct(answer: int, gold: int) -> bool:
    """A check comparison is right when its outcome is the gold one."""
    return answer == gold


def aggregate_pairwise(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_tasks: int,
    n_workers: int,
    n_candidates: int,
    *,
    gold: Mapping[int, int] | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> PairwiseResult:
    """Fit the noisy Bradley–Terry model to labels ``i``: worker ``workers[i]`` compared
    ``left[i]`` with ``right[i]`` in task ``tasks[i]`` and said ``outcome[i]``. A task's
    answer and gold outcome read left and right as its first label orients the pair (later
    labels may show it swapped). ``gold`` maps a task to its known outcome: its labels count
    as reliable exactly when they match it, and the gold outcome itself counts once more in
    the scores. Stops after ``max_iter`` EM iterations or when the log-likelihood per
    comparison gains less than ``tol``."""
    y = check_index(outcome, "outcome", 3)
    t, w = check_labels(tasks, workers, n_tasks, n_workers, len(y))
    lc = check_index(left, "left", n_candidates)
    rc = check_index(right, "right", n_candidates)
    if not len(lc) == len(rc) == len(y):
        raise ValueError("left, right and outcome differ in length")
    if (lc == rc).any():
        raise ValueError("a candidate cannot be compared with itself")
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    gold = {int(k): int(v) for k, v in (gold or {}).items()}
    if any(not 0 <= k < n_tasks or v not in (LEFT, RIGHT, TIE) for k, v in gold.items()):
        raise ValueError(f"gold must map tasks in [0, {n_tasks}) to outcomes 0, 1 or 2")
    # The gold outcome of each labelled gold task, once, as an extra reliable comparison.
    gold_at = np.full(n_tasks, -1, np.int64)
    for task, answer in gold.items():
        gold_at[task] = answer
    # Each task's pair as its first label orients it (gold outcomes and answers read so).
    task_l = np.zeros(n_tasks, np.int64)
    task_r = np.ones(n_tasks, np.int64) % max(n_candidates, 1)
    task_l[t[::-1]], task_r[t[::-1]] = lc[::-1], rc[::-1]
    swapped = lc != task_l[t]
    is_gold = gold_at[t] >= 0
    label_gold = np.where(swapped & (gold_at[t] < TIE), 1 - gold_at[t], gold_at[t])
    first = np.unique(t[is_gold], return_index=True)[1]
    g_rows = np.flatnonzero(is_gold)[first]
    all_l = np.concatenate([lc, lc[g_rows]])
    all_r = np.concatenate([rc, rc[g_rows]])
    all_y = np.concatenate([y, label_gold[g_rows]])
    gold_right = np.where(is_gold, (y == label_gold).astype(np.float64), np.nan)

    n = len(y)
    any_tie = bool((all_y == TIE).any())
    log_pi = np.zeros(n_candidates)
    nu = 0.5 if any_tie else 0.0
    rho = np.full(n_workers, 0.8)
    counts = np.bincount(w * 3 + y, minlength=n_workers * 3).reshape(n_workers, 3) + 1.0
    noise = counts / counts.sum(axis=1, keepdims=True)
    previous = -np.inf
    iterations = 0
    r = np.ones(len(all_y))
    for iterations in range(1, max_iter + 1):
        pi = np.exp(log_pi)
        p_l, p_r, p_t, _ = _davidson(pi[all_l], pi[all_r], nu)
        p_bt = np.choose(all_y, [p_l, p_r, p_t])[:n]
        reliable = rho[w] * p_bt
        mixed = reliable + (1.0 - rho[w]) * noise[w, y]
        ll = float(np.log(np.maximum(mixed, _FLOOR)).sum()) / max(n, 1)
        r[:n] = np.where(is_gold, gold_right, reliable / np.maximum(mixed, _FLOOR))
        if ll - previous < tol and iterations > 1:
            break
        previous = ll
        # M-step: reliabilities and noise in closed form (a Beta(2, 1) and a Dirichlet(1) prior).
        rho = (np.bincount(w, weights=r[:n], minlength=n_workers) + 2.0) / (
            np.bincount(w, minlength=n_workers) + 3.0
        )
        unreliable = np.bincount(w * 3 + y, weights=1.0 - r[:n], minlength=n_workers * 3)
        noise = unreliable.reshape(n_workers, 3) + 1.0
        noise /= noise.sum(axis=1, keepdims=True)
        log_pi, nu = _mm(log_pi, nu, all_l, all_r, all_y, r, n_candidates, any_tie)
    scores = log_pi - log_pi.mean()
    pi = np.exp(scores)
    p_l, p_r, _, _ = _davidson(pi[all_l], pi[all_r], nu)
    p_win = p_l / np.maximum(p_l + p_r, _FLOOR)
    info = r * p_win * (1.0 - p_win)
    fisher = (
        np.bincount(all_l, weights=info, minlength=n_candidates)
        + np.bincount(all_r, weights=info, minlength=n_candidates)
        + 2 * _ALPHA * pi / (1.0 + pi) ** 2
    )
    stderr = 1.0 / np.sqrt(fisher)

    # Per task: its candidates (every label of a task compares the same two) and its answer.
    has_answer = np.zeros(n_tasks, bool)
    has_answer[t] = True
    answer_probs = np.zeros((n_tasks, 3))
    answer_probs[has_answer] = outcome_probabilities(
        scores, stderr, task_l[has_answer], task_r[has_answer], nu
    )
    g_tasks = np.flatnonzero(gold_at >= 0)
    answer_probs[g_tasks] = 0.0
    answer_probs[g_tasks, gold_at[g_tasks]] = 1.0
    has_answer[g_tasks] = True
    chosen = answer_probs.argmax(axis=1)
    confidence = np.where(has_answer, answer_probs.max(axis=1), 0.0)
    label_prob = outcome_probabilities(scores, stderr, lc, rc, nu)[np.arange(n), y]
    label_prob = np.where(is_gold, gold_right, label_prob)

    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n_candidates, np.int64)
    rank[order] = np.arange(n_candidates)
    gaps = scores[order][:-1] - scores[order][1:]
    sigma = np.sqrt(stderr[order][:-1] ** 2 + stderr[order][1:] ** 2)
    beats_next = ndtr(gaps / sigma)
    ordered_conf = np.ones(n_candidates)
    ordered_conf[:-1] *= beats_next
    ordered_conf[1:] *= beats_next
    rank_confidence = np.empty(n_candidates)
    rank_confidence[order] = ordered_conf
    return PairwiseResult(
        answers=[int(c) if a else None for c, a in zip(chosen, has_answer, strict=True)],
        confidence=confidence,
        label_prob=label_prob,
        skill=mean_by(w, label_prob, n_workers),
        iterations=iterations,
        answer_probs=answer_probs,
        scores=scores,
        stderr=stderr,
        rank=rank,
        rank_confidence=rank_confidence,
        reliability=rho,
        left_bias=noise[:, LEFT] / np.maximum(noise[:, LEFT] + noise[:, RIGHT], _FLOOR),
        tie_strength=float(nu),
    )


def _mm(
    log_pi: FloatArray,
    nu: float,
    left: IntArray,
    right: IntArray,
    outcome: IntArray,
    weight: FloatArray,
    n_candidates: int,
    any_tie: bool,
) -> tuple[FloatArray, float]:
    """A few minorise–maximise steps on the weighted Davidson likelihood (Hunter 2004)."""
    # float64 even without labels: bincount of nothing is int64 whatever its weights.
    won = np.bincount(
        np.concatenate([left[outcome == LEFT], right[outcome == RIGHT]]),
        weights=np.concatenate([weight[outcome == LEFT], weight[outcome == RIGHT]]),
        minlength=n_candidates,
    ).astype(np.float64, copy=False)
    tied = outcome == TIE
    won += 0.5 * (
        np.bincount(left[tied], weights=weight[tied], minlength=n_candidates)
        + np.bincount(right[tied], weights=weight[tied], minlength=n_candidates)
    )
    numerator = won + _ALPHA
    total_ties = float(weight[tied].sum())
    for _ in range(_MM_STEPS):
        # Scores stay within a few tens (the virtual games bound them), so exp cannot overflow.
        pi = np.exp(log_pi)
        pi_l, pi_r = pi[left], pi[right]
        root = np.sqrt(pi_l * pi_r)
        x = pi_l + pi_r + nu * root
        half = 0.5 * nu * root
        denominator = (
            np.bincount(left, weights=weight * (pi_l + half) / (x * pi_l), minlength=n_candidates)
            + np.bincount(
                right, weights=weight * (pi_r + half) / (x * pi_r), minlength=n_candidates
            )
            + 2 * _ALPHA / (pi + 1.0)
        )
        log_pi = np.log(numerator / denominator)
        if any_tie:
            nu = total_ties / max(float((weight * root / x).sum()), _FLOOR)
    return log_pi, nu
