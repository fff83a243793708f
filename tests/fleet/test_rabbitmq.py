"""Celery on RabbitMQ: the same settings rules, and a contribution through the real pipeline.

Needs RabbitMQ at 127.0.0.1:5672 (guest/guest; bin/services-up starts it). Unreachable is a
failure with a message, never a skip: a skipped broker test would pass unrun.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.celeryconf import (
    AMQP_CONSUMER_TIMEOUT_MS,
    MAX_COUNTDOWN_SECONDS,
    TASK_TIME_LIMIT,
    celery_settings,
)
from contributions.models import FINAL_STATUSES, Contribution, Status
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fleet.conftest import publishing_to
from tests.fleet.invariants import check_invariants

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["amqp://guest:guest@h:5672//", "pyamqp://h//", "amqps://h/v"])
def test_amqp_settings_are_at_least_once_with_publisher_confirms(url: str) -> None:
    conf = celery_settings(broker_url=url, result_backend="", data_dir=Path("/tmp"))
    assert conf["CELERY_TASK_ACKS_LATE"] is True
    assert conf["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert conf["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 1
    # Redis' visibility timeout means nothing to RabbitMQ; publisher confirms do.
    assert conf["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"confirm_publish": True}
    assert "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS" not in conf


def test_the_documented_consumer_timeout_outlasts_every_countdown_and_limit() -> None:
    # RabbitMQ's consumer_timeout is its visibility timeout: an ETA task is held unacked
    # for its countdown and then runs for up to the hard time limit.
    assert AMQP_CONSUMER_TIMEOUT_MS > (MAX_COUNTDOWN_SECONDS + TASK_TIME_LIMIT) * 1000
    conf = (ROOT / "deploy" / "rabbitmq.conf").read_text()
    found = re.search(r"^consumer_timeout\s*=\s*(\d+)\s*$", conf, re.MULTILINE)
    assert found, "deploy/rabbitmq.conf must set consumer_timeout"
    assert int(found.group(1)) >= AMQP_CONSUMER_TIMEOUT_MS


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_contribution_goes_through_the_pipeline_on_rabbitmq(
    rabbitmq_url: str, member_client: Client, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    worker: WorkerProcess | None = None
    with publishing_to(rabbitmq_url):
        try:
            worker = start_worker(tmp_path, extra_env={"CELERY_BROKER_URL": rabbitmq_url})
            good = _upload(member_client, tabular, good_csv(25))
            bad = _upload(member_client, tabular, b"id,value,kind\n1,5.5,a\n-2,x,z\n")
            wait_for(
                lambda: (
                    Contribution.objects.filter(pk__in=[good, bad], status__in=FINAL_STATUSES)
                    .count() == 2
                ),
                timeout=60,
                what="both contributions to finish on RabbitMQ",
                worker=worker,
            )  # fmt: skip
        finally:
            if worker is not None:
                worker.stop()
    assert Contribution.objects.get(pk=good).status == Status.PINNED
    assert Contribution.objects.get(pk=bad).status == Status.REJECTED
    # The worker really consumed from RabbitMQ, not from the session's Redis.
    log = worker.log()
    assert "Connected to amqp://guest:**@127.0.0.1:5672/" in log, log[-3000:]
    assert "contributions.tasks.pin_contribution" in log
    report = check_invariants(contribution_ids=[good, bad], backend=get_backend())
    assert (report.pinned, report.rejected, report.reward_entries) == (1, 1, 1)
