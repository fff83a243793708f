"""Pre-labels on the real stack (PostgreSQL, the HTTP API, the import worker's task): the
import refuses bad lines by number, ``next`` shows a suggestion (never on a check question),
submit records whether it was taken, on the hot path and the general one alike."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import services, tasks
from labeling.models import Label, LabelerStats, LabelImport, LabelTask
from labeling.services import fastpath
from labeling.services.submit import _label_submit_general
from tests.labeling.conftest import login, make_dataset, make_labelers

pytestmark = pytest.mark.django_db


def _items(dataset, n: int, *, gold: list[str] | None = None):  # type: ignore[no-untyped-def]
    return LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"id:e{i}",
            kind="text",
            payload={"text": f"item {i}"},
            wanted=3,
            gold=[gold[i]] if gold else None,
            is_gold=bool(gold),
        )
        for i in range(n)
    )


def _upload(client, dataset, lines: list[object], name: str = "pre.jsonl", **form):  # type: ignore[no-untyped-def]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    file = io.BytesIO(body.encode())
    file.name = name
    return client.post(
        f"/api/labeling/{dataset.pk}/imports", {"file": file, "kind": "predictions", **form}
    )


def test_prediction_import_names_bad_lines_and_replaces(ldataset, admin_user, labelers):
    a, b, c = _items(ldataset, 3)
    lines = [
        {"external_id": "e0", "prediction": "cat", "model_version": "m1", "score": 0.8},
        {"id": b.pk, "prediction": ["dog"]},
        "{not json",
        {"external_id": "nope", "prediction": "cat"},
        {"id": c.pk, "prediction": "wolf"},
        {"id": c.pk, "prediction": "cat", "score": 2},
        {"external_id": "e2"},
        {"id": 10**9, "prediction": "cat"},
    ]
    assert _upload(login(labelers[0]), ldataset, lines).status_code == 403
    response = _upload(login(admin_user), ldataset, lines)
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "predictions"
    job_id = response.json()["id"]
    assert tasks.import_items(job_id) == "done"
    assert tasks.import_items(job_id) == "skipped"  # a second delivery does nothing
    job = LabelImport.objects.get(pk=job_id)
    assert (job.rows_done, job.rows_created, job.rows_failed) == (8, 2, 6)
    errors = job.errors
    assert any(e.startswith("line 3: not valid JSON") for e in errors), errors
    assert "line 4: no item with external_id 'nope' in this dataset" in errors
    assert any(e.startswith("line 5: prediction: Unknown label 'wolf'") for e in errors), errors
    assert "line 6: 'score' must be a number from 0 to 1" in errors
    assert "line 7: 'prediction' is missing" in errors
    assert f"line 8: no item with id {10**9} in this dataset" in errors
    a.refresh_from_db()
    b.refresh_from_db()
    c.refresh_from_db()
    assert (a.prediction, a.prediction_model, a.prediction_score) == (["cat"], "m1", 0.8)
    assert (b.prediction, b.prediction_model, b.prediction_score) == (["dog"], "", None)
    assert c.prediction is None  # nothing half-stored for a refused line
    # A re-import replaces the item's pre-label.
    again = _upload(login(admin_user), ldataset, [{"external_id": "e0", "prediction": "bird"}])
    assert tasks.import_items(again.json()["id"]) == "done"
    a.refresh_from_db()
    assert (a.prediction, a.prediction_model, a.prediction_score) == (["bird"], "", None)


def test_prediction_import_refusals(ldataset, admin_user):
    client = login(admin_user)
    csv = _upload(client, ldataset, ["id,prediction", "1,cat"], name="pre.csv")
    assert csv.status_code == 400
    assert "Pre-labels are imported from JSON Lines" in csv.json()["detail"]
    odd = _upload(client, ldataset, [{"id": 1, "prediction": "cat"}], kind="guesses")
    assert odd.status_code == 400 and "Unknown import kind 'guesses'" in odd.json()["detail"]
    assert not LabelImport.objects.exists()


def test_typed_predictions_are_checked_against_their_item(ldao, admin_user):
    dataset = make_dataset(ldao, task="spans", labels=["PER", "ORG"])
    (task,) = LabelTask.objects.bulk_create(
        [
            LabelTask(
                dataset=dataset, source_key="id:s", kind="text", payload={"text": "Ada Lovelace"}
            )
        ]
    )
    lines = [
        {"id": task.pk, "prediction": [[0, 3, "PER"]]},
        {"id": task.pk, "prediction": [[0, 99, "PER"]]},
    ]
    job = _upload(login(admin_user), dataset, lines).json()
    assert tasks.import_items(job["id"]) == "done"
    stored = LabelImport.objects.get(pk=job["id"])
    assert stored.rows_created == 1 and stored.errors[0].startswith("line 2: prediction: ")
    task.refresh_from_db()
    assert task.prediction == [{"start": 0, "end": 3, "label": "PER"}]


def _next(client, dataset):  # type: ignore[no-untyped-def]
    return client.get(f"/api/labeling/{dataset.pk}/next").json()["task"]


def _submit(client, dataset, hold: int, label: object):  # type: ignore[no-untyped-def]
    url = f"/api/labeling/{dataset.pk}/holds/{hold}/label"
    response = client.post(url, data=json.dumps({"label": label}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response


def test_next_suggests_submit_records_taken_or_not_never_on_check_questions(ldao):
    dataset = make_dataset(ldao, gold_rate=0.5, suggestion_rate=1.0)
    ordinary = _items(dataset, 6)
    gold = LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"g{i}",
            kind="text",
            payload={"text": f"check {i}"},
            gold=["dog"],
            is_gold=True,
            # A pre-label stored on a check question is never shown.
            prediction=["dog"],
        )
        for i in range(4)
    )
    LabelTask.objects.filter(pk__in=[t.pk for t in ordinary]).update(
        prediction=["cat"], prediction_model="m2", prediction_score=0.5
    )
    (user,) = make_labelers(ldao, 1)
    client = login(user)
    seen: dict[int, object] = {}
    answers = iter(["cat", "bird"] * 10)
    while (task := _next(client, dataset)) is not None:
        held = LabelTask.objects.get(assignments__pk=task["hold"])
        seen[held.pk] = task["suggestion"]
        _submit(client, dataset, task["hold"], next(answers))
    gold_ids = {t.pk for t in gold}
    assert {pk for pk in seen if pk in gold_ids}, "no check question was handed out"
    assert all(seen[pk] is None for pk in seen if pk in gold_ids)
    assert all(
        seen[t.pk] == {"value": ["cat"], "model_version": "m2", "score": 0.5} for t in ordinary
    )
    labels = Label.objects.filter(labeler=user)
    assert all(label.suggested is None for label in labels if label.task_id in gold_ids)
    for label in labels.exclude(task_id__in=gold_ids):
        assert label.suggested is (label.value == ["cat"])
    stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
    taken = labels.filter(suggested=True).count()
    assert (stats.suggestions_shown, stats.suggestions_taken) == (6, taken)
    assert 0 < taken < 6


def test_a_zero_rate_shows_nothing_and_records_nothing(ldao):
    dataset = make_dataset(ldao, suggestion_rate=0.0)
    _items(dataset, 2)
    LabelTask.objects.update(prediction=["cat"])
    (user,) = make_labelers(ldao, 1)
    client = login(user)
    task = _next(client, dataset)
    assert task["suggestion"] is None
    _submit(client, dataset, task["hold"], "cat")
    assert Label.objects.get().suggested is None
    stats = LabelerStats.objects.get(labeler=user)
    assert (stats.suggestions_shown, stats.suggestions_taken) == (0, 0)


def test_the_hot_path_stays_one_statement_and_agrees_with_the_general_path(ldao):
    dataset = make_dataset(ldao, suggestion_rate=1.0)
    _items(dataset, 4)
    LabelTask.objects.update(prediction=["dog"])
    labelers = make_labelers(ldao, 2)
    warm = services.task_next(dataset_id=dataset.pk, labeler=labelers[0])
    services.label_submit(dataset_id=dataset.pk, labeler=labelers[0], hold_id=warm.pk, value="dog")
    with CaptureQueriesContext(connection) as captured:
        hold = services.task_next(dataset_id=dataset.pk, labeler=labelers[0])
    assert len(captured.captured_queries) == 1
    assert hold.task.prediction == ["dog"]  # carried by the one statement
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=labelers[0], hold_id=hold.pk, value="dog"
        )
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == 1, statements
    assert label.suggested is True and Label.objects.get(pk=label.pk).suggested is True
    # The general path records the same.
    other = services.task_next(dataset_id=dataset.pk, labeler=labelers[1])
    general = _label_submit_general(
        dataset_id=dataset.pk, labeler=labelers[1], hold_id=other.pk, value="cat", duration_ms=0
    )
    assert general.suggested is False
    stats = LabelerStats.objects.get(dataset=dataset, labeler=labelers[1])
    assert (stats.suggestions_shown, stats.suggestions_taken) == (1, 0)
    assert fastpath.enabled()
