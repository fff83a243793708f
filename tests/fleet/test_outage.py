"""The fleet on one machine: four worker processes on separate queues, a broker outage in the
middle of a run, and nothing lost or done twice.

The broker is a private redis-server (no persistence) so killing it disturbs nothing else.
Killed and started again empty, it has forgotten every queued message and every binding; the
database still knows what is unfinished, and the sweeper re-dispatches it.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from contributions.models import ACTIVE_STATUSES, FINAL_STATUSES, Contribution, Status
from datadao.tasks import heartbeat, sweep
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from rewards.tasks import close_due_epochs
from synthetic.tasks import run_synthetic_job
from tests.contributions.conftest import good_csv
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fleet.conftest import PrivateRedis, publishing_to
from tests.fleet.invariants import check_invariants

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The fleet layout of deploy/: one process per queue group; a GPU host takes only synthetic.
FLEET = {
    "validate": {
        "process_batch",
        "process_contribution",
        "validate_contribution",
        "score_contribution",
        "attest_contribution",
    },
    "pin": {"pin_contribution"},
    "default,rewards": {"heartbeat", "close_due_epochs"},
    "synthetic": {"run_synthetic_job"},
}
VALID, INVALID = 7, 3
OUTAGE_SECONDS = 5
# Work untouched this long counts as stuck; well above one stage's run time here.
STUCK_AFTER_SECONDS = 3
RECOVERY_TIMEOUT = 90
TASK_RECEIVED = re.compile(r"Task [\w.]+\.(\w+)\[[0-9a-f-]+\] received")


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _files() -> list[bytes]:
    # Valid files have disjoint rows (else low uniqueness rejects them); invalid ones break
    # the schema in different ways.
    valid = [good_csv(1500, start=i * 10_000) for i in range(VALID)]
    invalid = [
        b"id,value,kind\n1,500,a\n",
        b"id,value,kind\n-1,2.5,c\n",
        b"id,value,kind\nx,2.5,a\n",
    ]
    files = valid + invalid
    # Interleave so invalid ones are in flight alongside valid ones.
    return [files[i] for i in (0, 7, 1, 2, 8, 3, 4, 9, 5, 6)]


def _final_count(ids: list[int]) -> int:
    return Contribution.objects.filter(pk__in=ids, status__in=FINAL_STATUSES).count()


def test_four_workers_ride_out_a_broker_outage_with_nothing_lost(
    private_redis: PrivateRedis, member_client: Client, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    # As deploy/ lays a fleet out: the express lane validates, scores and attests on the
    # validate workers and hands pinning to the pin workers (the default with a Kubo backend).
    env = {"CELERY_BROKER_URL": private_redis.url, "PIPELINE_EXPRESS_PIN": "false"}
    workers: dict[str, WorkerProcess] = {}
    try:
        # Started side by side: each takes seconds to import Django and connect.
        with ThreadPoolExecutor(len(FLEET)) as pool:
            starting = {
                queues: pool.submit(start_worker, tmp_path, queues=queues, extra_env=env)
                for queues in FLEET
            }
        for queues, future in starting.items():
            if future.exception() is None:
                workers[queues] = future.result()
        for future in starting.values():
            future.result()  # re-raise a worker that did not start, after keeping the others
        with publishing_to(private_redis.url):
            ids = [_upload(member_client, tabular, data) for data in _files()]
            wait_for(
                lambda: Contribution.objects.filter(pk__in=ids, status=Status.PINNED).exists(),
                timeout=60,
                what="a first contribution to be pinned",
                worker=workers["pin"],
            )

            # The outage: everything queued or unacknowledged in the broker is lost.
            private_redis.kill()
            in_flight = Contribution.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES)
            assert in_flight.exists(), "all work finished before the outage: nothing was tested"
            time.sleep(OUTAGE_SECONDS)
            private_redis.start()

            # Recovery: the sweeper re-dispatches what the broker forgot, until all is final.
            redispatched = 0
            deadline = time.monotonic() + RECOVERY_TIMEOUT
            while _final_count(ids) < len(ids) and time.monotonic() < deadline:
                with override_settings(SWEEP_STUCK_AFTER_SECONDS=STUCK_AFTER_SECONDS):
                    redispatched += sweep()["contributions"]
                time.sleep(1)
            stuck = list(
                Contribution.objects.filter(pk__in=ids)
                .exclude(status__in=FINAL_STATUSES)
                .values_list("pk", "status")
            )
            logs = "\n".join(w.log()[-2500:] for w in workers.values())
            exited = [queues for queues, w in workers.items() if w.process.poll() is not None]
            assert not exited, f"the outage ended worker processes {exited}\n{logs}"
            assert not stuck, f"still unfinished after {RECOVERY_TIMEOUT} s: {stuck}\n{logs}"
            assert redispatched > 0, "the outage lost no message: the sweeper was not exercised"

            # The other queues are served too, each by its own process, after the outage.
            heartbeat.delay()
            close_due_epochs.delay()
            run_synthetic_job.delay(0)  # no such job: logged and skipped
            for queues, names in FLEET.items():
                for name in names - FLEET["validate"] - FLEET["pin"]:
                    worker = workers[queues]
                    wait_for(
                        lambda w=worker, n=name: re.search(rf"\.{n}\[.*\] succeeded", w.log()),
                        timeout=30,
                        what=f"{name} to run on the {queues} worker",
                        worker=worker,
                    )
    finally:
        for worker in workers.values():
            worker.stop()

    # Each process ran only the tasks of its own queues.
    for queues, worker in workers.items():
        ran = set(TASK_RECEIVED.findall(worker.log()))
        assert ran <= FLEET[queues], f"the {queues} worker ran {sorted(ran - FLEET[queues])}"

    report = check_invariants(contribution_ids=ids, backend=get_backend())
    assert (report.pinned, report.rejected, report.failed) == (VALID, INVALID, 0), report
    assert report.reward_entries == VALID
