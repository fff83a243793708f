"""Real Celery worker processes: on the test Redis, and on the embedded filesystem broker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from celery import Celery

from config.celeryconf import celery_settings
from datadao.models import WorkerHeartbeat
from datadao.tasks import heartbeat
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for

pytestmark = pytest.mark.worker


def test_a_real_worker_on_redis_runs_a_task(celery_worker: WorkerProcess) -> None:
    heartbeat.delay()
    row = wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname__startswith="test-").first(),
        what="the heartbeat task to run in the worker",
        worker=celery_worker,
    )
    assert row.hostname.startswith(celery_worker.hostname.split("@")[0])
    heartbeat.delay()
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(pk=row.pk, runs=2).exists(),
        what="the second heartbeat (idempotent upsert: one row, two runs)",
    )
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_the_embedded_broker_runs_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``bin/run`` does with no CELERY_BROKER_URL: filesystem transport, no server."""
    # Celery prefers the CELERY_BROKER_URL environment variable over an app's own config.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    data_dir = tmp_path / "data"
    worker = start_worker(tmp_path, extra_env={"CELERY_BROKER_URL": "", "DATA_DIR": str(data_dir)})
    try:
        conf = celery_settings(broker_url="", result_backend="", data_dir=data_dir)
        # Not the current app: shared tasks resolve through the current app, so a producer
        # left current would capture every later publish in this process.
        producer = Celery("producer", set_as_current=False)
        producer.conf.update(
            broker_url=conf["CELERY_BROKER_URL"],
            broker_transport=conf["CELERY_BROKER_TRANSPORT"],
            broker_transport_options=conf["CELERY_BROKER_TRANSPORT_OPTIONS"],
            task_serializer="json",
        )
        for folder in ("data_folder_in", "control_folder"):
            os.makedirs(conf["CELERY_BROKER_TRANSPORT_OPTIONS"][folder], exist_ok=True)
        producer.send_task("datadao.tasks.heartbeat", queue="default")
        wait_for(
            lambda: WorkerHeartbeat.objects.exists(),
            what="the heartbeat task to run through the filesystem broker",
            worker=worker,
        )
    finally:
        worker.stop()
    assert worker.process.returncode is not None
