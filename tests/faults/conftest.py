"""Fault-injection fixtures: a private Redis per test, real worker processes pointed at it, and
the means to hurt them (SIGKILL the whole worker or only its pool child, a stalled IPFS API).

Every scenario ends with ``check_invariants`` (tests/fleet/invariants.py).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from contributions.models import FINAL_STATUSES, Contribution
from datadao.models import AuditEvent
from datadao.tasks import sweep
from tests.contributions.conftest import (  # noqa: F401
    CSV_SCHEMA,
    _open,
    dao,
    member,
    member_client,
    tabular,
)
from tests.factories import DatasetFactory
from tests.fixtures_celery import WorkerProcess
from tests.fleet.conftest import PrivateRedis, private_redis  # noqa: F401

# Rows of a CSV whose validation takes a second or more: a window wide enough to hit.
SLOW_ROWS = 100_000


@pytest.fixture
def big_tabular(dao):  # type: ignore[no-untyped-def]  # noqa: F811
    """A tabular dataset that accepts files large enough to validate slowly."""
    return _open(
        DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA | {"max_size": 20_000_000})
    )


def upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def audit_verbs(pk: int) -> list[str]:
    """The audit verbs recorded for contribution ``pk``, to count side effects."""
    return list(
        AuditEvent.objects.filter(verb__startswith="contribution.", object_id=str(pk)).values_list(
            "verb", flat=True
        )
    )


def kill_worker(worker: WorkerProcess) -> None:
    """SIGKILL the whole worker (main process and pool): the machine is gone, nothing is acked,
    rejected or restored; the broker keeps the message unacknowledged."""
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)


def pool_children(worker: WorkerProcess) -> list[psutil.Process]:
    return psutil.Process(worker.process.pid).children()


def kill_pool_child(worker: WorkerProcess) -> int:
    """SIGKILL the pool process running the task (as the OOM killer would); the main process
    survives, sees the loss and, with reject_on_worker_lost, requeues the message."""
    children = pool_children(worker)
    assert children, "the worker has no pool process"
    for child in children:
        child.send_signal(signal.SIGKILL)
    return children[0].pid


def drive_to_final(
    ids: list[int], *, timeout: float = 90.0, stuck_after: int = 2, workers=()
) -> int:  # type: ignore[no-untyped-def]
    """Run the sweeper (as beat would, but with a short ``stuck_after``) until every contribution
    is final; return how many re-dispatches it made. Must run inside ``publishing_to``."""
    redispatched = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        final = Contribution.objects.filter(pk__in=ids, status__in=FINAL_STATUSES).count()
        if final == len(ids):
            return redispatched
        with override_settings(SWEEP_STUCK_AFTER_SECONDS=stuck_after):
            redispatched += sweep()["contributions"]
        time.sleep(1)
    stuck = list(
        Contribution.objects.filter(pk__in=ids)
        .exclude(status__in=FINAL_STATUSES)
        .values_list("pk", "status", "attempts")
    )
    logs = "\n".join(w.log()[-3000:] for w in workers)
    pytest.fail(f"still unfinished after {timeout:.0f} s: {stuck}\n{logs}")


class StalledApi:
    """A TCP server that accepts connections and never answers: an IPFS API that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)
            self.accepted += 1

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def stalled_ipfs() -> Iterator[StalledApi]:
    server = StalledApi()
    try:
        yield server
    finally:
        server.close()
