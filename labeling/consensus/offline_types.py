"""Offline aggregation from CSV for the task types beyond classification (the
``aggregate_labels --task`` command). Pure: no Django imports.

Labels come as CSV with ``task,worker,label`` (pairwise: ``task,worker,left,right,label``),
columns in any order and matched case-insensitively, as ``offline.read_labels`` reads them:

- boxes: ``label`` is a JSON list of boxes, each ``[x, y, w, h, "class"]`` or
  ``{"x", "y", "w", "h", "label"}`` in pixels; optional ``width`` and ``height`` columns give
  the image's size (COCO lists it, YOLO needs it);
- spans: ``label`` is a JSON list of ``[start, end, "class"]`` or ``{"start", "end",
  "label"}`` character ranges (end exclusive); an optional ``text`` column holds the text
  (its words become the tokens, and CoNLL needs it);
- pairwise: ``left`` and ``right`` name the candidates, ``label`` is left, right or tie;
- text: ``label`` is the transcription.

Gold answers come as ``task,label`` in the same label format. Tasks, workers and candidates
are numbered in order of first appearance, classes sorted, so a file's row order does not
change the result.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from labeling.consensus.boxes import aggregate_boxes
from labeling.consensus.exports import (
    coco_json,
    conll,
    pairwise_jsonl,
    spans_jsonl,
    text_jsonl,
    yolo_txt,
)
from labeling.consensus.offline import _rows, safe_cell
from labeling.consensus.pairwise import OUTCOMES, PairwiseResult, aggregate_pairwise
from labeling.consensus.result import Aggregate
from labeling.consensus.spans import aggregate_spans
from labeling.consensus.text import aggregate_texts

TYPES = ("boxes", "spans", "pairwise", "text")
FORMATS = {
    "boxes": ("csv", "coco", "yolo"),
    "spans": ("csv", "jsonl", "conll"),
    "pairwise": ("csv", "jsonl"),
    "text": ("csv", "jsonl"),
}


@dataclass
class TypedLabels:
    """Labels of one task type read from CSV, as dense indexes and parsed payloads."""

    task_type: str
    tasks: list[int] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)
    payload: list[Any] = field(default_factory=list)
    task_ids: dict[str, int] = field(default_factory=dict)
    worker_ids: dict[str, int] = field(default_factory=dict)
    class_names: dict[str, int] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)

    def classes(self) -> list[str]:
        return sorted(self.class_names)


def _json_list(text: str, where: str, what: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: label is not valid JSON ({exc.msg})") from None
    if not isinstance(value, list):
        raise ValueError(f"{where}: label must be a JSON list of {what}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a number")
    return float(value)


def _parse_box(item: Any, where: str, names: dict[str, int]) -> tuple[float, ...]:
    if isinstance(item, dict):
        keys = ("x", "y", "w", "h")
        if any(k not in item for k in keys) or not ("label" in item or "class" in item):
            raise ValueError(f"{where}: a box needs x, y, w, h and label")
        values = [item[k] for k in keys] + [item.get("label", item.get("class"))]
    elif isinstance(item, list) and len(item) == 5:
        values = item
    else:
        raise ValueError(f'{where}: a box is [x, y, w, h, "class"] or an object')
    x, y, w, h = (_number(v, where) for v in values[:4])
    if w <= 0 or h <= 0:
        raise ValueError(f"{where}: a box needs a positive width and height")
    return (x, y, w, h, names.setdefault(str(values[4]), len(names)))


def _parse_span(item: Any, where: str, names: dict[str, int]) -> tuple[int, int, int]:
    if isinstance(item, dict):
        if "start" not in item or "end" not in item or "label" not in item:
            raise ValueError(f"{where}: a span needs start, end and label")
        values = [item["start"], item["end"], item["label"]]
    elif isinstance(item, list) and len(item) == 3:
        values = item
    else:
        raise ValueError(f'{where}: a span is [start, end, "class"] or an object')
    start, end = values[0], values[1]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise ValueError(f"{where}: span offsets must be integers")
    if not 0 <= start < end:
        raise ValueError(f"{where}: span ({start}, {end}) must have 0 <= start < end")
    return (start, end, names.setdefault(str(values[2]), len(names)))


def _payload(labels: TypedLabels, text: str, where: str) -> Any:
    if labels.task_type == "boxes":
        boxes = _json_list(text, where, "boxes")
        return [_parse_box(item, where, labels.class_names) for item in boxes]
    if labels.task_type == "spans":
        spans = _json_list(text, where, "spans")
        return [_parse_span(item, where, labels.class_names) for item in spans]
    if labels.task_type == "pairwise":
        if text.lower() not in OUTCOMES:
            raise ValueError(f"{where}: label {text!r} must be left, right or tie")
        return OUTCOMES.index(text.lower())
    return text


def read_typed_labels(source: TextIO, task_type: str, *, name: str = "labels") -> TypedLabels:
    """Read one task type's labels; ``ValueError`` naming the line for a bad file or label."""
    if task_type not in TYPES:
        raise ValueError(f"unknown task type {task_type!r}: expected one of {', '.join(TYPES)}")
    labels = TypedLabels(task_type)
    columns = ("task", "worker", "left", "right", "label") if task_type == "pairwise" else (
        "task", "worker", "label")  # fmt: skip
    optional = {"boxes": ("width", "height"), "spans": ("text",)}.get(task_type, ())
    for line, values in _rows(source, columns, name, optional):
        where = f"{name}: line {line}"
        task = labels.task_ids.setdefault(values[0], len(labels.task_ids))
        labels.tasks.append(task)
        labels.workers.append(labels.worker_ids.setdefault(values[1], len(labels.worker_ids)))
        payload = _payload(labels, values[len(columns) - 1], where)
        if task_type == "pairwise":
            left, right = values[2], values[3]
            if left == right:
                raise ValueError(f"{where}: left and right are the same candidate {left!r}")
            pair = tuple(
                labels.candidates.setdefault(c, len(labels.candidates)) for c in (left, right)
            )
            payload = (*pair, payload)
        elif task_type == "boxes" and (values[3] or values[4]):
            try:
                size = (int(values[3]), int(values[4]))
            except ValueError:
                raise ValueError(f"{where}: width and height must be whole numbers") from None
            labels.sizes[task] = size
        elif task_type == "spans" and values[3]:
            labels.texts[task] = values[3]
        labels.payload.append(payload)
    if not labels.tasks:
        raise ValueError(f"{name}: no labels after the header")
    if task_type in ("boxes", "spans"):
        # Classes in sorted order: re-number the payloads read in order of appearance.
        rank = {
            index: position
            for position, (_, index) in enumerate(sorted(labels.class_names.items()))
        }
        labels.payload = [[(*item[:-1], rank[item[-1]]) for item in p] for p in labels.payload]
        labels.class_names = {n: rank[i] for n, i in labels.class_names.items()}
    if task_type == "pairwise":
        first: dict[int, tuple[int, int]] = {}
        for line_no, (task, (left, right, _)) in enumerate(
            zip(labels.tasks, labels.payload, strict=True), start=2
        ):
            if first.setdefault(task, (left, right)) not in ((left, right), (right, left)):
                raise ValueError(
                    f"{name}: near line {line_no}: task compares other candidates than before"
                )
    return labels


