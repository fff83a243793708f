"""Simulated crowds with known truth for the task types beyond classification (boxes, spans,
pairwise, text), for tests/labeling/test_label_types.py and bench/labeling_types.py.

Every crowd mixes four kinds of labelers, in shares set by ``mix`` (good, mediocre, biased,
spammer): good ones are careful, mediocre ones noisy, biased ones wrong in one systematic way
(loose boxes and one class swapped; spans one token too long and one class swapped; a
preference for the left candidate; always dropping short words), spammers random. Workers are
assigned kinds in order, so worker 0 is a good one when ``mix[0] > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
KINDS = ("good", "mediocre", "biased", "spammer")
MIX = (0.35, 0.3, 0.15, 0.2)


@dataclass(frozen=True)
class TypedCrowd:
    """Labels as parallel arrays plus ``payload[i]`` (the type's label), and the truth."""

    tasks: IntArray
    workers: IntArray
    payload: list[Any]
    truth: list[Any]
    kinds: list[str]  # per worker
    n_tasks: int
    n_workers: int
    extra: dict[str, Any]


def _kinds(n_workers: int, mix: tuple[float, ...]) -> list[str]:
    counts = np.floor(np.asarray(mix) / sum(mix) * n_workers).astype(int)
    counts[0] += n_workers - counts.sum()
    return [kind for kind, n in zip(KINDS, counts, strict=True) for _ in range(n)]


def _assign(
    rng: np.random.Generator, n_tasks: int, n_workers: int, overlap: tuple[int, int]
) -> tuple[IntArray, IntArray]:
    per_task = rng.integers(overlap[0], overlap[1] + 1, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), per_task)
    workers = np.concatenate(
        [rng.choice(n_workers, size=k, replace=False) for k in per_task.tolist()]
    )
    return tasks.astype(np.int64), workers.astype(np.int64)


def simulate_boxes(
    n_tasks: int = 200,
    n_workers: int = 20,
    *,
    n_classes: int = 4,
    overlap: tuple[int, int] = (4, 6),
    mix: tuple[float, ...] = MIX,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> TypedCrowd:
    """Images with 0–5 objects; a label is a list of ``(x, y, w, h, class)`` boxes in pixels."""
    rng = np.random.default_rng(seed)
    kinds = _kinds(n_workers, mix)
    width, height = size
    truth = []
    for _ in range(n_tasks):
        boxes = []
        for _ in range(int(rng.integers(0, 6))):
            w, h = rng.uniform(30, 220), rng.uniform(30, 180)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            boxes.append((x, y, w, h, int(rng.integers(n_classes))))
        truth.append(boxes)
    tasks, workers = _assign(rng, n_tasks, n_workers, overlap)
    # (recall, edge jitter as a share of the box's size, class accuracy, false boxes per image)
    params = {
        "good": (0.95, 0.04, 0.95, 0.05),
        "mediocre": (0.8, 0.15, 0.75, 0.3),
        "biased": (0.9, 0.05, 0.95, 0.1),
    }
    payload: list[Any] = []
    for task, worker in zip(tasks.tolist(), workers.tolist(), strict=True):
        kind = kinds[worker]
        drawn = []
        if kind == "spammer":
            for _ in range(int(rng.integers(0, 5))):
                w, h = rng.uniform(20, 250), rng.uniform(20, 200)
                drawn.append(
                    (rng.uniform(0, width - w), rng.uniform(0, height - h), w, h,
                     int(rng.integers(n_classes)))
                )  # fmt: skip
            payload.append(drawn)
            continue
        recall, jitter, class_acc, false_rate = params[kind]
        for x, y, w, h, c in truth[task]:
            if rng.random() > recall:
                continue
            x0, y0, x1, y1 = x, y, x + w, y + h
            if kind == "biased":  # loose boxes: 12% wider on every side
                x0, y0, x1, y1 = x0 - 0.12 * w, y0 - 0.12 * h, x1 + 0.12 * w, y1 + 0.12 * h
            x0, x1 = x0 + rng.normal(0, jitter * w), x1 + rng.normal(0, jitter * w)
            y0, y1 = y0 + rng.normal(0, jitter * h), y1 + rng.normal(0, jitter * h)
            if kind == "biased" and c == 0:
                label = 1
            elif rng.random() < class_acc:
                label = c
            else:
                label = int((c + rng.integers(1, n_classes)) % n_classes)
            drawn.append((min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0), label))
        if rng.random() < false_rate:
            w, h = rng.uniform(20, 150), rng.uniform(20, 150)
            drawn.append(
                (rng.uniform(0, width - w), rng.uniform(0, height - h), w, h,
                 int(rng.integers(n_classes)))
            )  # fmt: skip
        payload.append(drawn)
    return TypedCrowd(
        tasks, workers, payload, truth, kinds, n_tasks, n_workers,
        {"n_classes": n_classes, "size": size},
    )  # fmt: skip


