"""Webhooks through a real Celery worker (two slots, every queue, as the Procfile runs it) and
a real receiver on loopback: the pipeline never waits on a delivery, a receiver that hangs
past the read timeout and one that answers 500 are both retried until they succeed, and a
redelivery from the console reaches the receiver again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contributions.models import Contribution, Status
from datadao.models import Membership, Role
from tests.contributions.conftest import CSV_SCHEMA, _open, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.webhooks.conftest import endpoint_for
from tests.webhooks.receiver import Received, Receiver
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("loopback_allowed"),
]

# Longer than the platform's 10 s read timeout: the attempt gives up, the receiver still sleeps.
HANG_SECONDS = 12.0


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProcess]:
    process = start_worker(
        tmp_path,
        concurrency=2,
        extra_env={"WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOKS_RETRY_DELAYS": "1,1,1"},
    )
    try:
        yield process
    finally:
        process.stop()


def _upload(client: Client, dataset, data: bytes, name: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _pinned(pk: int) -> bool:
    return Contribution.objects.filter(pk=pk, status=Status.PINNED).exists()


def test_a_hanging_receiver_never_blocks_the_pipeline_and_failures_are_retried(
    worker: WorkerProcess, receiver: Receiver
) -> None:
    hung: list[str] = []

    def script(received: Received, seen: int) -> tuple[int, float]:
        if not hung:  # the first delivery hangs past the read timeout
            hung.append(received.key)
            return 200, HANG_SECONDS
        if received.key == hung[0]:
            return 200, 0.0
        return (500 if seen == 0 else 200), 0.0  # every other delivery: a 500 first

    receiver.script = script
    dao = DAOFactory()
    member = UserFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    dataset = _open(DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA))
    endpoint_for(dao, receiver, ["contribution.pinned"])
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")

    first = _upload(client, dataset, good_csv(5), "a.csv")
    wait_for(lambda: _pinned(first), what="the first upload pinned", worker=worker)
    wait_for(receiver.all, what="the first delivery at the receiver", worker=worker)
    hung_at = time.monotonic()

    # While the receiver holds the first delivery, the next upload goes all the way through.
    second = _upload(client, dataset, good_csv(5, start=100), "b.csv")
    wait_for(lambda: _pinned(second), timeout=30, what="the second upload pinned", worker=worker)
    pinned_after = time.monotonic() - hung_at
    (hanging,) = receiver.of_key(hung[0])
    assert hanging.answered_at is None, "the receiver had already answered"
    assert pinned_after < HANG_SECONDS, pinned_after

    deliveries = {
        d.event.payload["contribution"]["id"]: d
        for d in WebhookDelivery.objects.select_related("event")
    }
    assert set(deliveries) == {first, second}

    def succeeded() -> bool:
        return set(WebhookDelivery.objects.values_list("status", flat=True)) == {
            DeliveryStatus.SUCCEEDED
        }

    wait_for(succeeded, timeout=60, what="both deliveries succeeded", worker=worker)
    slow = WebhookDelivery.objects.get(pk=deliveries[first].pk)
    assert slow.attempts == 2 and str(slow.key) == hung[0]
    assert len(receiver.of_key(hung[0])) == 2
    refused = WebhookDelivery.objects.get(pk=deliveries[second].pk)
    assert refused.attempts == 2 and refused.response_status == 200
    got = receiver.of_key(str(refused.key))
    assert len(got) == 2 and all(r.refusal is None for r in got)
    assert len({r.body for r in got}) == 1

    # Redelivered from the console: the worker sends it again, the receiver sees it again.
    manager = Client()
    manager.force_login(dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    response = manager.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [refused.pk], "index": 0},
    )
    assert response.status_code == 302
    wait_for(
        lambda: len(receiver.of_key(str(refused.key))) == 3,
        what="the redelivery at the receiver",
        worker=worker,
    )
    again = receiver.of_key(str(refused.key))[-1]
    assert again.refusal is None and again.body == got[0].body
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            pk=refused.pk, status=DeliveryStatus.SUCCEEDED, redeliveries=1
        ).exists(),
        what="the redelivery recorded",
        worker=worker,
    )