def read_typed_gold(source: TextIO, labels: TypedLabels, *, name: str = "gold") -> dict[int, Any]:
    """Gold answers ``task,label`` as {task index: payload}; tasks nobody labelled are skipped,
    classes nobody used and a task given twice are refused."""
    gold: dict[int, Any] = {}
    known = dict(labels.class_names)
    for line, (task, text) in _rows(source, ("task", "label"), name):
        where = f"{name}: line {line}"
        payload = _payload(labels, text, where)
        if len(labels.class_names) != len(known):
            new = sorted(set(labels.class_names) - set(known))
            raise ValueError(f"{where}: gold class {new[0]!r} is not among the labels' classes")
        if task not in labels.task_ids:
            continue
        index = labels.task_ids[task]
        if index in gold:
            raise ValueError(f"{where}: task {task!r} already has a gold answer")
        # A pairwise gold outcome reads left and right as the task's first label gives them.
        gold[index] = payload
    return gold


def aggregate_typed(
    labels: TypedLabels, *, gold: dict[int, Any] | None = None, iou_threshold: float = 0.5,
    overlapping: bool = False,
) -> Aggregate:  # fmt: skip
    """Run the task type's aggregator on the labels."""
    n_tasks, n_workers = len(labels.task_ids), len(labels.worker_ids)
    tasks, workers = np.asarray(labels.tasks), np.asarray(labels.workers)
    if labels.task_type == "boxes":
        return aggregate_boxes(tasks, workers, labels.payload, n_tasks, n_workers,
                               max(len(labels.class_names), 1), iou_threshold=iou_threshold,
                               gold=gold)  # fmt: skip
    if labels.task_type == "spans":
        texts = None
        if labels.texts:
            if len(labels.texts) != n_tasks:
                raise ValueError("the text column must be filled for every task or none")
            texts = [labels.texts[t] for t in range(n_tasks)]
        return aggregate_spans(tasks, workers, labels.payload, n_tasks, n_workers,
                               max(len(labels.class_names), 1), texts=texts,
                               overlapping=overlapping, gold=gold)  # fmt: skip
    if labels.task_type == "pairwise":
        left, right, outcome = np.asarray(labels.payload, np.int64).reshape(-1, 3).T
        return aggregate_pairwise(tasks, workers, left, right, outcome, n_tasks, n_workers,
                                  len(labels.candidates), gold=gold)  # fmt: skip
    return aggregate_texts(tasks, workers, labels.payload, n_tasks, n_workers, gold=gold)


