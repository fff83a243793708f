"""Workers that die mid-stage (issue #9, scenarios 1 and 7).

A worker SIGKILLed whole leaves its message unacknowledged in Redis until the visibility
timeout (2 h): what finishes the contribution sooner is the sweeper, on another worker. A pool
process killed under a living worker is requeued at once (reject_on_worker_lost); a
contribution that kills its worker on every delivery is dead-lettered after
MAX_STAGE_ATTEMPTS instead of looping.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client

from contributions.models import Contribution, Status
from contributions.services.common import MAX_STAGE_ATTEMPTS
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.faults.conftest import (
    SLOW_ROWS,
    StalledApi,
    audit_verbs,
    drive_to_final,
    kill_pool_child,
    kill_worker,
    upload,
)
from tests.fixtures_celery import start_worker, wait_for
from tests.fleet.conftest import PrivateRedis, publishing_to
from tests.fleet.invariants import check_invariants

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _validating(pk: int, attempts: int = 1) -> bool:
    """The validate stage has begun (delivery ``attempts`` counted) and not yet recorded."""
    row = Contribution.objects.filter(pk=pk).values("status", "attempts", "report").first()
    return bool(
        row
        and row["status"] == Status.VALIDATING
        and row["attempts"] >= attempts
        and "validation" not in row["report"]
    )


def test_worker_killed_while_validating_is_finished_by_another(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    env = {"CELERY_BROKER_URL": private_redis.url}
    first = start_worker(tmp_path, extra_env=env)
    second = None
    try:
        with publishing_to(private_redis.url):
            pk = upload(member_client, big_tabular, good_csv(SLOW_ROWS))
            wait_for(lambda: _validating(pk), timeout=30, what="validation", worker=first)
            kill_worker(first)
            # The crashed delivery counted; nothing was recorded.
            row = Contribution.objects.get(pk=pk)
            assert (row.status, row.attempts) == (Status.VALIDATING, 1)
            assert "validation" not in row.report

            second = start_worker(tmp_path, extra_env=env)
            assert drive_to_final([pk], workers=[second]) >= 1
    finally:
        for worker in (first, second):
            if worker:
                worker.stop()
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    # Small files take the express task (validate → pin in one delivery).
    assert re.search(r"process_contribution\[.*\] succeeded", second.log())
    report = check_invariants(contribution_ids=[pk], backend=get_backend())
    assert (report.pinned, report.pins, report.reward_entries) == (1, 1, 1), report
    assert audit_verbs(pk).count("contribution.pinned") == 1


def test_worker_killed_while_pinning_is_finished_by_another(
    private_redis: PrivateRedis,
    stalled_ipfs: StalledApi,
    member_client: Client,
    tabular,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    # A fleet with its own pin tier: the express lane hands pinning to the pin queue.
    env = {"CELERY_BROKER_URL": private_redis.url, "PIPELINE_EXPRESS_PIN": "false"}
    # The pin worker talks to an IPFS API that accepts and never answers: it hangs in `pin`.
    stalled_env = env | {
        "IPFS_BACKEND": "kubo",
        "IPFS_API_URL": stalled_ipfs.url,
        "IPFS_TIMEOUT_SECONDS": "600",
    }
    with ThreadPoolExecutor(2) as pool:
        starting = [
            pool.submit(start_worker, tmp_path, queues="default,validate", extra_env=env),
            pool.submit(start_worker, tmp_path, queues="pin", extra_env=stalled_env),
        ]
    workers = [f.result() for f in starting if f.exception() is None]
    for future in starting:
        future.result()
    stalled = workers[1]
    try:
        with publishing_to(private_redis.url):
            pk = upload(member_client, tabular, good_csv(50))
            wait_for(
                lambda: (
                    stalled_ipfs.accepted
                    and Contribution.objects.filter(
                        pk=pk, status=Status.PINNING, attempts=1
                    ).exists()
                ),
                timeout=30,
                what="the pin stage to hang on the stalled IPFS API",
                worker=stalled,
            )
            kill_worker(stalled)
            assert Contribution.objects.get(pk=pk).status == Status.PINNING

            workers.append(start_worker(tmp_path, queues="pin", extra_env=env))
            assert drive_to_final([pk], workers=workers) >= 1
    finally:
        for worker in workers:
            worker.stop()
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    assert re.search(r"pin_contribution\[.*\] succeeded", workers[-1].log())
    report = check_invariants(contribution_ids=[pk], backend=get_backend())
    assert (report.pinned, report.pins, report.reward_entries) == (1, 1, 1), report
    assert audit_verbs(pk).count("contribution.pinned") == 1


def test_poison_contribution_is_dead_lettered_after_max_attempts(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(tmp_path, extra_env={"CELERY_BROKER_URL": private_redis.url})
    try:
        with publishing_to(private_redis.url):
            pk = upload(member_client, big_tabular, good_csv(SLOW_ROWS))
            # Every delivery kills the pool process that runs it (a validator that crashes the
            # interpreter); the worker requeues the message each time.
            for attempt in range(1, MAX_STAGE_ATTEMPTS + 1):
                wait_for(
                    lambda a=attempt: _validating(pk, a),
                    timeout=30,
                    what=f"delivery {attempt}",
                    worker=worker,
                )
                kill_pool_child(worker)
            wait_for(
                lambda: Contribution.objects.filter(pk=pk, status=Status.FAILED).exists(),
                timeout=30,
                what="the contribution to be dead-lettered",
                worker=worker,
            )
        assert worker.process.poll() is None, "the worker itself should survive"
    finally:
        worker.stop()
    row = Contribution.objects.get(pk=pk)
    assert row.failure == f"gave up after {MAX_STAGE_ATTEMPTS} attempts at the validate stage"
    deliveries = re.findall(r"process_contribution\[[0-9a-f-]+\] received", worker.log())
    assert len(deliveries) == MAX_STAGE_ATTEMPTS + 1, worker.log()[-4000:]
    report = check_invariants(contribution_ids=[pk])
    assert (report.failed, report.pins, report.reward_entries) == (1, 0, 0), report
    assert "contribution.failed" in audit_verbs(pk)
