"""Aggregated answers in the formats their users expect. Pure: no Django imports; every
writer returns text (or, for COCO, a JSON-ready dict) and writes no file.

- boxes: COCO detection JSON (``coco_json``) and YOLO txt, one file per image (``yolo_txt``);
- spans: JSONL (``spans_jsonl``) and CoNLL with BIO tags over whitespace tokens (``conll``);
- pairwise: JSONL of the comparisons then of the candidates' fitted scores
  (``pairwise_jsonl``);
- text: JSONL (``text_jsonl``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

_WORD = re.compile(r"\S+")
# Per task, how it was reviewed: its review state ("accepted", "fixed", "sent_back" or None)
# and how many times it was sent back for more labels.
Reviewed = tuple[str | None, int]


def _review(reviews: Sequence[Reviewed] | None, i: int) -> dict[str, Any]:
    if reviews is None:
        return {}
    state, sent_back = reviews[i]
    return {"review": state, "sent_back": int(sent_back)}


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def coco_json(
    image_ids: Sequence[str],
    answers: Sequence[Sequence[Sequence[Any]] | None],
    classes: Sequence[str],
    *,
    sizes: Sequence[tuple[int, int] | None] | None = None,
) -> dict[str, Any]:
    """COCO detection results: ``images`` (id, file_name, and width/height where known),
    ``annotations`` (bbox ``[x, y, w, h]`` in pixels, area, category, ``score``) and
    ``categories``. Ids are 1-based; an image without an answer is listed with no boxes."""
    images, annotations = [], []
    for index, (name, boxes) in enumerate(zip(image_ids, answers, strict=True), start=1):
        image: dict[str, Any] = {"id": index, "file_name": name}
        size = sizes[index - 1] if sizes is not None else None
        if size is not None:
            image["width"], image["height"] = int(size[0]), int(size[1])
        images.append(image)
        for x, y, w, h, label, *score in boxes or []:
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": index,
                "category_id": int(label) + 1,
                "bbox": [round(float(v), 2) for v in (x, y, w, h)],
                "area": round(float(w) * float(h), 2),
                "iscrowd": 0,
                "score": round(float(score[0]), 6) if score else 1.0,
            })  # fmt: skip
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    return {"images": images, "annotations": annotations, "categories": categories}


def yolo_txt(boxes: Sequence[Sequence[Any]] | None, width: float, height: float) -> str:
    """One image's YOLO label file: ``class cx cy w h`` per box, normalised to [0, 1] by the
    image's size (clipped to the image), six decimals."""
    if width <= 0 or height <= 0:
        raise ValueError("YOLO needs the image's width and height")
    lines = []
    for x, y, w, h, label, *_ in boxes or []:
        x0, y0 = min(max(float(x), 0.0), width), min(max(float(y), 0.0), height)
        x1 = min(max(float(x) + float(w), 0.0), width)
        y1 = min(max(float(y) + float(h), 0.0), height)
        lines.append(
            f"{int(label)} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
            f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}\n"
        )
    return "".join(lines)


def spans_jsonl(
    task_ids: Sequence[str],
    answers: Sequence[Sequence[Sequence[Any]] | None],
    classes: Sequence[str],
    confidence: npt.ArrayLike,
    *,
    texts: Sequence[str] | None = None,
    reviews: Sequence[Reviewed] | None = None,
) -> str:
    """One line per task: ``task``, ``text`` (when known), ``spans`` (start, end, label,
    score), ``confidence`` and (when known) ``review`` and ``sent_back``; tasks without an
    answer are left out."""
    out = []
    for i, (task, spans) in enumerate(zip(task_ids, answers, strict=True)):
        if spans is None:
            continue
        record: dict[str, Any] = {"task": task}
        if texts is not None:
            record["text"] = texts[i]
        record["spans"] = [
            {"start": int(s), "end": int(e), "label": classes[int(c)], "score": round(float(p), 6)}
            for s, e, c, p in spans
        ]
        record["confidence"] = round(float(confidence[i]), 6)  # type: ignore[index]
        record.update(_review(reviews, i))
        out.append(_line(record))
    return "".join(out)


def conll(
    task_ids: Sequence[str],
    texts: Sequence[str],
    answers: Sequence[Sequence[Sequence[Any]] | None],
    classes: Sequence[str],
    *,
    reviews: Sequence[Reviewed] | None = None,
) -> str:
    """CoNLL: a ``# task = ID`` line (with ``reviews``, then ``# review = STATE`` and
    ``# sent_back = N`` lines, ``none`` for an item never reviewed), then ``token<TAB>tag`` per
    whitespace token with BIO tags, then a blank line, per task with an answer. A token is
    inside a span when the span covers any of its characters; where spans overlap, the
    higher-scoring one tags it."""
    out = []
    for i, (task, text, spans) in enumerate(zip(task_ids, texts, answers, strict=True)):
        if spans is None:
            continue
        out.append(f"# task = {task}\n")
        if reviews is not None:
            state, sent_back = reviews[i]
            out.append(f"# review = {state or 'none'}\n# sent_back = {int(sent_back)}\n")
        ranked = sorted(spans, key=lambda s: -float(s[3]) if len(s) > 3 else 0.0)
        previous = None
        for match in _WORD.finditer(text):
            start, end = match.span()
            span = next((s for s in ranked if s[0] < end and s[1] > start), None)
            if span is None:
                tag = "O"
            else:
                prefix = "I" if previous is not None and previous == tuple(span) else "B"
                tag = f"{prefix}-{classes[int(span[2])]}"
            previous = None if span is None else tuple(span)
            out.append(f"{match.group()}\t{tag}\n")
        out.append("\n")
    return "".join(out)


def pairwise_jsonl(
    comparisons: Sequence[tuple[str, str, str, str | None, float]],
    candidates: Sequence[tuple[str, float, float, int, float]],
    *,
    reviews: Sequence[Reviewed] | None = None,
) -> str:
    """JSONL: one ``{"kind": "comparison", task, left, right, answer, confidence}`` line per
    comparison (answer: "left", "right", "tie", or null; with ``reviews``, also ``review`` and
    ``sent_back``), then one ``{"kind": "candidate", candidate, score, stderr, rank,
    confidence}`` line per candidate, best first."""
    out = [
        _line(
            {
                "kind": "comparison",
                "task": task,
                "left": left,
                "right": right,
                "answer": answer,
                "confidence": round(float(conf), 6),
                **_review(reviews, i),
            }
        )
        for i, (task, left, right, answer, conf) in enumerate(comparisons)
    ]
    for name, score, stderr, rank, conf in sorted(candidates, key=lambda c: c[3]):
        out.append(_line({"kind": "candidate", "candidate": name, "score": round(float(score), 6),
                          "stderr": round(float(stderr), 6), "rank": int(rank),
                          "confidence": round(float(conf), 6)}))  # fmt: skip
    return "".join(out)


def text_jsonl(
    task_ids: Sequence[str],
    answers: Sequence[str | None],
    confidence: npt.ArrayLike,
    *,
    reviews: Sequence[Reviewed] | None = None,
) -> str:
    """One ``{"task", "text", "confidence"}`` line per task with an answer (with ``reviews``,
    also ``review`` and ``sent_back``)."""
    return "".join(
        _line({"task": task, "text": text, "confidence": round(float(confidence[i]), 6),  # type: ignore[index]
               **_review(reviews, i)})
        for i, (task, text) in enumerate(zip(task_ids, answers, strict=True))
        if text is not None
    )  # fmt: skip
