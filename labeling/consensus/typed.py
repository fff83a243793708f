"""The task types' aggregators over stored answers (``labeling.answers`` shapes): class names
become indexes on the way in and the consensus comes back in the stored shape, so the
per-task settle, the whole-dataset run and the exports share one conversion. Pure: no Django
imports.

Inputs are parallel, one entry per label: ``tasks[i]`` and ``workers[i]`` dense 0-based
indexes and ``values[i]`` the stored answer; ``items[t]`` is task t's payload (a text's
characters make the span tokens, a pair's candidate ids the Bradley–Terry players), and
``gold`` maps a task index to its stored gold answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labeling.consensus.boxes import aggregate_boxes
from labeling.consensus.pairwise import OUTCOMES, aggregate_pairwise
from labeling.consensus.result import FloatArray
from labeling.consensus.spans import aggregate_spans
from labeling.consensus.text import aggregate_texts

_SCORE_PLACES = 4


@dataclass(frozen=True)
class Candidate:
    """One pairwise candidate's fitted place: ``score`` (log strength, mean 0), its standard
    error, ``rank`` (0 the best) and the probability that it is rightly ordered against its
    neighbours."""

    id: str
    score: float
    stderr: float
    rank: int
    confidence: float


@dataclass(frozen=True)
class TypedResult:
    """``answers[t]`` in the stored shape (None for a task without labels or gold),
    ``confidence[t]``, ``label_prob[i]`` (the reward weight of label i), ``skill[w]``, and for
    pairwise every candidate's fitted place (best first)."""

    answers: list[Any]
    confidence: FloatArray
    label_prob: FloatArray
    skill: FloatArray
    iterations: int
    candidates: list[Candidate]


def _boxes_in(classes: Sequence[str], boxes: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    index = {name: i for i, name in enumerate(classes)}
    return [(b["x"], b["y"], b["w"], b["h"], index[b["label"]]) for b in boxes]


def _spans_in(classes: Sequence[str], spans: Sequence[Mapping[str, Any]]) -> list[tuple[int, ...]]:
    index = {name: i for i, name in enumerate(classes)}
    return [(int(s["start"]), int(s["end"]), index[s["label"]]) for s in spans]


def aggregate_typed(
    task_type: str,
    *,
    classes: Sequence[str],
    tasks: npt.ArrayLike,
    workers: npt.ArrayLike,
    values: Sequence[Any],
    n_tasks: int,
    n_workers: int,
    items: Sequence[Mapping[str, Any]],
    gold: Mapping[int, Any] | None = None,
    iou_threshold: float = 0.5,
    overlapping: bool = False,
) -> TypedResult:
    """Aggregate stored answers of one task type (see the module docstring)."""
    t = np.asarray(tasks, np.int64)
    w = np.asarray(workers, np.int64)
    gold = dict(gold or {})
    candidates: list[Candidate] = []
    if task_type == "boxes":
        result = aggregate_boxes(
            t, w, [_boxes_in(classes, v) for v in values], n_tasks, n_workers, len(classes),
            iou_threshold=iou_threshold,
            gold={k: _boxes_in(classes, v) for k, v in gold.items()},
        )  # fmt: skip
        answers = [
            None if a is None else [
                {"x": round(x, 2), "y": round(y, 2), "w": round(bw, 2), "h": round(bh, 2),
                 "label": classes[c], "score": round(p, _SCORE_PLACES)}
                for x, y, bw, bh, c, p in a
            ]
            for a in result.answers
        ]  # fmt: skip
    elif task_type == "spans":
        result = aggregate_spans(
            t, w, [_spans_in(classes, v) for v in values], n_tasks, n_workers, len(classes),
            texts=[str(item.get("text", "")) for item in items],
            overlapping=overlapping,
            gold={k: _spans_in(classes, v) for k, v in gold.items()},
        )  # fmt: skip
        answers = [
            None if a is None else [
                {"start": s, "end": e, "label": classes[c], "score": round(p, _SCORE_PLACES)}
                for s, e, c, p in a
            ]
            for a in result.answers
        ]  # fmt: skip
    elif task_type == "pairwise":
        ids: dict[str, int] = {}
        sides = []
        for item in items:
            left, right = str(item["left"]["id"]), str(item["right"]["id"])
            sides.append((ids.setdefault(left, len(ids)), ids.setdefault(right, len(ids))))
        side = np.asarray(sides, np.int64).reshape(-1, 2)
        outcome = np.fromiter((OUTCOMES.index(v) for v in values), np.int64, len(values))
        result = aggregate_pairwise(
            t, w, side[t, 0], side[t, 1], outcome, n_tasks, n_workers, len(ids),
            gold={k: OUTCOMES.index(v) for k, v in gold.items()},
        )  # fmt: skip
        answers = [None if a is None else OUTCOMES[a] for a in result.answers]
        names = list(ids)
        candidates = sorted(
            (
                Candidate(
                    id=names[k],
                    score=float(result.scores[k]),
                    stderr=float(result.stderr[k]),
                    rank=int(result.rank[k]),
                    confidence=float(result.rank_confidence[k]),
                )
                for k in range(len(names))
            ),
            key=lambda c: c.rank,
        )
    elif task_type == "text":
        result = aggregate_texts(
            t, w, [str(v) for v in values], n_tasks, n_workers,
            gold={k: str(v) for k, v in gold.items()},
        )  # fmt: skip
        answers = list(result.answers)
    else:
        raise ValueError(f"unknown task type {task_type!r}")
    return TypedResult(
        answers=answers,
        confidence=np.asarray(result.confidence, np.float64),
        label_prob=np.asarray(result.label_prob, np.float64),
        skill=np.asarray(result.skill, np.float64),
        iterations=int(result.iterations),
        candidates=candidates,
    )
