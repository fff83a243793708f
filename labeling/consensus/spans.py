"""Spans of text (named entities and the like): character ranges, each with a class.
Aggregation is token-level and skill-weighted. Pure: no Django imports.

A label is the list of ``(start, end, class)`` ranges (``end`` exclusive) one worker marked on
one text. The text's tokens are its whitespace-separated words when the texts are given, or
else the pieces between every span boundary any labeler (or the gold answer) drew on it. Each
worker's label becomes one tag per token (the class of the span covering it, or "outside"),
and Dawid–Skene over (token, worker, tag) weighs each worker by their confusion matrix, the
"outside" tag included: a worker who marks too much or too little, or swaps two classes, is
discounted where they do. With overlapping spans allowed, every class is its own binary
Dawid–Skene instead (a token may be inside spans of several classes). The answer's spans are the
runs of consecutive tokens given the same class, each with its posterior (the mean of its
tokens' probabilities of that class). Two entities of one class that touch merge into one span:
the token tags carry no boundary between them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from labeling.consensus.dawid_skene import dawid_skene, dawid_skene_multi, majority_vote
from labeling.consensus.result import Aggregate, FloatArray, IntArray, check_labels, mean_by

Span = tuple[int, int, int]
ScoredSpan = tuple[int, int, int, float]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class SpansResult(Aggregate):
    """``answers[t]``: the consensus spans ``(start, end, class, posterior)`` in text order
    (None for a task with no labels and no gold); ``confidence[t]``: the mean probability of
    the chosen tag over the tokens that anyone (or the answer) put in a span, 1.0 for a text
    nobody marked; ``label_prob[i]``: the same mean for label i's own tags, over the tokens it
    or the answer put in a span (a label and answer both empty: the mean probability of
    "outside" over the text); ``token_bounds[t]``: the task's tokens as (n, 2) character
    ranges; ``token_probs[t]``: per token, the probability of each class (overlapping: that the
    class applies; otherwise a last column for "outside")."""

    token_bounds: list[IntArray]
    token_probs: list[FloatArray]


def _check_spans(spans: Sequence[Span], n_classes: int, overlapping: bool, where: str) -> None:
    ordered = sorted(spans)
    for start, end, label in ordered:
        if not 0 <= start < end:
            raise ValueError(f"{where}: span ({start}, {end}) must have 0 <= start < end")
        if not 0 <= label < n_classes:
            raise ValueError(f"{where}: class {label} must lie in [0, {n_classes})")
    if not overlapping:
        for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
            if start < end:
                raise ValueError(f"{where}: spans overlap, and this schema does not allow it")


def _tokens(
    t: IntArray, spans: Sequence[Sequence[Span]], gold: Mapping[int, Sequence[Span]],
    texts: Sequence[str] | None, n_tasks: int,
) -> list[IntArray]:  # fmt: skip
    if texts is not None:
        if len(texts) != n_tasks:
            raise ValueError(f"texts must hold one text per task ({n_tasks}), not {len(texts)}")
        return [
            np.array([m.span() for m in _WORD.finditer(text)], np.int64).reshape(-1, 2)
            for text in texts
        ]
    cuts: list[set[int]] = [set() for _ in range(n_tasks)]
    for task, label in zip(t.tolist(), spans, strict=True):
        for start, end, _ in label:
            cuts[task].update((start, end))
    for task, label in gold.items():
        for start, end, _ in label:
            cuts[task].update((start, end))
    bounds = []
    for points in cuts:
        edges = np.array(sorted(points), np.int64)
        bounds.append(np.stack([edges[:-1], edges[1:]], axis=1) if len(edges) > 1 else
                      np.zeros((0, 2), np.int64))  # fmt: skip
    return bounds


def _tag(
    bounds: IntArray, label: Sequence[Span], n_classes: int, overlapping: bool
) -> npt.NDArray[np.int64]:
    """Per token: the class of the span covering it, K for outside (overlapping: an (n, K)
    0/1 matrix). A token is covered when the span overlaps any of its characters."""
    k = n_classes
    tags = np.zeros((len(bounds), k), np.int64) if overlapping else np.full(len(bounds), k)
    if not len(label):
        return tags
    arr = np.asarray(label, np.int64).reshape(-1, 3)
    first = np.searchsorted(bounds[:, 1], arr[:, 0], side="right")
    stop = np.searchsorted(bounds[:, 0], arr[:, 1], side="left")
    for a, b, c in zip(first.tolist(), stop.tolist(), arr[:, 2].tolist(), strict=True):
        if overlapping:
            tags[a:b, c] = 1
        else:
            tags[a:b] = c
    return tags


def _runs(
    bounds: IntArray, probs: FloatArray, mask: npt.NDArray[np.bool_], cls: int
) -> list[ScoredSpan]:
    """Spans of ``cls`` over runs of consecutive tokens in ``mask``, with their mean
    probability (``probs``: the tokens' probability of ``cls``)."""
    inside = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(inside[1:] != inside[:-1])
    out = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        out.append((int(bounds[a, 0]), int(bounds[b - 1, 1]), cls, float(probs[a:b].mean())))
    return out


def aggregate_spans(
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    spans: Sequence[Sequence[Span]],
    n_tasks: int,
    n_workers: int,
    n_classes: int,
    *,
    texts: Sequence[str] | None = None,
    overlapping: bool = False,
    gold: Mapping[int, Sequence[Span]] | None = None,
    method: Literal["ds", "mv"] = "ds",
) -> SpansResult:
    """Token-level consensus of ``spans[i]``, worker ``workers[i]``'s spans on task
    ``tasks[i]``. ``texts`` (one per task) makes the tokens whitespace words; ``overlapping``
    allows a label's spans to overlap (refused otherwise); ``gold`` maps a task to its known
    spans; ``method="mv"`` is token-level majority vote (the baseline)."""
    t, w = check_labels(tasks, workers, n_tasks, n_workers, len(spans))
    if n_classes < 1:
        raise ValueError("n_classes must be >= 1")
    gold = {int(k): list(v) for k, v in (gold or {}).items()}
    if any(not 0 <= k < n_tasks for k in gold):
        raise ValueError(f"gold task indexes must lie in [0, {n_tasks})")
    for i, label in enumerate(spans):
        _check_spans(label, n_classes, overlapping, f"label {i}")
    for task, label in gold.items():
        _check_spans(label, n_classes, overlapping, f"gold of task {task}")
    bounds = _tokens(t, spans, gold, texts, n_tasks)
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in bounds])]).astype(np.int64)
    n_tokens = int(offsets[-1])
    k = n_classes
    per_label = [
        _tag(bounds[task], label, k, overlapping)
        for task, label in zip(t.tolist(), spans, strict=True)
    ]
    sizes = np.fromiter((len(bounds[task]) for task in t.tolist()), np.int64, len(t))
    token_of = (
        np.concatenate([np.arange(offsets[task], offsets[task + 1]) for task in t.tolist()])
        if len(t)
        else np.zeros(0, np.int64)
    )
    pair_worker = np.repeat(w, sizes)
    pair_label = np.repeat(np.arange(len(t)), sizes)
    gold_tags = {task: _tag(bounds[task], label, k, overlapping) for task, label in gold.items()}
    if overlapping:
        ticks = np.concatenate(per_label) if per_label else np.zeros((0, k), np.int64)
        gold_sets = {
            int(offsets[task]) + j: set(np.flatnonzero(row).tolist())
            for task, tags in gold_tags.items() for j, row in enumerate(tags)
        }  # fmt: skip
        multi = dawid_skene_multi(
            token_of, pair_worker, ticks.astype(bool), n_tokens, n_workers, gold=gold_sets
        )
        probs = multi.probs
        chosen = multi.present.astype(np.int64)
        iterations = int(multi.iterations.max()) if k else 0
        # Per (token, class) cell: the probability that the worker's tick (or not) is right.
        cell_right = np.where(ticks == 1, probs[token_of], 1.0 - probs[token_of])
        relevant = (ticks == 1) | (chosen[token_of] == 1)
        count = np.bincount(pair_label, weights=relevant.sum(axis=1), minlength=len(t))
        right = np.bincount(
            pair_label, weights=(cell_right * relevant).sum(axis=1), minlength=len(t)
        )
        fallback = np.bincount(pair_label, weights=cell_right.mean(axis=1), minlength=len(t))
    else:
        tags = np.concatenate(per_label) if per_label else np.zeros(0, np.int64)
        gold_tokens = {
            int(offsets[task]) + j: int(c)
            for task, g in gold_tags.items()
            for j, c in enumerate(g.tolist())
        }
        run = dawid_skene if method == "ds" else majority_vote
        result = run(token_of, pair_worker, tags, n_tokens, n_workers, k + 1, gold=gold_tokens)
        probs = result.probs
        chosen = np.where(result.labels >= 0, result.labels, k)
        iterations = result.iterations
        tag_right = probs[token_of, tags]
        relevant = (tags != k) | (chosen[token_of] != k)
        count = np.bincount(pair_label, weights=relevant, minlength=len(t))
        right = np.bincount(pair_label, weights=tag_right * relevant, minlength=len(t))
        fallback = np.bincount(pair_label, weights=tag_right, minlength=len(t))
    with np.errstate(invalid="ignore", divide="ignore"):
        label_prob = np.where(
            count > 0, right / np.maximum(count, 1), fallback / np.maximum(sizes, 1)
        )
    label_prob = np.where((count == 0) & (sizes == 0), 1.0, label_prob)

    has_answer = np.zeros(n_tasks, bool)
    has_answer[t] = True
    has_answer[list(gold)] = True
    marked = np.zeros(n_tokens, bool)
    if overlapping:
        np.logical_or.at(marked, token_of, (ticks == 1).any(axis=1))
        marked |= chosen.any(axis=1)
        tag_conf = np.where(chosen == 1, probs, 1.0 - probs).mean(axis=1)
    else:
        np.logical_or.at(marked, token_of, tags != k)
        marked |= chosen != k
        tag_conf = probs[np.arange(n_tokens), chosen]
    token_task = np.repeat(np.arange(n_tasks), np.diff(offsets))
    conf = np.ones(n_tasks)
    seen = np.bincount(token_task[marked], minlength=n_tasks) > 0
    conf[seen] = mean_by(token_task[marked], tag_conf[marked], n_tasks)[seen]
    answers: list[list[ScoredSpan] | None] = []
    token_probs: list[FloatArray] = []
    for task in range(n_tasks):
        lo, hi = int(offsets[task]), int(offsets[task + 1])
        token_probs.append(probs[lo:hi])
        if not has_answer[task]:
            answers.append(None)
            continue
        found: list[ScoredSpan] = []
        for c in range(k):
            inside = chosen[lo:hi, c] == 1 if overlapping else chosen[lo:hi] == c
            found += _runs(bounds[task], probs[lo:hi, c], inside, c)
        answers.append(sorted(found))
    return SpansResult(
        answers=answers,
        confidence=np.where(has_answer, conf, 0.0),
        label_prob=label_prob,
        skill=mean_by(w, label_prob, n_workers),
        iterations=iterations,
        token_bounds=bounds,
        token_probs=token_probs,
    )


def spans_gold_correct(
    answer: Sequence[Sequence[int]], gold: Sequence[Sequence[int]], *, min_iou: float = 0.9
) -> bool:
    """A check answer is right when its spans and the gold ones pair up one to one, each pair
    of the same class and overlapping by at least ``min_iou`` of their union of characters."""
    if len(answer) != len(gold):
        return False
    unused = [tuple(s[:3]) for s in gold]
    for start, end, label, *_ in answer:
        best = None
        for j, (g_start, g_end, g_label) in enumerate(unused):
            union = max(end, g_end) - min(start, g_start)
            inter = max(0, min(end, g_end) - max(start, g_start))
            if g_label == label and union > 0 and inter / union >= min_iou:
                best = j
                break
        if best is None:
            return False
        unused.pop(best)
    return True