def write_typed(output: TextIO, labels: TypedLabels, result: Aggregate, fmt: str = "csv") -> None:
    """Write the result: CSV ``task,answer,confidence`` (boxes and spans: the answer as JSON
    with class names; pairwise: ``candidate,score,stderr,rank,confidence``, best first), or
    the type's export format (``coco``, ``jsonl``, ``conll``; YOLO: ``write_yolo``)."""
    if fmt not in FORMATS[labels.task_type] or fmt == "yolo":
        raise ValueError(
            f"format {fmt!r} is not one of {', '.join(FORMATS[labels.task_type])} here"
        )
    task_ids = list(labels.task_ids)
    classes = labels.classes()
    if fmt == "coco":
        sizes = [labels.sizes.get(t) for t in range(len(task_ids))]
        json.dump(coco_json(task_ids, result.answers, classes, sizes=sizes), output)
        output.write("\n")
        return
    if fmt == "conll":
        if len(labels.texts) != len(task_ids):
            raise ValueError("CoNLL needs the text column filled for every task")
        output.write(
            conll(
                task_ids, [labels.texts[t] for t in range(len(task_ids))], result.answers, classes
            )
        )
        return
    if fmt == "jsonl":
        if labels.task_type == "spans":
            texts = (
                [labels.texts[t] for t in range(len(task_ids))]
                if len(labels.texts) == len(task_ids)
                else None
            )
            output.write(
                spans_jsonl(task_ids, result.answers, classes, result.confidence, texts=texts)
            )
        elif labels.task_type == "text":
            output.write(text_jsonl(task_ids, result.answers, result.confidence))
        else:
            output.write(pairwise_jsonl(*_pairwise_rows(labels, result)))  # type: ignore[arg-type]
        return
    writer = csv.writer(output, lineterminator="\r\n")
    if isinstance(result, PairwiseResult):
        writer.writerow(["candidate", "score", "stderr", "rank", "confidence"])
        for name, score, stderr, rank, conf in sorted(
            _pairwise_rows(labels, result)[1], key=lambda r: r[3]
        ):
            writer.writerow([safe_cell(name), f"{score:.6f}", f"{stderr:.6f}", rank, f"{conf:.6f}"])
        return
    writer.writerow(["task", "answer", "confidence"])
    for task, answer, conf in zip(
        task_ids, result.answers, result.confidence.tolist(), strict=True
    ):
        writer.writerow(
            [safe_cell(task), safe_cell(_answer_text(labels, answer, classes)), f"{conf:.6f}"]
        )


