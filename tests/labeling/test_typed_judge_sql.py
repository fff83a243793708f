"""The hot submit statement's SQL against the Python it stands for: the judges of check
answers (``labeling/migrations/0011_typed_judge_sql.py`` against ``answers.gold_correct``) and
the check that an answer fits its item (``fastpath._TYPED_FITS`` against
``answers.parse_answer`` with the item), on seeded random cases made to sit on the edges
(IoU ties and thresholds, 90 % span overlap, character error rates at ``max_cer``)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from django.db import connection

from labeling import errors
from labeling.answers import gold_correct, item_reach, parse_answer
from labeling.conf import labeling_settings
from labeling.services import fastpath

pytestmark = pytest.mark.django_db

CASES = 300
BOXES = labeling_settings({"task": "boxes", "labels": ["car", "bus"], "iou_threshold": 0.5})
SPANS = labeling_settings({"task": "spans", "labels": ["PER", "LOC"], "overlapping": True})
TEXT = labeling_settings({"task": "text", "max_cer": 0.2})


def _sql_judge(task_type: str, conf: Any, answer: Any, gold: Any) -> bool | None:
    sql = fastpath._TYPED_JUDGES[task_type].format(gold="%(gold)s::jsonb")
    params = {
        "value": json.dumps(answer),
        "gold": json.dumps(gold),
        "iou_threshold": conf.iou_threshold,
        "max_cer": conf.max_cer,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return cursor.fetchone()[0]


def _box(rng: random.Random) -> dict[str, Any]:
    # Coarse coordinates, some in hundredths: equal IoUs (ties) and IoUs at the threshold.
    def coord(top: int) -> float:
        return rng.randrange(top) / rng.choice((1, 1, 4, 100))

    return {
        "x": coord(20),
        "y": coord(20),
        "w": coord(20) + 1.0,
        "h": coord(20) + 1.0,
        "label": rng.choice(BOXES.labels),
    }


def _near(rng: random.Random, box: dict[str, Any]) -> dict[str, Any]:
    moved = {k: (v + rng.choice((0, 0, 0.5, 1, 2)) if k != "label" else v) for k, v in box.items()}
    if rng.random() < 0.15:
        moved["label"] = rng.choice(BOXES.labels)
    return moved


def test_the_boxes_judge_is_pythons():
    rng = random.Random(20261207)
    verdicts = set()
    for _ in range(CASES):
        gold = [_box(rng) for _ in range(rng.randrange(7))]
        answer = [_near(rng, b) for b in gold] + [_box(rng) for _ in range(rng.randrange(2))]
        rng.shuffle(answer)
        if rng.random() < 0.2 and answer:
            answer.append(dict(answer[0]))  # a box drawn twice: the greedy pairing's ties
        answer = parse_answer(BOXES, answer, None)
        gold = parse_answer(BOXES, gold, None)
        expected = gold_correct(BOXES, answer, gold)
        assert _sql_judge("boxes", BOXES, answer, gold) is expected, (answer, gold)
        verdicts.add(expected)
    assert verdicts == {True, False}


def test_the_spans_judge_is_pythons():
    rng = random.Random(7)
    verdicts = set()
    for _ in range(CASES):
        gold = []
        for _ in range(rng.randrange(4)):
            start = rng.randrange(40)
            gold.append([start, start + rng.randrange(1, 25), rng.choice(SPANS.labels)])
        answer = [
            [max(0, s + rng.choice((0, 0, -1, 1, 2))), e + rng.choice((0, 0, 1, -1)), c]
            for s, e, c in gold
        ]
        answer = [[s, e, c] for s, e, c in answer if s < e]
        if rng.random() < 0.2:
            answer.append([3, 9, rng.choice(SPANS.labels)])
        try:
            parsed_answer = parse_answer(SPANS, answer, None)
            parsed_gold = parse_answer(SPANS, gold, None)
        except errors.BadLabel:
            continue  # a span listed twice
        expected = gold_correct(SPANS, parsed_answer, parsed_gold)
        assert _sql_judge("spans", SPANS, parsed_answer, parsed_gold) is expected
        verdicts.add(expected)
    assert verdicts == {True, False}


def test_the_transcription_judge_is_pythons():
    rng = random.Random(11)
    alphabet = "abcdeé字 🙂"  # multibyte characters: both sides count characters
    verdicts = set()
    for _ in range(CASES):
        gold = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        answer = list(gold)
        for _ in range(rng.randrange(5)):
            at = rng.randrange(len(answer) + 1)
            op = rng.choice(("insert", "delete", "replace"))
            if op == "insert" or not answer:
                answer.insert(at, rng.choice(alphabet))
            elif op == "delete":
                answer.pop(min(at, len(answer) - 1))
            else:
                answer[min(at, len(answer) - 1)] = rng.choice(alphabet)
        try:
            text = parse_answer(TEXT, "".join(answer), None)
        except errors.BadLabel:
            continue  # nothing left but spaces
        expected = gold_correct(TEXT, text, gold)
        assert _sql_judge("text", TEXT, text, gold) is expected, (text, gold)
        verdicts.add(expected)
    assert verdicts == {True, False}
    # Past levenshtein's 255 characters: no verdict (the general path judges), unless equal.
    long = "x" * 300
    assert _sql_judge("text", TEXT, long, long) is True
    assert _sql_judge("text", TEXT, long + "y", long) is None


def test_the_pairwise_judge_is_pythons():
    conf = labeling_settings({"task": "pairwise"})
    for answer in ("left", "right", "tie"):
        for gold in ("left", "right", "tie"):
            assert _sql_judge("pairwise", conf, answer, gold) is gold_correct(conf, answer, gold)


def _fits(task_type: str, conf: Any, answer: Any, item: dict[str, Any]) -> bool:
    params = item_reach(conf, answer) | {"payload": json.dumps(item)}
    sql = fastpath._TYPED_FITS[task_type]
    with connection.cursor() as cursor:
        query = f"SELECT {sql} FROM (SELECT %(payload)s::jsonb AS payload) t"  # noqa: S608
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def _python_fits(conf: Any, value: Any, item: dict[str, Any]) -> bool:
    try:
        parse_answer(conf, value, item)
    except errors.BadLabel:
        return False
    return True


@pytest.mark.parametrize(
    "side", [50, 51, 49, 50.0, 1, -3, True, "50", None, 10**30], ids=lambda v: repr(v)
)
def test_a_box_fits_its_image_in_sql_as_in_python(side):
    """The statement never takes what Python refuses; it may leave an odd item (a boolean
    side, which Python reads as 1 or 0) to the general path."""
    for boxes in (
        [],
        [{"x": 40, "y": 0, "w": 10, "h": 50, "label": "car"}],
        [{"x": 40.004, "y": 0, "w": 10, "h": 1, "label": "car"}],  # rounds to 50.0
        [{"x": 40.006, "y": 0, "w": 10, "h": 1, "label": "car"}],  # rounds to 50.01
        [{"x": 0, "y": 0, "w": 1, "h": 1, "label": "car"}] * 2,
    ):
        answer = parse_answer(BOXES, boxes, None)
        for item in ({"width": side, "height": 50}, {"width": 50, "height": side}):
            if side is None:
                item = {k: v for k, v in item.items() if v is not None}
            python = _python_fits(BOXES, boxes, item)
            sql = _fits("boxes", BOXES, answer, item)
            assert sql is python or (sql is False and isinstance(side, bool)), (boxes, item)


@pytest.mark.parametrize("text", ["Ada", "Adé字🙂", "", None, 12345], ids=lambda v: repr(v))
def test_a_span_fits_its_text_in_sql_as_in_python(text):
    item = {} if text is None else {"text": text}
    for spans in ([], [[0, 3, "PER"]], [[0, 5, "PER"]], [[2, 6, "LOC"]]):
        answer = parse_answer(SPANS, spans, None)
        python = _python_fits(SPANS, spans, item)
        sql = _fits("spans", SPANS, answer, item)
        # A text that is no string is left to the general path (SQL refuses, never accepts).
        assert sql is python or (sql is False and not isinstance(text, str)), (spans, item)
