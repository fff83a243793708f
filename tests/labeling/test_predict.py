"""Pre-labels from a dataset's model server over HTTP (``labeling.services.predict``), against
a real model server: a threaded http.server on loopback that answers as the test scripts it.
Loopback is allowed by setting where a test says so, and refused otherwise."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from datadao.models import AuditEvent, Membership, Role
from labeling import predict_wire, services, tasks
from labeling.models import (
    ConsensusRun,
    LabelTask,
    PredictionEndpoint,
    PredictionState,
    RunStatus,
)
from labeling.services import predict
from tests.factories import UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.labeling.conftest import login, make_dataset, make_gold, make_tasks

TOKEN = "model-server-token-3f9a"

# (the request's items) -> (status, seconds to wait, the answer's JSON)
Script = Callable[[list[dict[str, Any]]], tuple[int, float, Any]]


@dataclass
class ModelServer:
    port: int = 0
    script: Script = lambda items: (200, 0.0, {"predictions": []})
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/predict"

    def seen(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server_state = ModelServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            with server_state.lock:
                server_state.requests.append(
                    {"body": body, "authorization": self.headers.get("Authorization")}
                )
            status, wait, answer = server_state.script(body["items"])
            time.sleep(wait)
            raw = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass  # the platform gave up waiting

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def loopback_allowed(settings):  # type: ignore[no-untyped-def]
    settings.PREDICTIONS_ALLOW_PRIVATE = False
    settings.PREDICTIONS_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PREDICTIONS_RETRY_DELAYS = [1, 1]


def _cat_or_dog(items: list[dict[str, Any]]) -> tuple[int, float, Any]:
    """A model: "cat" for items whose text ends in an even digit, "dog" otherwise; a label
    outside the set for items ending in 5 (refused when stored), none at all for those ending
    in 7, and one for an item it was not asked about."""
    out: list[dict[str, Any]] = []
    for item in items:
        last = item["data"]["text"][-1]
        if last == "7":
            continue
        label = "zebra" if last == "5" else ("cat" if int(last) % 2 == 0 else "dog")
        out.append({"id": item["id"], "prediction": [label], "model_version": "m1", "score": 0.8})
    out.append({"id": 10**9, "prediction": ["cat"]})
    return 200, 0.0, {"predictions": out}


def _run_to_end(endpoint_id: int) -> list[str]:
    """The run's tasks, one after the other as the worker would take them (in a test
    transaction the next batch's message is never sent: it goes out on commit)."""
    outcomes = []
    while (outcome := tasks.fetch_predictions(endpoint_id)) != "idle":
        outcomes.append(outcome)
        assert len(outcomes) < 50, outcomes
    return outcomes


