"""The task types' schema settings, CSV imports, answer checks and the hot path: a typed
submit takes classification's one statement (the answer checked against its item and judged
against a check question's gold answer in it) and judges as the general path does."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datadao.schema import validate_schema
from labeling import errors, services
from labeling.answers import parse_answer
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


# Per type: the schema, an item, the answer a labeler sends to it (right against ``GOLD``),
# one that is wrong against it, and one that does not fit the item (None: every answer fits).
TYPED = {
    "boxes": (
        {"task": "boxes", "labels": ["car", "bus"]},
        {"cid": CID, "width": 50, "height": 50},
        [{**BOX, "x": 1.5, "w": 10.5}],
        [{**BOX, "label": "bus"}],
        ([{**BOX, "x": 40.0, "w": 10.01}], "box 1: it reaches x = 50.01, outside the image"),
    ),
    "spans": (
        {"task": "spans", "labels": ["PER", "LOC"]},
        {"text": "Ada lived in London"},
        [[0, 3, "PER"], [13, 19, "LOC"]],
        [[0, 3, "PER"]],
        ([[13, 20, "LOC"]], "span 1: ends at 20, past the text's 19 characters"),
    ),
    "pairwise": (
        {"task": "pairwise"},
        {"prompt": "?", "left": {"id": "a", "text": "A"}, "right": {"id": "b", "text": "B"}},
        "left",
        "right",
        None,
    ),
    "text": (
        {"task": "text", "max_cer": 0.15},
        {"cid": CID},
        "the cat sat on a mat",
        "a dog",
        None,
    ),
}
GOLD = {
    "boxes": [BOX],
    "spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 13, "end": 19, "label": "LOC"}],
    "pairwise": "left",
    "text": "the cat sat on the mat",
}


def _hold_on(hold, task):  # type: ignore[no-untyped-def]
    """Move a fresh hold onto ``task`` (hand-outs are random)."""
    from labeling.models import Assignment

    LabelTask.objects.filter(pk=hold.task_id).update(reserved=0)
    Assignment.objects.filter(pk=hold.pk).update(task_id=task.pk)
    LabelTask.objects.filter(pk=task.pk).update(reserved=1)


def _make_gold(task, answer):  # type: ignore[no-untyped-def]
    """Make a held task a check question (a dataset without gold hands out none)."""
    LabelTask.objects.filter(pk=task.pk).update(is_gold=True, gold=answer)


@pytest.mark.parametrize("task_type", sorted(TYPED))
def test_a_typed_submit_takes_one_statement_and_judges_gold(ldao, task_type):
    schema, item, right, wrong, _ = TYPED[task_type]
    dataset = _typed_dataset(ldao, gold_rate=0.0, **schema)
    ordinary = _tasks(dataset, [item] * 3)
    (gold,) = _tasks(dataset, [item], gold=[GOLD[task_type]], prefix="g")
    users = make_labelers(ldao, 2)
    warm = services.task_next(dataset_id=dataset.pk, labeler=users[0])
    _hold_on(warm, ordinary[0])
    services.label_submit(dataset_id=dataset.pk, labeler=users[0], hold_id=warm.pk, value=right)
    for user, value, verdict in ((users[0], right, True), (users[1], wrong, False)):
        with CaptureQueriesContext(connection) as captured:
            hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        assert len(_statements(captured)) == 1
        _hold_on(hold, gold)
        with CaptureQueriesContext(connection) as captured:
            label = services.label_submit(
                dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value
            )
        # users[1]'s first label makes their stats row: still the one statement.
        assert len(_statements(captured)) == 1, _statements(captured)
        stored = Label.objects.get(pk=label.pk)
        conf = labeling_settings(dataset.schema)
        assert stored.gold_correct is verdict is label.gold_correct
        assert stored.value == parse_answer(conf, value, item) == label.value
        stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
        assert (stats.gold_answered, stats.gold_correct) == (1, int(verdict))
    # Ordinary work: no verdict, one statement.
    hold = services.task_next(dataset_id=dataset.pk, labeler=users[1])
    _hold_on(hold, ordinary[1])
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=users[1], hold_id=hold.pk, value=wrong
        )
    assert len(_statements(captured)) == 1, _statements(captured)
    assert Label.objects.get(pk=label.pk).gold_correct is None


@pytest.mark.parametrize("task_type", ["boxes", "spans"])
def test_an_answer_outside_its_item_is_refused_with_nothing_written(ldao, task_type):
    """The hot statement checks the answer against the locked item and writes nothing when it
    does not fit; the general path then names the problem (4xx)."""
    schema, item, right, _, (outside, message) = TYPED[task_type]
    dataset = _typed_dataset(ldao, gold_rate=0.0, **schema)
    (task,) = _tasks(dataset, [item])
    (user,) = make_labelers(ldao, 1)
    hold = services.task_next(dataset_id=dataset.pk, labeler=user)
    _make_gold(task, GOLD[task_type])
    known = fastpath.dataset_conf(dataset.pk)
    conf = known.conf
    done = fastpath.submit(
        known=known,
        dataset_id=dataset.pk,
        labeler=user,
        hold_id=hold.pk,
        names=parse_answer(conf, outside, None),
        choice=None,
        duration_ms=0,
        now=hold.created_at,
        shown=False,
    )
    assert done is None
    with pytest.raises(errors.BadLabel, match=message):
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=outside)
    assert Label.objects.count() == 0
    assert LabelerStats.objects.filter(labeler=user).count() == 0
    assert LabelTask.objects.get(pk=task.pk).label_count == 0
    from labeling.models import Assignment, HoldStatus

    assert Assignment.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE
    # The same hold takes an answer that fits.
    label = services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=right)
    assert Label.objects.get(pk=label.pk).gold_correct is True


def test_what_the_sql_judges_do_not_take_goes_to_the_general_path(ldao):
    """A check question's transcription over ``levenshtein``'s 255 characters is judged in
    Python, to the same verdict; an image side that is not a JSON integer is no bound, as in
    Python; and answers past what the SQL judges take go to the general path."""
    dataset = _typed_dataset(ldao, task="text", max_cer=0.1, gold_rate=0.0)
    long_gold = "word " * 60 + "end"
    (task,) = _tasks(dataset, [{"cid": CID}])
    (user,) = make_labelers(ldao, 1)
    hold = services.task_next(dataset_id=dataset.pk, labeler=user)
    _make_gold(task, long_gold)
    answer = long_gold.replace("word", "ward", 10)  # 10 edits in 303: CER 0.03
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=answer
        )
    assert len(_statements(captured)) > 1
    assert Label.objects.get(pk=label.pk).gold_correct is True
    boxes = _typed_dataset(ldao, task="boxes", labels=["car"], gold_rate=0.0)
    (task,) = _tasks(boxes, [{"cid": CID, "width": 5.0, "height": 50}])
    hold = services.task_next(dataset_id=boxes.pk, labeler=user)
    _make_gold(task, [BOX])
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=boxes.pk, labeler=user, hold_id=hold.pk, value=[BOX]
        )
    assert len(_statements(captured)) == 1, _statements(captured)
    assert Label.objects.get(pk=label.pk).gold_correct is True
    # More boxes than the SQL judge takes: the general path, on the answer's size alone
    # (ordinary work here), so a check question goes there no more often.
    many = [{**BOX, "x": float(i)} for i in range(fastpath.MAX_HOT_BOXES + 1)]
    _tasks(boxes, [{"cid": CID, "width": 50, "height": 50}], prefix="m")
    hold = services.task_next(dataset_id=boxes.pk, labeler=user)
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=boxes.pk, labeler=user, hold_id=hold.pk, value=many
        )
    assert len(_statements(captured)) > 1
    stored = Label.objects.get(pk=label.pk)
    assert len(stored.value) == len(many) and stored.gold_correct is None


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
