"""The labeling JSON API: blindness, refusals (4xx with a message, nothing stored), CSRF,
tokens, exports and imports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from contributions.tokens import api_token_create
from labeling import services, tasks
from labeling.models import Label, LabelImport, LabelTask
from tests.labeling.conftest import age_labels, login, make_gold, make_tasks

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: object) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _label_all(dataset, users, value):  # type: ignore[no-untyped-def]
    for user in users:
        while (hold := services.task_next(dataset_id=dataset.pk, labeler=user)) is not None:
            services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)


def test_next_submit_flow_is_blind(ldataset, labelers):
    make_tasks(ldataset, 1)
    make_gold(ldataset, ["dog"])
    _label_all(ldataset, labelers[:2], "bird")
    client = login(labelers[2])
    response = client.get(f"/api/labeling/{ldataset.pk}/next")
    assert response.status_code == 200
    body = response.json()
    # Exactly the item and the label set: no other labels, counts, gold flag or source.
    assert set(body["task"]) == {
        "hold", "expires_at", "task_type", "item", "labels", "multi_choice", "rules",
        "suggestion",
    }  # fmt: skip
    assert body["task"]["suggestion"] is None  # no pre-labels imported
    assert body["task"]["item"] == {"kind": "text", "text": "item 0"}
    assert body["task"]["labels"] == ["cat", "dog", "bird"]
    assert set(body["progress"]) == {
        "done_today",
        "done_total",
        "gold_accuracy",
        "gold_answered",
        "paused",
        "paused_reason",
    }
    hold = body["task"]["hold"]
    done = _post(client, f"/api/labeling/{ldataset.pk}/holds/{hold}/label", {"label": "cat"})
    assert done.status_code == 201, done.content
    assert set(done.json()["label"]) == {"hold", "value", "at"}
    assert done.json()["progress"]["done_total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"label": "wolf"}, 400, "Unknown label 'wolf'"),
        ({}, 400, "Send the answer as"),
        ({"label": "cat", "duration_ms": -1}, 400, "duration_ms"),
        ("not an object", 400, "must be a JSON object"),
    ],
)
def test_bad_submissions_are_4xx_with_a_message(ldataset, labelers, body, status, message):
    make_tasks(ldataset, 1)
    client = login(labelers[0])
    hold = client.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]["hold"]
    response = _post(client, f"/api/labeling/{ldataset.pk}/holds/{hold}/label", body)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert Label.objects.count() == 0


def test_unassigned_double_and_closed_are_refused(ldataset, labelers):
    make_tasks(ldataset, 1)
    client = login(labelers[0])
    response = _post(client, f"/api/labeling/{ldataset.pk}/holds/999999/label", {"label": "cat"})
    assert response.status_code == 404 and "hold no task" in response.json()["detail"]
    hold = client.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]["hold"]
    url = f"/api/labeling/{ldataset.pk}/holds/{hold}/label"
    assert _post(client, url, {"label": "cat"}).status_code == 201
    again = _post(client, url, {"label": "dog"})
    assert again.status_code == 409 and "already labeled" in again.json()["detail"]
    other = _post(login(labelers[1]), url, {"label": "dog"})
    assert other.status_code == 404
    assert Label.objects.count() == 1


def test_not_a_labeling_dataset_and_anonymous(ldataset, labelers):
    assert Client().get(f"/api/labeling/{ldataset.pk}/next").status_code == 401
    missing = login(labelers[0]).get("/api/labeling/999999/next")
    assert missing.status_code == 404 and "no labeling dataset" in missing.json()["detail"]
    assert login(labelers[0]).post(f"/api/labeling/{ldataset.pk}/next").status_code == 405


def test_session_posts_need_csrf_tokens_do_not(ldataset, labelers):
    make_tasks(ldataset, 2)
    client = Client(enforce_csrf_checks=True)
    client.force_login(labelers[0], backend="django.contrib.auth.backends.ModelBackend")
    hold = client.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]["hold"]
    refused = _post(client, f"/api/labeling/{ldataset.pk}/holds/{hold}/skip", {})
    assert refused.status_code == 403
    _, token = api_token_create(user=labelers[1], name="script")
    bearer = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
    hold = bearer.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]["hold"]
    ok = _post(bearer, f"/api/labeling/{ldataset.pk}/holds/{hold}/label", {"label": "dog"})
    assert ok.status_code == 201
    bad = Client(headers={"Authorization": "Bearer dd_nope"})
    assert bad.get(f"/api/labeling/{ldataset.pk}/next").status_code == 401


def test_skip_undo_and_empty_state(ldataset, labelers):
    make_tasks(ldataset, 1)
    client = login(labelers[0])
    hold = client.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]["hold"]
    assert _post(client, f"/api/labeling/{ldataset.pk}/holds/{hold}/label", {"label": "cat"})
    undone = _post(client, f"/api/labeling/{ldataset.pk}/undo", {})
    assert undone.status_code == 200 and undone.json()["task"]["hold"] == hold
    assert _post(client, f"/api/labeling/{ldataset.pk}/holds/{hold}/skip", {}).status_code == 200
    empty = client.get(f"/api/labeling/{ldataset.pk}/next").json()
    assert empty["task"] is None and "Nothing left" in empty["detail"]
    nothing = _post(client, f"/api/labeling/{ldataset.pk}/undo", {})
    assert nothing.status_code == 409 and "Nothing to undo" in nothing.json()["detail"]


def test_only_the_reported_gold_accuracy_is_shown(ldataset, labelers):
    """The running counters never reach the labeler; the figure reported at their last report
    point (completed windows only) does."""
    from labeling.models import LabelerStats

    LabelerStats.objects.create(
        dataset=ldataset, labeler=labelers[0], gold_answered=14, gold_correct=13
    )
    client = login(labelers[0])
    me = client.get(f"/api/labeling/{ldataset.pk}/me").json()
    assert (me["gold_accuracy"], me["gold_answered"]) == (None, None)
    LabelerStats.objects.filter(labeler=labelers[0]).update(
        gold_shown_answered=10, gold_shown_correct=8
    )
    me = client.get(f"/api/labeling/{ldataset.pk}/me").json()
    assert (me["gold_accuracy"], me["gold_answered"]) == (0.8, 10)


def test_export_streams_settled_tasks_escaped_and_only_for_admins(ldataset, labelers, admin_user):
    tasks_ = make_tasks(ldataset, 2)
    LabelTask.objects.filter(pk=tasks_[1].pk).update(source_key="=HYPERLINK(1)")
    make_gold(ldataset, ["dog"])
    _label_all(ldataset, labelers[:3], "cat")
    age_labels()
    for task in tasks_:
        services.task_consensus_update(task_id=task.pk)
    assert login(labelers[0]).get(f"/api/labeling/{ldataset.pk}/export.csv").status_code == 403
    response = login(admin_user).get(f"/api/labeling/{ldataset.pk}/export.csv")
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["consensus"] for r in rows] == ["cat", "cat"]
    assert rows[1]["source"] == "'=HYPERLINK(1)"
    assert len(json.loads(rows[0]["labels"])) == 3
    assert all(r["gold"] == "" for r in rows)  # gold tasks stay out of the default export
    jsonl = login(admin_user).get(f"/api/labeling/{ldataset.pk}/export.jsonl?gold=1")
    lines = [json.loads(x) for x in b"".join(jsonl.streaming_content).decode().splitlines()]
    assert len(lines) == 3 and lines[2]["gold"] == ["dog"]


def test_import_via_api_then_task(ldataset, admin_user, labelers):
    body = "id,text,gold\na1,hello,\na2,world,dog\na3,,\na4,bad gold,wolf\n"
    upload = io.BytesIO(body.encode())
    upload.name = "items.csv"
    refused = login(labelers[0]).post(f"/api/labeling/{ldataset.pk}/imports", {"file": upload})
    assert refused.status_code == 403
    upload.seek(0)
    response = login(admin_user).post(f"/api/labeling/{ldataset.pk}/imports", {"file": upload})
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert tasks.import_items(job_id) == "done"
    assert tasks.import_items(job_id) == "skipped"  # a second delivery does nothing
    job = LabelImport.objects.get(pk=job_id)
    assert (job.rows_done, job.rows_created, job.rows_failed) == (4, 2, 2)
    assert any("line 4" in e and "non-empty 'text'" in e for e in job.errors)
    assert any("line 5" in e and "Unknown label 'wolf'" in e for e in job.errors)
    gold = LabelTask.objects.get(source_key="id:a2")
    assert gold.is_gold and gold.gold == ["dog"]
    detail = login(admin_user).get(f"/api/labeling/imports/{job_id}").json()
    assert detail["status"] == "done" and detail["progress"] == 1.0


def test_consensus_run_via_api_then_task(ldataset, labelers, admin_user):
    make_tasks(ldataset, 3)
    make_gold(ldataset, ["dog"])
    _label_all(ldataset, labelers[:3], "cat")
    assert (
        _post(login(labelers[0]), f"/api/labeling/{ldataset.pk}/consensus", {}).status_code == 403
    )
    response = _post(login(admin_user), f"/api/labeling/{ldataset.pk}/consensus", {"method": "ds"})
    assert response.status_code == 202
    run_id = response.json()["id"]
    # Asking again while it is queued returns the same run.
    again = _post(login(admin_user), f"/api/labeling/{ldataset.pk}/consensus", {})
    assert again.json()["id"] == run_id
    assert tasks.run_consensus(run_id) == "done"
    assert tasks.run_consensus(run_id) == "skipped"
    summary = login(labelers[0]).get(f"/api/labeling/{ldataset.pk}/consensus").json()
    metrics = summary["latest_done_run"]["metrics"]
    assert metrics["tasks"] == 3 and metrics["labelers"] == 3
    assert metrics["labels"] == Label.objects.count()
    assert LabelTask.objects.filter(is_gold=False, consensus=["cat"]).count() == 3
    bad = _post(login(admin_user), f"/api/labeling/{ldataset.pk}/consensus", {"method": "vote"})
    assert bad.status_code == 400 and "Unknown method" in bad.json()["detail"]