@pytest.mark.django_db
def test_a_model_server_pre_labels_the_open_items_through_the_api(
    ldao, admin_user, model_server, loopback_allowed
):
    dataset = make_dataset(ldao)
    items = make_tasks(dataset, 23)
    gold = make_gold(dataset, ["cat", "dog"])
    imported = items[0]
    LabelTask.objects.filter(pk=imported.pk).update(prediction=["bird"], prediction_model="imp")
    model_server.script = _cat_or_dog
    admin = login(admin_user)
    registered = admin.post(
        f"/api/labeling/{dataset.pk}/prediction-endpoint",
        data=json.dumps({"url": model_server.url + "?key=abc", "token": TOKEN, "batch_size": 10}),
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.content
    shown = registered.json()
    assert shown["endpoint"]["url"] == model_server.url  # the query may carry a secret
    assert shown["endpoint"]["token"] is True and TOKEN not in registered.content.decode()
    assert shown["endpoint"]["state"] == "queued"
    assert shown["open_items_without_prediction"] == 22 + 2
    # The token is stored sealed only, and the audit trail names no secret.
    endpoint = PredictionEndpoint.objects.get(dataset=dataset)
    assert endpoint.sealed_token and TOKEN not in endpoint.sealed_token
    audit = AuditEvent.objects.get(verb="labeling.prediction_endpoint_set")
    assert TOKEN not in json.dumps(audit.details) and "key=abc" not in json.dumps(audit.details)

    assert _run_to_end(endpoint.pk) == ["stored", "stored", "stored"]
    # Three batches of at most 10 (24 open items without a pre-label: 22 ordinary, 2 gold),
    # each with the bearer token and the dataset's label set.
    seen = model_server.seen()
    assert [len(r["body"]["items"]) for r in seen] == [10, 10, 4]
    assert {r["authorization"] for r in seen} == {f"Bearer {TOKEN}"}
    assert seen[0]["body"]["labels"] == ["cat", "dog", "bird"]
    asked = [i["id"] for r in seen for i in r["body"]["items"]]
    assert imported.pk not in asked and sorted(asked) == sorted(
        [t.pk for t in items[1:]] + [g.pk for g in gold]
    )

    stored = dict(
        LabelTask.objects.filter(dataset=dataset, prediction__isnull=False).values_list(
            "pk", "prediction"
        )
    )
    assert stored[imported.pk] == ["bird"]  # an imported pre-label is left as it is
    for task in items[1:]:
        last = task.payload["text"][-1]
        if last in "57":
            assert task.pk not in stored
        else:
            assert stored[task.pk] == (["cat"] if int(last) % 2 == 0 else ["dog"])
    endpoint.refresh_from_db()
    assert endpoint.state == PredictionState.IDLE and endpoint.run_finished_at is not None
    refused_items = [t for t in items[1:] if t.payload["text"].endswith("5")]
    assert endpoint.predictions_refused == len(refused_items) + 3  # and 3 unasked-for ids
    assert endpoint.items_sent == 24
    assert endpoint.predictions_stored == len(stored) - 1
    assert f"item {refused_items[0].pk}: prediction:" in " ".join(endpoint.refusals)
    assert any("was not in the batch sent" in r for r in endpoint.refusals)
    assert LabelTask.objects.get(pk=items[2].pk).prediction_model == "m1"

    # Idempotent: the task again finds nothing to do and asks nothing.
    assert tasks.fetch_predictions(endpoint.pk) == "idle"
    assert len(model_server.seen()) == 3
    status = admin.get(f"/api/labeling/{dataset.pk}/prediction-endpoint").json()
    assert status["endpoint"]["state"] == "idle" and status["endpoint"]["items_sent"] == 24

    # A new run asks again about what is still without a pre-label (the refused and the
    # unanswered), not about what got one.
    again = admin.post(f"/api/labeling/{dataset.pk}/prediction-endpoint/run")
    assert again.status_code == 202 and again.json()["endpoint"]["state"] == "queued"
    _run_to_end(endpoint.pk)
    asked_again = {i["id"] for r in model_server.seen()[3:] for i in r["body"]["items"]}
    assert asked_again == {t.pk for t in items[1:] if t.payload["text"][-1] in "57"}

    removed = admin.delete(f"/api/labeling/{dataset.pk}/prediction-endpoint")
    assert removed.status_code == 204 and not PredictionEndpoint.objects.exists()
    assert LabelTask.objects.filter(dataset=dataset, prediction__isnull=False).count() == len(
        stored
    )


@pytest.mark.django_db
def test_a_duplicate_message_stores_a_batch_once(ldao, admin_user, model_server, loopback_allowed):
    dataset = make_dataset(ldao)
    make_tasks(dataset, 4)
    model_server.script = _cat_or_dog
    endpoint = predict.prediction_endpoint_set(
        dataset_id=dataset.pk, actor=admin_user, url=model_server.url
    )
    batch = predict.prediction_batch_claim(endpoint_id=endpoint.pk)
    assert batch is not None and len(batch.sent) == 4
    # While its try is under way the run is leased: a second message finds it not due.
    assert predict.prediction_batch_claim(endpoint_id=endpoint.pk) is None
    answer = _cat_or_dog([{"id": pk, "data": {"text": f"x{pk}"}} for pk in sorted(batch.sent)])
    parsed, bad = predict_wire.parse_answer(json.dumps(answer[2]).encode(), batch.sent)
    assert predict.prediction_batch_store(batch=batch, predictions=parsed, bad=bad) is True
    first = PredictionEndpoint.objects.get(pk=endpoint.pk)
    # The same batch again (the message redelivered after the worker died past the commit).
    assert predict.prediction_batch_store(batch=batch, predictions=parsed, bad=bad) is False
    assert predict.prediction_batch_fail(batch=batch, error="late") == "stale"
    again = PredictionEndpoint.objects.get(pk=endpoint.pk)
    assert (again.predictions_stored, again.items_sent) == (
        first.predictions_stored,
        first.items_sent,
    )
    assert again.last_error == ""

    # The run restarted while a try is under way (the admin registered the URL again): the
    # old try's answers belong to no run and are not stored.
    LabelTask.objects.filter(dataset=dataset).update(prediction=None)
    predict.prediction_endpoint_set(dataset_id=dataset.pk, actor=admin_user, url=model_server.url)
    old = predict.prediction_batch_claim(endpoint_id=endpoint.pk)
    predict.prediction_endpoint_set(dataset_id=dataset.pk, actor=admin_user, url=model_server.url)
    new = predict.prediction_batch_claim(endpoint_id=endpoint.pk)
    assert old is not None and new is not None and old.cursor == new.cursor == 0
    assert predict.prediction_batch_store(batch=old, predictions=parsed, bad=[]) is False
    assert not LabelTask.objects.filter(dataset=dataset, prediction__isnull=False).exists()
    assert predict.prediction_batch_store(batch=new, predictions=parsed, bad=[]) is True


@pytest.mark.django_db
def test_private_addresses_are_refused_without_the_setting(
    ldao, admin_user, model_server, settings
):
    settings.PREDICTIONS_ALLOW_PRIVATE = False
    settings.PREDICTIONS_ALLOWED_HOSTS = []
    dataset = make_dataset(ldao)
    make_tasks(dataset, 3)
    admin = login(admin_user)
    for url, why in (
        (model_server.url, "is a loopback address"),
        ("http://10.0.0.5/predict", "is a private-network address"),
        ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
        ("ftp://models.example/predict", "is not http or https"),
        ("https://user:pw@models.example/predict", "carries credentials"),
    ):
        refused = admin.post(
            f"/api/labeling/{dataset.pk}/prediction-endpoint",
            data=json.dumps({"url": url}),
            content_type="application/json",
        )
        assert refused.status_code == 400, (url, refused.content)
        assert refused.json()["error"] == "url_refused"
        assert why in refused.json()["detail"], (url, refused.json())
        if why.startswith("is a"):
            assert "prediction endpoints may not call" in refused.json()["detail"]
    for body, why in (
        ({"url": "https://93.184.216.34/p", "token": "two words"}, "printable ASCII"),
        ({"url": "https://93.184.216.34/p", "batch_size": 0}, "'batch_size' must be"),
        ({}, "Give the prediction endpoint's 'url'"),
    ):
        refused = admin.post(
            f"/api/labeling/{dataset.pk}/prediction-endpoint",
            data=json.dumps(body),
            content_type="application/json",
        )
        assert refused.status_code == 400 and why in refused.json()["detail"], refused.json()
    assert not PredictionEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="labeling.prediction").exists()

    # Allowed when registered, the setting withdrawn since: refused again at send time, and
    # the run stops at once (no retry would help), naming why. Nothing reached the server.
    settings.PREDICTIONS_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = predict.prediction_endpoint_set(
        dataset_id=dataset.pk, actor=admin_user, url=model_server.url
    )
    settings.PREDICTIONS_ALLOWED_HOSTS = []
    assert tasks.fetch_predictions(endpoint.pk) == "failed"
    endpoint.refresh_from_db()
    assert endpoint.state == PredictionState.FAILED
    assert "refused: 127.0.0.1 is a loopback address" in endpoint.last_error
    assert model_server.seen() == []


