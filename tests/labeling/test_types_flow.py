"""The task types beyond classification end to end, against PostgreSQL and the embedded IPFS
store: import (with bad rows named), ``next`` in the type's shape, submit with its refusals,
check questions scored by the type's rule, settlement (or an extra label) by the type's
aggregator, rewards weighted by each label's probability of being right, the whole-dataset run
and the type's exports."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import jsonschema
import pytest
from django.test import Client
from PIL import Image

from contributions.releases import release_publish
from datadao.models import DatasetStatus
from datadao.openapi import openapi_schema
from datadao.services import dataset_set_status
from ipfs.services import content_add, content_open_verified
from labeling import services, tasks
from labeling.models import Label, LabelerStats, LabelImport, LabelTask
from rewards.models import RewardEntry, RewardPolicy
from tests.factories import DatasetFactory
from tests.labeling.conftest import age_labels, login, make_labelers

pytestmark = pytest.mark.django_db

PER_LABEL = 10_000
DOCUMENT = openapi_schema(version="test")


class _GoldFirst:
    """Hand-out draws that pick a check question whenever one is left (the gold rate is only
    a probability; the tests need every labeler to meet the check question)."""

    def random(self) -> float:
        return 0.0

    def randrange(self, stop: int) -> int:
        return 0


@pytest.fixture(autouse=True)
def gold_first(monkeypatch):  # type: ignore[no-untyped-def]
    from labeling.services import assign

    monkeypatch.setattr(assign, "_random", _GoldFirst())


def _dataset(dao, **schema):  # type: ignore[no-untyped-def]
    base = {"overlap": 3, "max_overlap": 4, "gold_rate": 0.2, "confidence_target": 0.8}
    dataset = DatasetFactory(dao=dao, kind="labeling", schema={**base, **schema})
    RewardPolicy.objects.create(dataset=dataset, per_label=PER_LABEL)
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _import(client: Client, dataset, lines: list[object]) -> LabelImport:  # type: ignore[no-untyped-def]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    upload = io.BytesIO(body.encode())
    upload.name = "items.jsonl"
    response = client.post(f"/api/labeling/{dataset.pk}/imports", {"file": upload})
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert tasks.import_items(job_id) == "done"
    # A second delivery of the message, and a re-import of the same file, add nothing.
    assert tasks.import_items(job_id) == "skipped"
    return LabelImport.objects.get(pk=job_id)


def _post(client: Client, url: str, body: object):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _documented(body: object, component: str) -> None:
    """``body`` is what the OpenAPI document says ``component`` is."""
    jsonschema.validate(
        body, {"$ref": f"#/components/schemas/{component}", "components": DOCUMENT["components"]}
    )


def _next(client: Client, dataset) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.get(f"/api/labeling/{dataset.pk}/next")
    assert response.status_code == 200, response.content
    _documented(response.json(), "Next")
    return response.json()["task"]


def _submit(client: Client, dataset, hold: int, label: object):  # type: ignore[no-untyped-def]
    response = _post(client, f"/api/labeling/{dataset.pk}/holds/{hold}/label", {"label": label})
    if response.status_code == 201:
        _documented(response.json(), "Submitted")
    return response


def _refused(client: Client, dataset, hold: int, label: object, message: str) -> None:  # type: ignore[no-untyped-def]
    before = Label.objects.count()
    response = _submit(client, dataset, hold, label)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()["detail"]
    assert Label.objects.count() == before


def _answer_all(dataset, users, answer) -> dict[int, dict[int, Label]]:  # type: ignore[no-untyped-def]
    """Every labeler answers every task they are given through the API; ``answer(user index,
    item)`` says what. Returns the labels by task and labeler index."""
    given: dict[int, dict[int, Label]] = {}
    for n, user in enumerate(users):
        client = login(user)
        while (task := _next(client, dataset)) is not None:
            response = _submit(client, dataset, task["hold"], answer(n, task["item"]))
            assert response.status_code == 201, response.content
            label = Label.objects.get(task__assignments__pk=task["hold"], labeler=user)
            given.setdefault(label.task_id, {})[n] = label
    return given


def _settle(dataset) -> None:  # type: ignore[no-untyped-def]
    age_labels(dataset=dataset)
    for pk in LabelTask.objects.filter(dataset=dataset).values_list("pk", flat=True):
        assert tasks.update_task_consensus(pk) in ("open", "complete")


def _credits(dataset) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return {
        int(e.source_id): e.amount
        for e in RewardEntry.objects.filter(source_type="labeling.label", dataset=dataset)
    }


def _export(client: Client, dataset, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/labeling/{dataset.pk}/export/{fmt}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def _png(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    out.seek(0)
    return content_add(stream=out, label="test", content_type="image/png").cid


# --- boxes ------------------------------------------------------------------------------------


def test_boxes_import_next_submit_settle_reward_export(ldao, admin_user):
    dataset = _dataset(ldao, task="boxes", labels=["car", "person"], iou_threshold=0.5)
    admin = login(admin_user)
    sized, unsized, check = _png(200, 100), _png(96, 64), _png(200, 101)
    car = {"x": 10, "y": 10, "w": 50, "h": 40, "label": "car"}
    job = _import(
        admin,
        dataset,
        [
            {"id": "street-1", "cid": sized, "width": 200, "height": 100},
            {"id": "street-2", "cid": unsized},  # its size is read from the store
            {"id": "gold-1", "cid": check, "width": 200, "height": 101, "gold": [car]},
            {"id": "bad-1", "cid": sized, "width": 200},
            {"id": "bad-2", "cid": sized, "width": 20, "height": 20, "gold": [car]},
            {"id": "bad-3", "cid": sized, "gold": [[1, 1, 5, 5, "bus"]]},
        ],
    )
    assert (job.rows_created, job.rows_failed) == (3, 3), job.errors
    assert any("line 4" in e and "'width' and 'height'" in e for e in job.errors)
    assert any("line 5" in e and "outside the image (width 20)" in e for e in job.errors)
    assert any("line 6" in e and "unknown label 'bus'" in e for e in job.errors)
    assert LabelTask.objects.get(source_key="id:street-2").payload["width"] == 96
    gold = LabelTask.objects.get(source_key="id:gold-1")
    assert gold.is_gold and gold.gold == [car]

    users = make_labelers(ldao, 3)
    client = login(users[0])
    task = _next(client, dataset)
    assert task["task_type"] == "boxes" and task["labels"] == ["car", "person"]
    assert task["item"]["kind"] == "image" and task["item"]["image_url"].startswith("/ipfs/")
    hold, item = task["hold"], task["item"]
    width = item.get("width", 200)
    _refused(client, dataset, hold, [{**car, "x": width - 5}], "outside the image")
    _refused(client, dataset, hold, [{**car, "w": 0}], "must be positive")
    _refused(client, dataset, hold, [{**car, "label": "bus"}], "unknown label 'bus'")
    _refused(client, dataset, hold, "car", "must be a list of boxes")
    _refused(client, dataset, hold, [[1, 2, 3]], "a list of 5 values")

    # Everyone draws the car, the third labeler a little loosely and with a person where
    # there is none; on the check image the second labeler misses the car.
    def answer(n: int, item: dict) -> list[object]:  # type: ignore[type-arg]
        if n == 2:
            return [
                {"x": 12, "y": 8, "w": 50, "h": 44, "label": "car"},
                {"x": 70, "y": 5, "w": 20, "h": 40, "label": "person"},
            ]
        if n == 1 and item["height"] == 101:
            return []
        return [[10, 10, 50, 40, "car"]]

    given = _answer_all(dataset, users, answer)
    assert len(given) == 3 and all(len(v) == 3 for v in given.values())
    stored = Label.objects.filter(task=gold)
    # Right: the first labeler; wrong: a missed car, an extra person.
    verdicts = {label.labeler_id: label.gold_correct for label in stored}
    assert [verdicts[user.pk] for user in users] == [True, False, False]
    assert LabelerStats.objects.filter(dataset=dataset, gold_answered=1).count() == 3

    _settle(dataset)
    street = LabelTask.objects.get(source_key="id:street-1")
    assert street.status == "complete" and street.posterior >= 0.8
    (box,) = street.consensus
    assert box["label"] == "car" and abs(box["x"] - 10) < 2 and 0 < box["score"] <= 1
    credits = _credits(dataset)
    paid = {n: credits[label.pk] for n, label in given[street.pk].items()}
    # Rewards follow each label's probability of being right: the extra box costs.
    assert 0 < paid[2] < paid[0] <= PER_LABEL

    run = services.consensus_run_request(dataset_id=dataset.pk, actor=admin_user)
    assert tasks.run_consensus(run.pk) == "done"
    run.refresh_from_db()
    assert run.metrics["task_type"] == "boxes" and run.metrics["tasks"] == 2
    assert run.metrics["gold_accuracy"] is not None
    page = admin.get(f"/daos/{ldao.slug}/{dataset.slug}/").content.decode()
    assert "Bounding boxes" in page and "Boxes per settled item" in page
    assert '<dd id="typed-settled">2</dd>' in page

    document = json.loads(_export(admin, dataset, "coco"))
    assert [c["name"] for c in document["categories"]] == ["car", "person"]
    assert {i["datadao_task"] for i in document["images"]} == {"street-1", "street-2"}
    assert all(len(a["bbox"]) == 4 for a in document["annotations"])
    archive = zipfile.ZipFile(io.BytesIO(_export(admin, dataset, "yolo")))
    assert archive.read("classes.txt").decode().split() == ["car", "person"]
    line = archive.read("labels/street-1.txt").decode().split()
    assert line[0] == "0" and all(0 < float(v) <= 1 for v in line[1:])
    index = list(csv.DictReader(io.StringIO(archive.read("images.csv").decode())))
    assert {row["label_file"] for row in index} == {"labels/street-1.txt", "labels/street-2.txt"}
    # A release pins the type's formats beside the CSV and JSON Lines; published again
    # unchanged, it is the same release (the zip is byte for byte the same).
    release = release_publish(dataset=dataset, actor=None)
    labels = release.manifest["labels"]
    assert labels["task_type"] == "boxes" and labels["settled_tasks"] == 2
    with content_open_verified(cid=labels["yolo"]["cid"]) as handle:
        assert "labels/street-1.txt" in zipfile.ZipFile(handle).namelist()
    with content_open_verified(cid=labels["coco"]["cid"]) as handle:
        assert len(json.load(handle)["images"]) == 2
    assert release_publish(dataset=dataset, actor=None).pk == release.pk
    wrong = admin.get(f"/api/labeling/{dataset.pk}/export/conll")
    assert wrong.status_code == 400 and "exports as coco or yolo" in wrong.json()["detail"]
    assert login(users[0]).get(f"/api/labeling/{dataset.pk}/export/coco").status_code == 403


# --- spans ------------------------------------------------------------------------------------

TEXTS = ["Ada Lovelace met Charles Babbage in London", "Paris is big", "Alan Turing"]


def test_spans_import_next_submit_settle_reward_export(ldao, admin_user):
    dataset = _dataset(ldao, task="spans", labels=["PER", "LOC"])
    admin = login(admin_user)
    job = _import(
        admin,
        dataset,
        [
            {"id": "s1", "text": TEXTS[0]},
            {"id": "s2", "text": TEXTS[1]},
            {"id": "g1", "text": TEXTS[2], "gold": [{"start": 0, "end": 11, "label": "PER"}]},
            {"id": "bad", "text": "short", "gold": [[0, 50, "PER"]]},
            {"id": "bad2", "text": "short", "gold": "not json"},
        ],
    )
    assert (job.rows_created, job.rows_failed) == (3, 2), job.errors
    assert any("line 4" in e and "past the text's 5 characters" in e for e in job.errors)
    assert any("line 5" in e and "not valid JSON" in e for e in job.errors)

    users = make_labelers(ldao, 3)
    client = login(users[0])
    task = _next(client, dataset)
    assert task["task_type"] == "spans" and task["rules"] == {"overlapping": False}
    text = task["item"]["text"]
    hold = task["hold"]
    _refused(client, dataset, hold, [[0, len(text) + 1, "PER"]], "past the text's")
    _refused(
        client, dataset, hold, [[0, 4, "PER"], [2, 6, "LOC"]], "does not allow overlapping spans"
    )
    _refused(client, dataset, hold, [[3, 3, "PER"]], "0 <= start < end")
    _refused(client, dataset, hold, [[0, 2, "ORG"]], "unknown label 'ORG'")

    truth = {
        TEXTS[0]: [[0, 12, "PER"], [17, 32, "PER"], [36, 42, "LOC"]],
        TEXTS[1]: [[0, 5, "LOC"]],
        TEXTS[2]: [[0, 11, "PER"]],
    }

    def answer(n: int, item: dict) -> list[object]:  # type: ignore[type-arg]
        spans = truth[item["text"]]
        # The third labeler calls London a person.
        return [[s, e, "PER"] for s, e, _ in spans] if n == 2 else spans

    given = _answer_all(dataset, users, answer)
    gold = LabelTask.objects.get(source_key="id:g1")
    assert all(label.gold_correct for label in Label.objects.filter(task=gold))
    _settle(dataset)
    first = LabelTask.objects.get(source_key="id:s1")
    assert first.status == "complete"
    assert [(s["start"], s["end"], s["label"]) for s in first.consensus] == [
        (0, 12, "PER"),
        (17, 32, "PER"),
        (36, 42, "LOC"),
    ]
    credits = _credits(dataset)
    paid = {n: credits[label.pk] for n, label in given[first.pk].items()}
    assert paid[2] < paid[0] == paid[1]

    lines = [json.loads(x) for x in _export(admin, dataset, "jsonl").decode().splitlines()]
    assert {line["task"] for line in lines} == {"s1", "s2"}
    classic = admin.get(f"/api/labeling/{dataset.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(classic.streaming_content).decode())))
    assert json.loads(rows[0]["consensus"])[0]["label"] == "PER"
    assert lines[0]["spans"][2] == {"start": 36, "end": 42, "label": "LOC",
                                    "score": lines[0]["spans"][2]["score"]}  # fmt: skip
    conll = _export(admin, dataset, "conll").decode()
    assert (
        "# task = s1\n# review = none\n# sent_back = 0\nAda\tB-PER\nLovelace\tI-PER\nmet\tO\n"
        in conll
    )
    assert "London\tB-LOC\n" in conll


def test_overlapping_spans_only_where_the_schema_allows(ldao, admin_user):
    dataset = _dataset(ldao, task="spans", labels=["PER", "ROLE"], overlapping=True)
    _import(login(admin_user), dataset, [{"id": "x", "text": "Queen Victoria"}])
    (user,) = make_labelers(ldao, 1)
    client = login(user)
    task = _next(client, dataset)
    assert task["rules"] == {"overlapping": True}
    ok = _submit(client, dataset, task["hold"], [[0, 14, "PER"], [0, 5, "ROLE"]])
    assert ok.status_code == 201, ok.content
    assert ok.json()["label"]["value"] == [
        {"start": 0, "end": 5, "label": "ROLE"},
        {"start": 0, "end": 14, "label": "PER"},
    ]


# --- pairwise ---------------------------------------------------------------------------------


def test_pairwise_import_next_submit_settle_reward_export(ldao, admin_user):
    dataset = _dataset(ldao, task="pairwise", allow_tie=False)
    admin = login(admin_user)
    answers = {"good": "The capital of France is Paris.", "meh": "Paris, probably.",
               "bad": "Lyon."}  # fmt: skip

    def pair(key: str, left: str, right: str, **extra: object) -> dict[str, object]:
        sides = {
            side: {"id": c, "text": answers[c]} for side, c in (("left", left), ("right", right))
        }
        return {"id": key, "prompt": "Capital of France?", **sides, **extra}

    job = _import(
        admin,
        dataset,
        [
            pair("p1", "good", "bad"),
            pair("p2", "meh", "good"),
            pair("p3", "meh", "bad", gold="left"),
            {"id": "p4", "prompt": "?", "left_id": "good", "left": "x", "right": "y"},
            pair("p5", "good", "good"),
            pair("p6", "good", "bad", gold="tie"),
        ],
    )
    assert (job.rows_created, job.rows_failed) == (3, 3), job.errors
    assert any("line 4" in e and "right candidate needs an id" in e for e in job.errors)
    assert any("line 5" in e and "both 'good'" in e for e in job.errors)
    assert any("line 6" in e and "does not allow a tie" in e for e in job.errors)

    users = make_labelers(ldao, 3)
    client = login(users[0])
    task = _next(client, dataset)
    assert task["task_type"] == "pairwise" and task["rules"] == {"allow_tie": False}
    assert task["labels"] == [] and task["item"]["kind"] == "pair"
    assert set(task["item"]) == {"kind", "prompt", "left", "right"}
    _refused(client, dataset, task["hold"], "tie", "does not allow a tie")
    _refused(client, dataset, task["hold"], "both", "'left', 'right' or 'tie'")

    rank = {"good": 0, "meh": 1, "bad": 2}

    def answer(n: int, item: dict) -> str:  # type: ignore[type-arg]
        better = "left" if rank[item["left"]["id"]] < rank[item["right"]["id"]] else "right"
        # The third labeler always says left.
        return "left" if n == 2 else better

    given = _answer_all(dataset, users, answer)
    gold = LabelTask.objects.get(source_key="id:p3")
    assert all(label.gold_correct for label in Label.objects.filter(task=gold))
    _settle(dataset)
    p2 = LabelTask.objects.get(source_key="id:p2")
    # Two of three say right: not sure enough for the target, so one more label is asked for.
    assert p2.status == "open" and p2.wanted == 4 and p2.consensus == "right"
    extra = make_labelers(ldao, 1)
    _answer_all(dataset, extra, lambda n, item: answer(0, item))
    _settle(dataset)
    p2.refresh_from_db()
    assert p2.status == "complete" and p2.consensus == "right"
    credits = _credits(dataset)
    paid = {n: credits[label.pk] for n, label in given[p2.pk].items()}
    assert paid[2] < paid[0]

    run = services.consensus_run_request(dataset_id=dataset.pk, actor=admin_user)
    assert tasks.run_consensus(run.pk) == "done"
    run.refresh_from_db()
    assert [c["id"] for c in run.metrics["candidates"]] == ["good", "meh", "bad"]
    page = admin.get(f"/daos/{ldao.slug}/{dataset.slug}/").content.decode()
    assert "Pairwise comparison" in page and "<code>good</code>" in page

    lines = [json.loads(x) for x in _export(admin, dataset, "jsonl").decode().splitlines()]
    comparisons = [line for line in lines if line["kind"] == "comparison"]
    candidates = [line for line in lines if line["kind"] == "candidate"]
    assert {c["task"] for c in comparisons} >= {"p2"}
    assert [c["candidate"] for c in candidates] == ["good", "meh", "bad"]
    assert [c["rank"] for c in candidates] == [0, 1, 2]


# --- text -------------------------------------------------------------------------------------


def test_text_import_next_submit_settle_reward_export(ldao, admin_user):
    dataset = _dataset(ldao, task="text", item_kind="audio", max_cer=0.2)
    admin = login(admin_user)
    clip = _png(8, 8)  # any content: the item is its CID
    job = _import(
        admin,
        dataset,
        [
            {"id": "a1", "cid": clip, "media_type": "audio/ogg"},
            {"id": "a2", "cid": clip, "gold": "the quick brown fox"},
            {"id": "bad", "cid": "not-a-cid"},
            {"id": "bad2", "cid": clip, "gold": "   "},
        ],
    )
    assert (job.rows_created, job.rows_failed) == (2, 2), job.errors
    assert any("line 3" in e and "not a CID" in e for e in job.errors)
    assert any("line 4" in e and "transcription is empty" in e for e in job.errors)

    users = make_labelers(ldao, 3)
    client = login(users[0])
    task = _next(client, dataset)
    assert task["task_type"] == "text" and task["item"]["kind"] == "audio"
    assert task["item"]["audio_url"] == f"/ipfs/{clip}"
    _refused(client, dataset, task["hold"], "  ", "transcription is empty")
    _refused(client, dataset, task["hold"], ["a"], "as a string")

    def answer(n: int, item: dict) -> str:  # type: ignore[type-arg]
        # The second labeler drops a letter (CER 1/19, under 0.2), the third garbles it.
        return ["the quick brown fox", "the quick brwn fox", "a quack brow fax jumps"][n]

    given = _answer_all(dataset, users, answer)
    gold = LabelTask.objects.get(source_key="id:a2")
    verdicts = {n: label.gold_correct for n, label in given[gold.pk].items()}
    assert verdicts == {0: True, 1: True, 2: False}
    _settle(dataset)
    a1 = LabelTask.objects.get(source_key="id:a1")
    assert a1.consensus == "the quick brown fox"
    credits = _credits(dataset)
    if a1.status == "complete":
        paid = {n: credits[label.pk] for n, label in given[a1.pk].items()}
        assert paid[2] < paid[1] < paid[0]
    else:
        assert a1.wanted == 4
    lines = [json.loads(x) for x in _export(admin, dataset, "jsonl").decode().splitlines()]
    assert all(set(line) == {"task", "text", "confidence", "review", "sent_back"} for line in lines)
    assert all((line["review"], line["sent_back"]) == (None, 0) for line in lines)
    with_gold = admin.get(f"/api/labeling/{dataset.pk}/export/jsonl?gold=1")
    texts = {json.loads(x)["task"]: json.loads(x)["text"]
             for x in b"".join(with_gold.streaming_content).decode().splitlines()}  # fmt: skip
    assert texts["a2"] == "the quick brown fox"


def test_text_disagreement_asks_for_another_label(ldao, admin_user):
    """Three labelers who agree on everything else disagree on one clip: its consensus is
    unsure (the labelers' skills come from their other tasks too, not from this one alone),
    so it asks for a fourth label and pays nobody yet."""
    dataset = _dataset(ldao, task="text", confidence_target=0.95)
    clips = [{"id": f"i{n}", "cid": _png(8, 8 + n)} for n in range(1, 7)]
    _import(login(admin_user), dataset, clips)
    users = make_labelers(ldao, 3)
    hard = f"/ipfs/{clips[0]['cid']}"

    def answer(n: int, item: dict) -> str:  # type: ignore[type-arg]
        if item["image_url"] == hard:
            return ["red car", "red cat", "rod bar"][n]
        return "a clear sentence everyone hears alike"

    _answer_all(dataset, users, answer)
    _settle(dataset)
    task = LabelTask.objects.get(source_key="id:i1")
    assert task.status == "open" and task.wanted == 4 and task.posterior < 0.95
    credited = {int(pk) for pk in RewardEntry.objects.values_list("source_id", flat=True)}
    assert credited and not credited & set(task.labels.values_list("pk", flat=True))
