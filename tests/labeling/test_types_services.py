"""The task types' schema settings, CSV imports, answer checks and the hot path: a typed
submit takes two statements (the held item read, then classification's one statement with
the verdict) and judges a check question exactly as the general path does."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datadao.schema import validate_schema
from labeling import errors, services
from labeling.conf import labeling_settings
from labeling.importer import iter_batches
from labeling.models import Label, LabelerStats, LabelTask
from labeling.services import fastpath
from tests.factories import DatasetFactory
from tests.labeling.conftest import make_labelers
from tests.labeling.test_services import _statements

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("schema", "fault"),
    [
        ({"task": "polygons", "labels": ["a", "b"]}, "task: must be one of classification, boxes"),
        ({"task": "boxes", "labels": []}, "labels: must be a list of at least 1 label"),
        ({"task": "pairwise", "labels": ["a"]}, "labels: a pairwise dataset takes no labels"),
        ({"task": "boxes", "labels": ["car"], "iou_threshold": 0}, "iou_threshold: must be"),
        ({"task": "text", "max_cer": 1.5}, "max_cer: must be a number in (0, 1]"),
        ({"task": "spans", "labels": ["P"], "overlapping": "yes"}, "overlapping: must be true"),
        ({"task": "pairwise", "allow_tie": 1}, "allow_tie: must be true or false"),
        ({"task": "text", "iou_threshold": 0.5}, "iou_threshold: only a boxes dataset takes it"),
        ({"labels": ["a", "b"], "allow_tie": True}, "allow_tie: only a pairwise dataset"),
        ({"task": "boxes", "labels": ["c"], "item_kind": "text"}, "a boxes dataset labels image"),
        ({"task": "text", "item_kind": "pair"}, "a text dataset labels image or audio items"),
        ({"task": "spans", "labels": ["P"], "multi_choice": True}, "multi_choice: only a"),
    ],
)
def test_schema_faults_name_the_field(schema, fault):
    found = validate_schema("labeling", schema)
    assert any(fault in f for f in found), found


def test_typed_schemas_and_their_defaults():
    for schema in (
        {"task": "boxes", "labels": ["car"]},
        {"task": "spans", "labels": ["PER", "LOC"], "overlapping": True},
        {"task": "pairwise"},
        {"task": "text", "item_kind": "audio", "max_cer": 0.05},
    ):
        assert validate_schema("labeling", schema) == [], schema
    boxes = labeling_settings({"task": "boxes", "labels": ["car"]})
    assert (boxes.item_kind, boxes.iou_threshold, boxes.typed) == ("image", 0.5, True)
    pairwise = labeling_settings({"task": "pairwise"})
    assert (pairwise.item_kind, pairwise.allow_tie, pairwise.labels) == ("pair", True, ())
    text = labeling_settings({"task": "text"})
    assert (text.item_kind, text.max_cer) == ("image", 0.1)
    assert labeling_settings({"labels": ["a", "b"]}).task_type == "classification"


@pytest.mark.parametrize(
    "schema",
    [
        {"task": "boxes", "labels": ["car"], "iou_threshold": 0.7},
        {"task": "spans", "labels": ["PER"], "overlapping": True},
        {"task": "pairwise", "labels": [], "allow_tie": False},
        {"task": "text", "labels": [], "item_kind": "audio", "max_cer": 0.05},
    ],
)
def test_the_console_schema_form_shows_typed_schemas_exactly(schema):
    from datadao.schema_text import labeling_fields, labeling_json, representable

    assert representable("labeling", schema)
    assert labeling_json(labeling_fields(schema)) == schema


def _rows(body: str, kind: str, task: str):  # type: ignore[no-untyped-def]
    ((items, bad, _),) = list(
        iter_batches(io.BytesIO(body.encode()), fmt="csv", kind=kind, task=task)
    )
    return items, bad


CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_csv_imports_of_each_type():
    items, bad = _rows(
        f'id,cid,width,height,gold\nb1,{CID},640,480,"[[1,2,3,4,""car""]]"\nb2,{CID},,,\n'
        f"b3,{CID},640,,\nb4,{CID},-3,5,\n",
        "image",
        "boxes",
    )
    assert [i.key for i in items] == ["id:b1", "id:b2"]
    assert items[0].payload == {"cid": CID, "width": 640, "height": 480}
    assert items[0].gold == [[1, 2, 3, 4, "car"]] and items[1].gold is None
    assert "line 4: give both 'width' and 'height'" in bad[0]
    assert "line 5: 'width' must be a whole number of pixels from 1" in bad[1]
    items, bad = _rows(
        "id,prompt,left_id,left,right_id,right,gold\n"
        "p1,Which?,m1,first answer,m2,second answer,left\n"
        "p2,Which?,m1,,m2,x,\n",
        "pair",
        "pairwise",
    )
    assert items[0].payload == {
        "prompt": "Which?",
        "left": {"id": "m1", "text": "first answer"},
        "right": {"id": "m2", "text": "second answer"},
    }
    assert items[0].gold == "left"
    assert "line 3: the left candidate needs a non-empty text" in bad[0]
    items, bad = _rows(f"id,cid,gold\nt1,{CID},hello world\n", "audio", "text")
    assert items[0].payload == {"cid": CID} and items[0].gold == "hello world"
    items, bad = _rows('id,text,gold\ns1,Ada wrote,"[{""start"":0,""end"":3,""label"":""PER""}]"\n',
                       "text", "spans")  # fmt: skip
    assert items[0].payload == {"text": "Ada wrote"}
    assert items[0].gold == [{"start": 0, "end": 3, "label": "PER"}]


def _typed_dataset(dao, **schema):  # type: ignore[no-untyped-def]
    from datadao.models import DatasetStatus
    from datadao.services import dataset_set_status

    dataset = DatasetFactory(dao=dao, kind="labeling", schema={"overlap": 2, **schema})
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _tasks(dataset, payloads, gold=None, prefix="t"):  # type: ignore[no-untyped-def]
    conf = labeling_settings(dataset.schema)
    return LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"{prefix}{i}",
            kind=conf.item_kind,
            payload=payload,
            wanted=2,
            gold=None if gold is None else gold[i],
            is_gold=gold is not None and gold[i] is not None,
        )
        for i, payload in enumerate(payloads)
    )


BOX = {"x": 1.0, "y": 1.0, "w": 10.0, "h": 10.0, "label": "car"}


def test_a_typed_submit_takes_two_statements_and_judges_gold(ldao):
    dataset = _typed_dataset(ldao, task="boxes", labels=["car"], gold_rate=0.0)
    _tasks(dataset, [{"cid": CID, "width": 50, "height": 50}] * 3)
    (gold,) = _tasks(dataset, [{"cid": CID, "width": 50, "height": 50}], gold=[[BOX]], prefix="g")
    users = make_labelers(ldao, 2)
    warm = services.task_next(dataset_id=dataset.pk, labeler=users[0])
    services.label_submit(dataset_id=dataset.pk, labeler=users[0], hold_id=warm.pk, value=[BOX])
    with CaptureQueriesContext(connection) as captured:
        hold = services.task_next(dataset_id=dataset.pk, labeler=users[0])
    assert len(_statements(captured)) == 1
    # The next hand-out is the check question (hand-outs are random; place the hold on it).
    hold.task_id = gold.pk
    from labeling.models import Assignment

    Assignment.objects.filter(pk=hold.pk).update(task_id=gold.pk)
    LabelTask.objects.filter(pk=gold.pk).update(reserved=1)
    near = {**BOX, "x": 1.5, "w": 10.5}
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=users[0], hold_id=hold.pk, value=[near]
        )
    assert len(_statements(captured)) == 2, _statements(captured)
    stored = Label.objects.get(pk=label.pk)
    assert stored.gold_correct is True and stored.value == [{**near}]
    stats = LabelerStats.objects.get(dataset=dataset, labeler=users[0])
    assert (stats.gold_answered, stats.gold_correct, stats.labels) == (1, 1, 2)


@pytest.mark.parametrize("hot", [True, False])
def test_the_general_path_refuses_and_judges_as_the_hot_path(ldao, monkeypatch, hot):
    if not hot:
        monkeypatch.setattr(fastpath, "enabled", lambda: False)
    dataset = _typed_dataset(ldao, task="text", max_cer=0.15, gold_rate=0.0)
    (gold,) = _tasks(dataset, [{"cid": CID}], gold=["the cat sat on the mat"])
    LabelTask.objects.filter(pk=gold.pk).update(is_gold=False)  # handed out as ordinary work
    (user,) = make_labelers(ldao, 1)
    hold = services.task_next(dataset_id=dataset.pk, labeler=user)
    LabelTask.objects.filter(pk=gold.pk).update(is_gold=True)
    with pytest.raises(errors.BadLabel, match="transcription is empty"):
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=" ")
    # Three character edits in 22 (CER 0.14): right under a threshold of 0.15.
    label = services.label_submit(
        dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="  the cat sat on a mat "
    )
    stored = Label.objects.get(pk=label.pk)
    assert stored.value == "the cat sat on a mat" and stored.gold_correct is True
    services.label_undo(dataset_id=dataset.pk, labeler=user)
    label = services.label_submit(
        dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="a dog"
    )
    assert Label.objects.get(pk=label.pk).gold_correct is False
    # Scored on the first answer only, as for classification.
    stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
    assert (stats.gold_answered, stats.gold_correct) == (1, 1)


def test_a_changed_gold_answer_sends_the_hot_path_to_the_general_one(ldao):
    dataset = _typed_dataset(ldao, task="pairwise", gold_rate=0.0)
    pair = {"prompt": "", "left": {"id": "a", "text": "A"}, "right": {"id": "b", "text": "B"}}
    (task,) = _tasks(dataset, [pair])
    (user,) = make_labelers(ldao, 1)
    hold = services.task_next(dataset_id=dataset.pk, labeler=user)
    held = fastpath.held_task(
        dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, now=hold.created_at
    )
    assert held is not None and held.gold is None
    # The DAO marks it a check question between the read and the write: the statement finds
    # the gold answer changed and writes nothing.
    LabelTask.objects.filter(pk=task.pk).update(is_gold=True, gold="right")
    done = fastpath.submit(
        known=fastpath.dataset_conf(dataset.pk),
        dataset_id=dataset.pk,
        labeler=user,
        hold_id=hold.pk,
        names="left",
        choice=0,
        duration_ms=0,
        now=hold.created_at,
        shown=False,
        judged=fastpath.Judged(verdict=None, gold_text=held.gold_text),
    )
    assert done is None and Label.objects.count() == 0
    label = services.label_submit(
        dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="left"
    )
    assert label.gold_correct is False and label.choice == 0


def test_set_gold_checks_the_answer_against_the_item(ldao, admin_user):
    from datadao.models import Membership, Role

    Membership.objects.filter(dao=ldao, user=admin_user).update(role=Role.ADMIN)
    dataset = _typed_dataset(ldao, task="spans", labels=["PER"])
    (task,) = _tasks(dataset, [{"text": "Ada"}])
    with pytest.raises(errors.BadLabel, match="past the text's 3 characters"):
        services.task_set_gold(task_id=task.pk, answer=[[0, 9, "PER"]], actor=admin_user)
    done = services.task_set_gold(task_id=task.pk, answer=[[0, 3, "PER"]], actor=admin_user)
    assert done.gold == [{"start": 0, "end": 3, "label": "PER"}] and done.is_gold


def _edits(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = row
    return previous[-1]


def test_the_submit_paths_edit_distance_is_the_textbook_one():
    """The bit-parallel distance of the submit path's transcription check against the
    textbook dynamic programme, and its verdicts against the aggregation module's."""
    import random

    from labeling.answers import char_edits, transcription_correct
    from labeling.consensus.text import text_gold_correct

    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 90)))
        assert char_edits(a, b) == _edits(a, b), (a, b)
        if a:
            for rate in (0.05, 0.2):
                assert transcription_correct(b, a, max_cer=rate) == text_gold_correct(
                    b, a, max_cer=rate
                )