@pytest.mark.django_db
def test_only_the_dao_admins_manage_the_endpoint(ldao, admin_user, model_server, loopback_allowed):
    dataset = make_dataset(ldao)
    labeler = UserFactory()
    Membership.objects.create(dao=ldao, user=labeler, role=Role.CONTRIBUTOR)
    client = login(labeler)
    url = f"/api/labeling/{dataset.pk}/prediction-endpoint"
    body = json.dumps({"url": model_server.url})
    assert client.post(url, data=body, content_type="application/json").status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(url + "/run").status_code == 403
    assert not PredictionEndpoint.objects.exists()
    admin = login(admin_user)
    assert admin.get(url).json() == {"endpoint": None, "open_items_without_prediction": 0}
    nothing = admin.post(url + "/run")
    assert nothing.status_code == 409 and "register one first" in nothing.json()["detail"]
    # Session writes need the CSRF token, DELETE included.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    assert strict.post(url, data=body, content_type="application/json").status_code == 403
    assert strict.delete(url).status_code == 403


# --- through real workers ----------------------------------------------------------------------


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    """A predict worker and a default worker, as deploy/Procfile.host runs them."""
    env = {"PREDICTIONS_ALLOWED_HOSTS": "127.0.0.1", "PREDICTIONS_RETRY_DELAYS": "1,1"}
    predict_worker = start_worker(tmp_path, queues="predict", extra_env=env)
    default_worker = start_worker(tmp_path, queues="default", extra_env=env)
    try:
        yield predict_worker, default_worker
    finally:
        predict_worker.stop()
        default_worker.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_slow_or_failing_model_server_never_blocks_labeling(
    ldao, admin_user, model_server, loopback_allowed, workers
):
    predict_worker, default_worker = workers
    dataset = make_dataset(ldao)
    make_tasks(dataset, 6)  # three labels wanted each: one labeler leaves them open
    labeler = UserFactory()
    Membership.objects.create(dao=ldao, user=labeler, role=Role.CONTRIBUTOR)
    release = threading.Event()

    def hang(items: list[dict[str, Any]]) -> tuple[int, float, Any]:
        release.wait(40)  # until the labeling below is done
        return 503, 0.0, {"error": "overloaded"}

    model_server.script = hang
    admin = login(admin_user)
    registered = admin.post(
        f"/api/labeling/{dataset.pk}/prediction-endpoint",
        data=json.dumps({"url": model_server.url, "batch_size": 3}),
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.content
    wait_for(lambda: model_server.seen(), what="the model server asked", worker=predict_worker)

    # The model server holds the predict worker's only slot; labeling goes on: every item is
    # handed out and labelled at once, and a consensus run on the default queue finishes.
    client = login(labeler)
    started = time.monotonic()
    done = 0
    while (task := client.get(f"/api/labeling/{dataset.pk}/next").json()["task"]) is not None:
        answer = client.post(
            f"/api/labeling/{dataset.pk}/holds/{task['hold']}/label",
            data=json.dumps({"label": "cat"}),
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        assert task["suggestion"] is None  # nothing stored yet
        done += 1
    assert done == 6 and time.monotonic() - started < 20
    run = services.consensus_run_request(dataset_id=dataset.pk, actor=admin_user, method="mv")
    wait_for(
        lambda: ConsensusRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists(),
        timeout=60,
        what="the consensus run, on the default queue",
        worker=default_worker,
    )
    assert len(model_server.seen()) == 1 and not release.is_set()

    # Let it answer: 503, then retried after its delays (1 s, 1 s) and given up, with the
    # answer named.
    release.set()
    wait_for(
        lambda: PredictionEndpoint.objects.filter(state=PredictionState.FAILED).exists(),
        timeout=60,
        what="the run given up",
        worker=predict_worker,
    )
    endpoint = PredictionEndpoint.objects.get()
    assert len(model_server.seen()) == 3
    assert endpoint.last_error.startswith("answered 503"), endpoint.last_error
    assert endpoint.attempts == 3 and endpoint.predictions_stored == 0


@pytest.mark.django_db
def test_the_sweeper_sends_an_overdue_run_again(ldao, admin_user, model_server, loopback_allowed):
    from datetime import timedelta

    from django.utils import timezone

    from datadao.sweeper import registered
    from labeling import sweeps

    assert "prediction-runs" in {s.name for s in registered()}
    dataset = make_dataset(ldao)
    make_tasks(dataset, 2)
    endpoint = predict.prediction_endpoint_set(
        dataset_id=dataset.pk, actor=admin_user, url=model_server.url
    )
    cutoff = timezone.now() - timedelta(minutes=5)
    # Just queued (its message on the way), or a try under way within its lease: not stuck.
    assert sweeps.prediction_runs_stuck(cutoff, 10) == []
    assert predict.prediction_batch_claim(endpoint_id=endpoint.pk) is not None
    assert sweeps.prediction_runs_stuck(timezone.now(), 10) == []
    # The worker died mid-try and the message is lost: once the lease is over, it is found.
    PredictionEndpoint.objects.filter(pk=endpoint.pk).update(
        next_try_at=timezone.now() - timedelta(minutes=10)
    )
    assert sweeps.prediction_runs_stuck(cutoff, 10) == [endpoint.pk]
    # A finished or failed run is not.
    PredictionEndpoint.objects.filter(pk=endpoint.pk).update(state=PredictionState.FAILED)
    assert sweeps.prediction_runs_stuck(cutoff, 10) == []


@pytest.mark.django_db
def test_the_token_follows_kek_rotation_and_one_that_does_not_open_stops_the_run(
    ldao, admin_user, model_server, loopback_allowed, monkeypatch
):
    import os

    old = os.environ["DATA_KEK"]
    new = "new:" + "5a" * 32
    dataset = make_dataset(ldao)
    make_tasks(dataset, 2)
    model_server.script = _cat_or_dog
    endpoint = predict.prediction_endpoint_set(
        dataset_id=dataset.pk, actor=admin_user, url=model_server.url, token=TOKEN
    )
    monkeypatch.setenv("DATA_KEK", f"{new},{old}")
    assert tasks.fetch_predictions(endpoint.pk) == "stored"
    # Rewrapped under the new KEK at its first use, so the old KEK can leave the ring.
    assert PredictionEndpoint.objects.get(pk=endpoint.pk).sealed_token.startswith("v1.new.")
    monkeypatch.setenv("DATA_KEK", new)
    LabelTask.objects.filter(dataset=dataset).update(prediction=None)
    assert tasks.fetch_predictions(endpoint.pk) == "idle"  # the first run ends (one batch)
    predict.prediction_run_request(dataset_id=dataset.pk, actor=admin_user)
    assert tasks.fetch_predictions(endpoint.pk) == "stored"
    assert [r["authorization"] for r in model_server.seen()] == [f"Bearer {TOKEN}"] * 2
    # A ring without its KEK: the run stops at once, naming why, and nothing is sent.
    monkeypatch.setenv("DATA_KEK", "other:" + "6b" * 32)
    LabelTask.objects.filter(dataset=dataset).update(prediction=None)
    assert tasks.fetch_predictions(endpoint.pk) == "idle"
    predict.prediction_run_request(dataset_id=dataset.pk, actor=admin_user)
    assert tasks.fetch_predictions(endpoint.pk) == "failed"
    failed = PredictionEndpoint.objects.get(pk=endpoint.pk)
    assert failed.state == PredictionState.FAILED
    assert failed.last_error.startswith("the endpoint's token does not open")
    assert len(model_server.seen()) == 2
