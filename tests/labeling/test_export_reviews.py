"""Every labeling export says of each settled item whether a reviewer looked at it and how:
accepted, fixed, sent back (and settled anew since, unreviewed), or never; and how many times
it was sent back. Classification's CSV and JSON Lines, and each task type's own formats."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from django.db.models import F

from datadao.models import Membership, Role
from labeling import export, export_types
from labeling.conf import labeling_settings
from labeling.models import Label, LabelTask, TaskStatus
from labeling.services import review as review_services
from tests.factories import UserFactory
from tests.labeling.conftest import make_dataset, make_labelers
from tests.labeling.test_types_services import CID, _typed_dataset

pytestmark = pytest.mark.django_db

# Per item, in order: what the reviewers do to it, and what the exports then say.
PLAN = [
    ([], None, 0),
    (["accept"], "accepted", 0),
    (["fix"], "fixed", 0),
    (["reject"], "sent_back", 1),
    (["reject", "accept"], "accepted", 1),
    (["reject", "reject", "fix"], "fixed", 2),
]


@pytest.fixture
def reviewer(ldao):  # type: ignore[no-untyped-def]
    user = UserFactory()
    Membership.objects.create(dao=ldao, user=user, role=Role.REVIEWER)
    return user


def _settle(task: LabelTask, consensus: Any) -> None:
    """The item settles (anew): as ``settle`` leaves it."""
    LabelTask.objects.filter(pk=task.pk).update(
        status=TaskStatus.COMPLETE,
        consensus=consensus,
        posterior=0.8,
        settlements=F("settlements") + 1,
        review="",
    )


def _review_all(dataset, tasks, reviewer, consensus: Any, fixed: Any) -> None:  # type: ignore[no-untyped-def]
    for task, (steps, _, _) in zip(tasks, PLAN, strict=True):
        _settle(task, consensus)
        for step in steps:
            if step == "accept":
                review_services.review_accept(
                    dataset_id=dataset.pk, task_id=task.pk, reviewer=reviewer
                )
            elif step == "fix":
                review_services.review_fix(
                    dataset_id=dataset.pk, task_id=task.pk, reviewer=reviewer, answer=fixed
                )
            else:
                review_services.review_reject(
                    dataset_id=dataset.pk, task_id=task.pk, reviewer=reviewer, more=1
                )
                _settle(task, consensus)  # labeled again and settled anew


def _expected(keys: list[Any]) -> dict[Any, tuple[str | None, int]]:
    """Each item's key, in order, with what the exports should say of it."""
    return {key: (state, sent_back) for key, (_, state, sent_back) in zip(keys, PLAN, strict=True)}


def test_the_classification_exports_say_how_each_item_was_reviewed(ldao, reviewer):
    dataset = make_dataset(ldao)
    tasks = LabelTask.objects.bulk_create(
        LabelTask(dataset=dataset, source_key=f"t{i}", kind="text", payload={"text": f"item {i}"})
        for i in range(len(PLAN))
    )
    _review_all(dataset, tasks, reviewer, ["cat"], "dog")
    expected = _expected([task.pk for task in tasks])

    rows = list(csv.DictReader(io.StringIO("".join(export.iter_csv(dataset.pk)))))
    assert list(rows[0])[-2:] == ["review", "sent_back"]
    got = {int(r["task"]): (r["review"] or None, int(r["sent_back"])) for r in rows}
    assert got == expected
    # A fixed item's answer is the reviewer's.
    fixed = {int(r["task"]): r["consensus"] for r in rows if r["review"] == "fixed"}
    assert set(fixed.values()) == {"dog"}

    lines = [json.loads(x) for x in "".join(export.iter_jsonl(dataset.pk)).splitlines()]
    assert {line["task"]: (line["review"], line["sent_back"]) for line in lines} == expected
    assert {line["task"]: line["consensus"] for line in lines if line["review"] == "fixed"} == {
        tasks[2].pk: ["dog"],
        tasks[5].pk: ["dog"],
    }


