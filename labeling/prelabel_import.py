"""Streaming parser for pre-label imports (JSON Lines). Pure: no Django imports.

One object per line: ``{"id": <task id>}`` or ``{"external_id": <the id the item was
imported with>}``, and ``"prediction"`` (the answer in the dataset's shape, as a labeler would
submit it: a label name or a list, boxes, spans, ``left``/``right``/``tie`` or a text),
optionally ``"model_version"`` and ``"score"`` (the model's confidence, 0 to 1). The answer is
checked against its item when the batch is stored (``services.prelabels``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from labeling.importer import MAX_KEY, _Counting, _records

MAX_MODEL_VERSION = 100


@dataclass(frozen=True)
class ImportedPrediction:
    line: int
    task_id: int | None  # by the task's own id ...
    key: str  # ... or by its source key (``id:<external id>``), "" when by id
    prediction: Any  # as given; parsed against the item when stored
    model_version: str
    score: float | None


def prediction_record(line: int, record: dict[str, Any]) -> ImportedPrediction:
    task_id: int | None = None
    key = ""
    if "id" in record:
        raw = record["id"]
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
            raise ValueError("'id' must be a task id (a whole number)")
        task_id = int(raw)
    elif "external_id" in record:
        external = str(record["external_id"] or "").strip()
        if not external or len(external) > MAX_KEY:
            raise ValueError(f"'external_id' must be a text of 1 to {MAX_KEY} characters")
        key = f"id:{external}"
    else:
        raise ValueError("name the item: 'id' (the task id) or 'external_id'")
    if record.get("prediction") is None:
        raise ValueError("'prediction' is missing")
    version = record.get("model_version", "")
    if not isinstance(version, str) or len(version) > MAX_MODEL_VERSION:
        raise ValueError(f"'model_version' must be a text of at most {MAX_MODEL_VERSION} chars")
    score = record.get("score")
    if score is not None:
        ok = isinstance(score, int | float) and not isinstance(score, bool)
        if not ok or not math.isfinite(score) or not 0 <= score <= 1:
            raise ValueError("'score' must be a number from 0 to 1")
        score = float(score)
    return ImportedPrediction(
        line=line,
        task_id=task_id,
        key=key,
        prediction=record["prediction"],
        model_version=version,
        score=score,
    )


def iter_prediction_batches(
    raw: BinaryIO, *, batch: int = 2000
) -> Iterator[tuple[list[ImportedPrediction], list[str], int]]:
    """Yield ``(predictions, errors, bytes_read)`` per batch. Errors name the line and problem."""
    counter = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
    found: list[ImportedPrediction] = []
    bad: list[str] = []
    for line, record, error in _records(text, "jsonl"):
        if error is None:
            try:
                found.append(prediction_record(line, record))
            except ValueError as exc:
                error = str(exc)
        if error is not None:
            bad.append(f"line {line}: {error}")
        if len(found) + len(bad) >= batch:
            yield found, bad, counter.count
            found, bad = [], []
    yield found, bad, counter.count
