"""Observability against real processes: ``/metrics`` parsed by prometheus_client's own parser,
a worker's metrics endpoint, the request id in a worker's JSON log, and upload backpressure."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from contributions import backpressure
from contributions.models import Contribution, Status
from datadao.queues import Queue
from tests.contributions.conftest import good_csv
from tests.fixtures_celery import start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """name -> {sorted labels: value}, every sample of every family."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_are_protected_by_address_or_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.7").get("/metrics").status_code == 404
    with override_settings(METRICS_TOKEN="s3cret-token"):
        assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404

        def basic(password: str) -> str:
            return "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()

        for wrong in (basic("nope"), "Basic !!", "Basic " + base64.b64encode(b"x").decode()):
            assert Client(HTTP_AUTHORIZATION=wrong).get("/metrics").status_code == 404
        right = Client(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=basic("s3cret-token"))
        assert right.get("/metrics").status_code == 200
        # An API token is not a metrics credential.
        bearer = Client(HTTP_AUTHORIZATION="Bearer s3cret-token").get("/metrics")
        assert bearer.status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.worker
def test_state_worker_metrics_and_the_request_id_through_a_real_worker(
    tmp_path: Path, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        worker = start_worker(
            tmp_path,
            extra_env={
                "IPFS_BACKEND": "embedded",
                "IPFS_EMBEDDED_ROOT": str(tmp_path / "ipfs"),
                "WORKER_METRICS_PORT": str(port),
                "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                "LOG_FORMAT": "json",
            },
        )
        try:
            request_id = "req-metrics-0123456789"
            response = member_client.post(
                f"/api/datasets/{tabular.pk}/contributions",
                {"file": SimpleUploadedFile("d.csv", good_csv(6))},
                HTTP_X_REQUEST_ID=request_id,
            )
            assert response.status_code == 201 and response["X-Request-ID"] == request_id
            pk = response.json()["id"]
            wait_for(
                lambda: Contribution.objects.filter(pk=pk, status=Status.PINNED).exists(),
                timeout=60,
                what="the contribution to be pinned",
                worker=worker,
            )

            # The worker's own endpoint: task outcomes and the pipeline latency, summed over
            # its processes.
            def scraped() -> dict:  # type: ignore[type-arg]
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    return _families(r.read().decode())

            wait_for(
                lambda: scraped().get("datadao_contribution_pinned_seconds_count"),
                timeout=30,
                what="the worker's pipeline histogram",
                worker=worker,
            )
            own = scraped()
            succeeded = {
                dict(labels)["task"]: value
                for labels, value in own["datadao_tasks_total"].items()
                if dict(labels)["outcome"] == "succeeded"
            }
            assert sum(succeeded.values()) >= 1, own["datadao_tasks_total"]
            assert sum(own["datadao_contribution_pinned_seconds_count"].values()) == 1

            # One grep for the request id finds the contribution's steps in the JSON log, in
            # whichever lane and batch it went.
            lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
            mine = [line["message"] for line in lines if line.get("request_id") == request_id]
            assert f"contribution {pk} is pinned" in mine, lines[-20:]
            assert Contribution.objects.get(pk=pk).request_id == request_id
        finally:
            worker.stop()

    # The web's /metrics: state read from the database and the broker.
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    state = _families(text)
    assert state["datadao_contributions"][(("status", "pinned"),)] == 1
    assert state["datadao_pins"][(("status", "unchecked"),)] == 1
    assert (("queue", "validate"),) in state["datadao_queue_messages"]
    assert set(state["datadao_metrics_collector_failed"].values()) == {0.0}
    for family in ("datadao_reward_epochs", "datadao_synthetic_jobs"):
        assert family in state


def test_uploads_get_503_while_validation_is_too_far_behind(
    member_client: Client, tabular, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(backpressure, "CACHE_SECONDS", 0.0)
    with current_app.connection_for_write() as connection:
        # Left by earlier tests that ran no worker: this test measures its own message only.
        connection.default_channel.client.delete(str(Queue.VALIDATE))
    # A message waiting for 100 s (for no contribution: a worker that takes it skips it).
    old = current_app.send_task(
        "contributions.tasks.validate_contribution",
        args=[0],
        queue=str(Queue.VALIDATE),
        headers={"sent_at": time.time() - 100},
    )
    try:
        with override_settings(UPLOAD_BACKPRESSURE_SECONDS=30):
            response = member_client.post(
                f"/api/datasets/{tabular.pk}/contributions",
                {"file": SimpleUploadedFile("d.csv", good_csv(3))},
            )
            assert response.status_code == 503
            assert response["Retry-After"] == "60"
            assert response.json()["error"] == "backlogged"
            assert "behind" in response.json()["detail"]
            assert not Contribution.objects.exists()
            # Labeling is not held back.
            assert member_client.get("/api/labeling/0/next").status_code != 503
    finally:
        with current_app.connection_for_write() as connection:
            client = connection.default_channel.client
            for raw in client.lrange(str(Queue.VALIDATE), 0, -1):
                if old.id in raw.decode(errors="replace"):
                    client.lrem(str(Queue.VALIDATE), 0, raw)
    with override_settings(UPLOAD_BACKPRESSURE_SECONDS=30):
        response = member_client.post(
            f"/api/datasets/{tabular.pk}/contributions",
            {"file": SimpleUploadedFile("d.csv", good_csv(3))},
        )
    assert response.status_code == 201
