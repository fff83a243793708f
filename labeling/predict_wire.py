"""What a dataset's model server is sent and must answer (``services.predict``). Pure: no
Django imports.

Label Studio's ML backend is the model (``POST /predict`` with tasks, answered with one result
per task); here the answer names its items, so a server may answer some and leave others.

Request (JSON)::

    {"dataset": 12, "task_type": "classification", "labels": ["cat", "dog"],
     "multi_choice": false,
     "items": [{"id": 501, "kind": "text", "data": {"text": "..."}}, ...]}

``data`` is the item as stored: a text, a row's columns, a pair's prompt and candidates, an
image's or audio clip's IPFS CID (with an image's width and height where known).

Answer (JSON, 2xx)::

    {"predictions": [{"id": 501, "prediction": ["cat"], "model_version": "v3",
                      "score": 0.82}, ...]}

``prediction`` in the dataset's answer shape, as a pre-label import takes it
(``labeling.prelabel_import``): checked against its item when stored, a bad one counted and
named, never stored. Items left out are simply not pre-labelled this run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from labeling.prelabel_import import ImportedPrediction, prediction_record

# The most predictions one answer may carry, and its largest body (several boxes per image
# for a batch of 500 fits many times over).
MAX_ANSWER_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class SentItem:
    id: int
    kind: str
    data: dict[str, Any]


class BadAnswer(ValueError):
    """The answer as a whole is not one this module reads (not JSON, no ``predictions``)."""


def request_body(
    *, dataset_id: int, task_type: str, labels: tuple[str, ...], multi: bool, items: list[SentItem]
) -> bytes:
    return json.dumps(
        {
            "dataset": dataset_id,
            "task_type": task_type,
            "labels": list(labels),
            "multi_choice": multi,
            "items": [{"id": i.id, "kind": i.kind, "data": i.data} for i in items],
        },
        separators=(",", ":"),
    ).encode()


def parse_answer(body: bytes, sent: set[int]) -> tuple[list[ImportedPrediction], list[str]]:
    """(the predictions for items that were sent, problems by item or position). An answer
    that is not a JSON object with a ``predictions`` list is ``BadAnswer``."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadAnswer(f"the answer is not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("predictions"), list):
        raise BadAnswer('the answer must be a JSON object with a "predictions" list')
    found: dict[int, ImportedPrediction] = {}
    bad: list[str] = []
    for n, record in enumerate(document["predictions"], start=1):
        where = f"prediction {n}"
        if not isinstance(record, dict):
            bad.append(f"{where}: each prediction must be a JSON object")
            continue
        if "id" not in record:
            bad.append(f"{where}: name the item by its 'id'")
            continue
        try:
            parsed = prediction_record(n, record)
        except ValueError as exc:
            bad.append(f"{where}: {exc}")
            continue
        if parsed.task_id not in sent:
            bad.append(f"{where}: item {parsed.task_id} was not in the batch sent")
            continue
        found[parsed.task_id] = parsed  # type: ignore[index]  # a later one for an item wins
    return list(found.values()), bad