def _word(rng: np.random.Generator, low: int = 2, high: int = 9) -> str:
    letters = rng.integers(97, 123, size=int(rng.integers(low, high + 1)))
    return "".join(map(chr, letters.tolist()))


def _without_overlaps(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The spans in order, each one overlapping an earlier one dropped (labelers' tools
    usually forbid overlaps)."""
    kept: list[tuple[int, int, int]] = []
    for span in sorted(spans):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def simulate_spans(
    n_tasks: int = 200,
    n_workers: int = 20,
    *,
    n_classes: int = 3,
    overlap: tuple[int, int] = (3, 5),
    mix: tuple[float, ...] = MIX,
    seed: int = 0,
) -> TypedCrowd:
    """Texts of 15–35 words with 1–4 entities of 1–3 words; a label is a list of
    ``(start, end, class)`` character ranges on word boundaries. ``extra["texts"]``."""
    rng = np.random.default_rng(seed)
    kinds = _kinds(n_workers, mix)
    texts: list[str] = []
    starts_of: list[list[int]] = []
    truth: list[list[tuple[int, int, int]]] = []  # in words: (first, last + 1, class)
    for _ in range(n_tasks):
        words = [_word(rng) for _ in range(int(rng.integers(15, 36)))]
        text = " ".join(words)
        offsets = np.concatenate([[0], np.cumsum([len(x) + 1 for x in words])[:-1]]).tolist()
        spans: list[tuple[int, int, int]] = []
        taken = np.zeros(len(words), bool)
        for _ in range(int(rng.integers(1, 5))):
            n = int(rng.integers(1, 4))
            first = int(rng.integers(0, len(words) - n))
            if taken[max(first - 1, 0) : first + n + 1].any():
                continue
            taken[first : first + n] = True
            spans.append((first, first + n, int(rng.integers(n_classes))))
        texts.append(text)
        starts_of.append(offsets)
        truth.append(sorted(spans))
    tasks, workers = _assign(rng, n_tasks, n_workers, overlap)
    # (recall, chance a boundary is off by one word, class accuracy, false spans per text)
    params = {
        "good": (0.95, 0.05, 0.95, 0.05),
        "mediocre": (0.75, 0.25, 0.7, 0.4),
        "biased": (0.9, 0.05, 0.95, 0.1),
    }

    def chars(task: int, first: int, stop: int) -> tuple[int, int]:
        offsets, text = starts_of[task], texts[task]
        end = offsets[stop] - 1 if stop < len(offsets) else len(text)
        return offsets[first], end

    payload: list[Any] = []
    for task, worker in zip(tasks.tolist(), workers.tolist(), strict=True):
        kind = kinds[worker]
        n_words = len(starts_of[task])
        out = []
        if kind == "spammer":
            for _ in range(int(rng.integers(0, 5))):
                first = int(rng.integers(0, n_words - 1))
                stop = min(n_words, first + int(rng.integers(1, 4)))
                out.append((*chars(task, first, stop), int(rng.integers(n_classes))))
            payload.append(_without_overlaps(out))
            continue
        recall, shift, class_acc, false_rate = params[kind]
        for first, stop, c in truth[task]:
            if rng.random() > recall:
                continue
            if rng.random() < shift:
                first = min(max(first + int(rng.choice([-1, 1])), 0), stop - 1)
            if rng.random() < shift:
                stop = max(min(stop + int(rng.choice([-1, 1])), n_words), first + 1)
            if kind == "biased":
                stop = min(stop + 1, n_words)
                label = 1 if c == 0 else c
            elif rng.random() < class_acc:
                label = c
            else:
                label = int((c + rng.integers(1, n_classes)) % n_classes)
            out.append((*chars(task, first, stop), label))
        if rng.random() < false_rate:
            first = int(rng.integers(0, n_words - 1))
            out.append((*chars(task, first, first + 1), int(rng.integers(n_classes))))
        payload.append(_without_overlaps(out))
    token_truth = []
    for task, spans in enumerate(truth):
        tags = np.full(len(starts_of[task]), -1, np.int64)
        for first, stop, c in spans:
            tags[first:stop] = c
        token_truth.append(tags)
    return TypedCrowd(
        tasks, workers, payload, token_truth, kinds, n_tasks, n_workers,
        {"n_classes": n_classes, "texts": texts},
    )  # fmt: skip


def simulate_pairwise(
    n_candidates: int = 60,
    n_comparisons: int = 2_000,
    n_workers: int = 20,
    *,
    ties: float = 0.0,
    mix: tuple[float, ...] = MIX,
    seed: int = 0,
) -> TypedCrowd:
    """Comparisons of random candidate pairs, each its own task; ``payload[i]`` is
    ``(left, right, outcome)`` with outcome 0 = left, 1 = right, 2 = tie. A careful labeler
    says tie with probability ``ties`` when the two true scores are within 0.3. ``truth`` is the
    candidates' true scores."""
    rng = np.random.default_rng(seed)
    kinds = _kinds(n_workers, mix)
    scores = rng.normal(0, 1.5, size=n_candidates)
    left = rng.integers(n_candidates, size=n_comparisons)
    right = (left + rng.integers(1, n_candidates, size=n_comparisons)) % n_candidates
    workers = rng.integers(n_workers, size=n_comparisons)
    kind = np.asarray(kinds)[workers]
    diff = scores[left] - scores[right]
    sharpness = np.select([kind == "good", kind == "mediocre"], [3.0, 0.8], 1.5)
    says_left = rng.random(n_comparisons) < 1 / (1 + np.exp(-sharpness * diff))
    biased_left = rng.random(n_comparisons) < 0.5  # half the time: left, whatever it is
    says_left = np.where((kind == "biased") & biased_left, True, says_left)
    says_left = np.where(kind == "spammer", rng.random(n_comparisons) < 0.5, says_left)
    outcome = np.where(says_left, 0, 1)
    tie = (kind != "spammer") & (np.abs(diff) < 0.3) & (rng.random(n_comparisons) < ties)
    outcome = np.where(tie, 2, outcome)
    payload = list(zip(left.tolist(), right.tolist(), outcome.tolist(), strict=True))
    return TypedCrowd(
        np.arange(n_comparisons), workers.astype(np.int64), payload, scores.tolist(), kinds,
        n_comparisons, n_workers, {"n_candidates": n_candidates},
    )  # fmt: skip


def simulate_text(
    n_tasks: int = 200,
    n_workers: int = 20,
    *,
    overlap: tuple[int, int] = (4, 6),
    mix: tuple[float, ...] = MIX,
    vocabulary: int = 1_500,
    seed: int = 0,
) -> TypedCrowd:
    """Sentences of 5–20 words from a Zipf-like vocabulary; transcriptions with per-word typos,
    wrong words, drops and extra words at each kind's rate; spammers type random words."""
    rng = np.random.default_rng(seed)
    kinds = _kinds(n_workers, mix)
    vocab = [_word(rng, 1, 10) for _ in range(vocabulary)]
    freq = 1.0 / np.arange(1, vocabulary + 1)
    freq /= freq.sum()
    truth = [
        " ".join(vocab[i] for i in rng.choice(vocabulary, size=int(rng.integers(5, 21)), p=freq))
        for _ in range(n_tasks)
    ]
    tasks, workers = _assign(rng, n_tasks, n_workers, overlap)
    error = {"good": 0.04, "mediocre": 0.25, "biased": 0.06}

    def typo(word: str) -> str:
        at = int(rng.integers(len(word)))
        return word[:at] + chr(int(rng.integers(97, 123))) + word[at + 1 :]

    payload: list[Any] = []
    for task, worker in zip(tasks.tolist(), workers.tolist(), strict=True):
        kind = kinds[worker]
        words = truth[task].split()
        if kind == "spammer":
            n = int(rng.integers(1, 15))
            payload.append(" ".join(vocab[i] for i in rng.choice(vocabulary, size=n, p=freq)))
            continue
        rate = error[kind]
        out = []
        for word in words:
            if kind == "biased" and len(word) <= 3:
                continue  # drops every short word
            draw = rng.random()
            if draw < rate * 0.4:
                out.append(typo(word))
            elif draw < rate * 0.6:
                out.append(vocab[int(rng.choice(vocabulary, p=freq))])
            elif draw < rate * 0.8:
                continue
            elif draw < rate:
                out.extend([word, vocab[int(rng.choice(vocabulary, p=freq))]])
            else:
                out.append(word)
        payload.append(" ".join(out))
    return TypedCrowd(tasks, workers, payload, truth, kinds, n_tasks, n_workers, {})