def _answer_text(labels: TypedLabels, answer: Any, classes: Sequence[str]) -> str:
    if answer is None:
        return ""
    if labels.task_type == "boxes":
        return json.dumps([
            {"x": round(x, 2), "y": round(y, 2), "w": round(w, 2), "h": round(h, 2),
             "label": classes[c], "score": round(p, 6)}
            for x, y, w, h, c, p in answer
        ])  # fmt: skip
    if labels.task_type == "spans":
        return json.dumps([{"start": s, "end": e, "label": classes[c], "score": round(p, 6)}
                           for s, e, c, p in answer])  # fmt: skip
    return str(answer)


def _pairwise_rows(labels: TypedLabels, result: Aggregate) -> tuple[list[Any], list[Any]]:
    assert isinstance(result, PairwiseResult)
    names = list(labels.candidates)
    pair: dict[int, tuple[int, int]] = {}
    for task, (left, right, _) in zip(labels.tasks, labels.payload, strict=True):
        pair.setdefault(task, (left, right))
    comparisons = [
        (task, names[pair[i][0]], names[pair[i][1]],
         None if result.answers[i] is None else OUTCOMES[result.answers[i]],
         float(result.confidence[i]))
        for i, task in enumerate(labels.task_ids)
    ]  # fmt: skip
    candidates = [
        (name, float(result.scores[k]), float(result.stderr[k]), int(result.rank[k]),
         float(result.rank_confidence[k]))
        for k, name in enumerate(names)
    ]  # fmt: skip
    return comparisons, candidates


def write_yolo(directory: Path, labels: TypedLabels, result: Aggregate) -> int:
    """One ``<task>.txt`` per image (ids made file-safe) and ``classes.txt``, in ``directory``
    (created); every image needs its width and height. Returns the number of files written."""
    missing = [t for t, i in labels.task_ids.items() if i not in labels.sizes]
    if missing:
        raise ValueError(f"YOLO needs the width and height columns; none for image {missing[0]!r}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "classes.txt").write_text("".join(f"{c}\n" for c in labels.classes()))
    for task, index in labels.task_ids.items():
        safe = (
            "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(task).stem) or "image"
        )
        width, height = labels.sizes[index]
        (directory / f"{safe}.txt").write_text(yolo_txt(result.answers[index], width, height))
    return len(labels.task_ids) + 1


def aggregate_typed_csv(
    labels_path: Path, task_type: str, *, gold_path: Path | None = None,
    iou_threshold: float = 0.5, overlapping: bool = False,
) -> tuple[TypedLabels, Aggregate, int]:  # fmt: skip
    """Read labels (and gold) of one task type and aggregate them; returns the labels, the
    result and the number of gold tasks used. Everything is read before anything is written."""
    with open(labels_path, encoding="utf-8-sig", newline="") as source:
        labels = read_typed_labels(source, task_type, name=str(labels_path))
    gold = None
    if gold_path is not None:
        with open(gold_path, encoding="utf-8-sig", newline="") as source:
            gold = read_typed_gold(source, labels, name=str(gold_path))
    result = aggregate_typed(
        labels, gold=gold, iou_threshold=iou_threshold, overlapping=overlapping
    )
    return labels, result, len(gold or {})