# Per type: schema, item, settled consensus (stored shape), a reviewer's fix.
TYPES = {
    "boxes": (
        {"task": "boxes", "labels": ["car"]},
        {"cid": CID, "width": 50, "height": 40},
        [{"x": 1.0, "y": 1.0, "w": 10.0, "h": 10.0, "label": "car", "score": 0.9}],
        [[2, 2, 10, 10, "car"]],
    ),
    "spans": (
        {"task": "spans", "labels": ["PER"]},
        {"text": "Ada wrote"},
        [{"start": 0, "end": 3, "label": "PER", "score": 0.9}],
        [[4, 9, "PER"]],
    ),
    "pairwise": (
        {"task": "pairwise"},
        {"prompt": "?", "left": {"id": "a", "text": "A"}, "right": {"id": "b", "text": "B"}},
        "left",
        "right",
    ),
    "text": ({"task": "text"}, {"cid": CID}, "a sign", "the sign"),
}


def _typed(ldao, reviewer, task_type: str):  # type: ignore[no-untyped-def]
    schema, item, consensus, fixed = TYPES[task_type]
    dataset = _typed_dataset(ldao, **schema)
    conf = labeling_settings(dataset.schema)
    tasks = LabelTask.objects.bulk_create(
        LabelTask(dataset=dataset, source_key=f"id:i{i}", kind=conf.item_kind, payload=item)
        for i in range(len(PLAN))
    )
    if task_type == "pairwise":
        # The candidates' scores are fitted over the labels: give the pairs some.
        for user in make_labelers(ldao, 2):
            Label.objects.bulk_create(
                Label(dataset=dataset, task=task, labeler=user, value="left", choice=0)
                for task in tasks
            )
    _review_all(dataset, tasks, reviewer, consensus, fixed)
    expected = _expected([f"i{i}" for i in range(len(PLAN))])
    return dataset, conf, expected


def _render(conf, dataset, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(export_types.render(conf, dataset.pk, fmt))


def test_the_boxes_exports_say_how_each_item_was_reviewed(ldao, reviewer):
    dataset, conf, expected = _typed(ldao, reviewer, "boxes")
    document = json.loads(_render(conf, dataset, "coco"))
    got = {
        image["datadao_task"]: (image["datadao_review"], image["datadao_sent_back"])
        for image in document["images"]
    }
    assert got == expected
    archive = zipfile.ZipFile(io.BytesIO(_render(conf, dataset, "yolo")))
    index = list(csv.DictReader(io.StringIO(archive.read("images.csv").decode())))
    got = {
        row["label_file"].removeprefix("labels/").removesuffix(".txt"): (
            row["review"] or None,
            int(row["sent_back"]),
        )
        for row in index
    }
    assert got == expected
    # A fixed image's boxes are the reviewer's.
    assert archive.read("labels/i2.txt").decode().startswith("0 0.140000 0.175000")


def test_the_spans_exports_say_how_each_item_was_reviewed(ldao, reviewer):
    dataset, conf, expected = _typed(ldao, reviewer, "spans")
    lines = [json.loads(x) for x in _render(conf, dataset, "jsonl").decode().splitlines()]
    assert {line["task"]: (line["review"], line["sent_back"]) for line in lines} == expected
    conll = _render(conf, dataset, "conll").decode()
    assert "# task = i0\n# review = none\n# sent_back = 0\nAda\tB-PER\nwrote\tO\n" in conll
    assert "# task = i2\n# review = fixed\n# sent_back = 0\nAda\tO\nwrote\tB-PER\n" in conll
    assert "# task = i3\n# review = sent_back\n# sent_back = 1\n" in conll
    assert "# task = i5\n# review = fixed\n# sent_back = 2\n" in conll


def test_the_pairwise_and_text_exports_say_how_each_item_was_reviewed(ldao, reviewer):
    dataset, conf, expected = _typed(ldao, reviewer, "pairwise")
    lines = [json.loads(x) for x in _render(conf, dataset, "jsonl").decode().splitlines()]
    comparisons = [line for line in lines if line["kind"] == "comparison"]
    assert {c["task"]: (c["review"], c["sent_back"]) for c in comparisons} == expected
    assert {c["task"]: c["answer"] for c in comparisons if c["review"] == "fixed"} == {
        "i2": "right",
        "i5": "right",
    }
    dataset, conf, expected = _typed(ldao, reviewer, "text")
    lines = [json.loads(x) for x in _render(conf, dataset, "jsonl").decode().splitlines()]
    assert {line["task"]: (line["review"], line["sent_back"]) for line in lines} == expected
