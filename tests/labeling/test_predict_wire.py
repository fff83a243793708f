"""The model server's wire format (``labeling.predict_wire``), pure: what is sent, and how an
answer is read (bad entries named, not fatal; a bad document refused as a whole)."""

from __future__ import annotations

import json

import pytest

from labeling import predict_wire


def test_the_request_carries_the_items_and_the_label_set() -> None:
    body = predict_wire.request_body(
        dataset_id=3,
        task_type="boxes",
        labels=("car", "person"),
        multi=False,
        items=[predict_wire.SentItem(5, "image", {"cid": "bafy", "width": 2, "height": 1})],
    )
    assert json.loads(body) == {
        "dataset": 3,
        "task_type": "boxes",
        "labels": ["car", "person"],
        "multi_choice": False,
        "items": [{"id": 5, "kind": "image", "data": {"cid": "bafy", "width": 2, "height": 1}}],
    }


def test_an_answer_is_read_entry_by_entry() -> None:
    answer = {
        "predictions": [
            {"id": 1, "prediction": ["cat"], "model_version": "v2", "score": 0.5},
            {"id": 2, "prediction": ["dog"], "score": 3},
            {"id": 9, "prediction": ["cat"]},
            {"prediction": ["cat"]},
            "cat",
            {"id": 1, "prediction": ["dog"]},
            {"id": 3},
        ]
    }
    found, bad = predict_wire.parse_answer(json.dumps(answer).encode(), {1, 2, 3})
    assert [(p.task_id, p.prediction, p.model_version) for p in found] == [(1, ["dog"], "")]
    assert bad == [
        "prediction 2: 'score' must be a number from 0 to 1",
        "prediction 3: item 9 was not in the batch sent",
        "prediction 4: name the item by its 'id'",
        "prediction 5: each prediction must be a JSON object",
        "prediction 7: 'prediction' is missing",
    ]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>", "the answer is not JSON"),
        (b"[]", 'a "predictions" list'),
        (b'{"results": []}', 'a "predictions" list'),
        (b"\xff\xfe", "the answer is not JSON"),
    ],
    ids=["html", "list", "label-studio-shape", "not-utf8"],
)
def test_a_bad_answer_is_refused_as_a_whole(body: bytes, why: str) -> None:
    with pytest.raises(predict_wire.BadAnswer, match=why):
        predict_wire.parse_answer(body, {1})
