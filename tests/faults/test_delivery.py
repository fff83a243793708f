"""Messages lost, repeated or interrupted (issue #9, scenarios 2, 8 and 9).

Warm shutdown finishes the running task and leaves the rest queued; a message delivered twice
at once has one effect (row lock plus status guard in ``contribution_begin`` / ``lock_at``); a
publish lost after the commit is dispatched again by the sweeper.

Most of these watch one stage's task, so they run with the express lane off (``per_stage``):
one message per stage, as for a file above ``PIPELINE_EXPRESS_MAX_BYTES``. The express task's
own duplicate delivery has a test of its own.
"""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client

from contributions.models import FINAL_STATUSES, Contribution, RowHash, Status
from contributions.services import rows_key
from contributions.tasks import pin_contribution, process_contribution, validate_contribution
from datadao import blobs
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.faults.conftest import audit_verbs, drive_to_final, upload
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fleet.conftest import PrivateRedis, publishing_to
from tests.fleet.invariants import check_invariants

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Workers' environment for the per-stage lane (the test process gets it from ``per_stage``).
PER_STAGE_ENV = {"PIPELINE_EXPRESS_MAX_BYTES": "0"}
TASK_LINE = re.compile(r"Task [\w.]+\.(\w+)\[([0-9a-f-]+)\] (received|succeeded)")


def _tasks(worker: WorkerProcess, state: str, name: str | None = None) -> list[str]:
    return [
        task_id
        for task, task_id, event in TASK_LINE.findall(worker.log())
        if event == state and (name is None or task == name)
    ]


def _succeeded(workers: list[WorkerProcess], name: str) -> int:
    return sum(len(_tasks(w, "succeeded", name)) for w in workers)


def _wait_final(pk: int, worker: WorkerProcess, *, timeout: float, what: str) -> None:
    wait_for(
        lambda: Contribution.objects.filter(pk=pk, status__in=FINAL_STATUSES).exists(),
        timeout=timeout,
        what=what,
        worker=worker,
    )


@pytest.fixture
def per_stage(settings):  # type: ignore[no-untyped-def]
    """Uploads enter the per-stage lane: validate, score, attest and pin as four messages."""
    settings.PIPELINE_EXPRESS_MAX_BYTES = 0


def _start_workers(tmp_path: Path, count: int, **kwargs) -> list[WorkerProcess]:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(count) as pool:
        starting = [pool.submit(start_worker, tmp_path, **kwargs) for _ in range(count)]
    started = [f.result() for f in starting if f.exception() is None]
    if len(started) < count:
        for worker in started:
            worker.stop()
        for future in starting:
            future.result()
    return started


def test_warm_shutdown_finishes_the_running_task_and_runs_nothing_twice(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path, per_stage
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    env = {"CELERY_BROKER_URL": private_redis.url} | PER_STAGE_ENV
    first = start_worker(tmp_path, extra_env=env)
    second = None
    try:
        with publishing_to(private_redis.url):
            ids = [
                upload(member_client, big_tabular, good_csv(20_000, start=i * 100_000))
                for i in range(3)
            ]

            def scoring() -> int | None:
                # Validation recorded (which resets the attempt count), and the score stage's
                # delivery counted: the score task is running. The worker runs stages in FIFO
                # order, so every validate task has finished by then.
                return (
                    Contribution.objects.filter(
                        pk__in=ids,
                        status=Status.VALIDATING,
                        attempts__gte=1,
                        report__has_key="validation",
                    )
                    .values_list("pk", flat=True)
                    .first()
                )

            busy = wait_for(scoring, timeout=60, what="a score task running", worker=first)
            first.process.send_signal(signal.SIGTERM)
            first.process.wait(timeout=60)
            # The running task completed during the warm shutdown, not cut off.
            assert Contribution.objects.get(pk=busy).status != Status.VALIDATING, first.log()
            assert not re.search(r"WorkerLostError|Restoring", first.log())
            unfinished = Contribution.objects.filter(pk__in=ids).exclude(status__in=FINAL_STATUSES)
            assert unfinished.exists(), "the batch finished before the shutdown: nothing tested"

            # The rest is still queued: a new worker finishes it with no help from the sweeper.
            second = start_worker(tmp_path, extra_env=env)
            wait_for(lambda: not unfinished.exists(), timeout=90, what="the batch", worker=second)
    finally:
        for worker in (first, second):
            if worker:
                worker.stop()
    done_before = set(_tasks(first, "succeeded"))
    assert done_before
    assert not done_before & set(_tasks(second, "received")), "a finished task ran again"
    report = check_invariants(contribution_ids=ids, backend=get_backend())
    assert (report.pinned, report.reward_entries) == (3, 3), report


def test_the_same_message_delivered_twice_at_once_has_one_effect(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path, per_stage
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    env = {"CELERY_BROKER_URL": private_redis.url} | PER_STAGE_ENV
    rows = 40_000
    workers = _start_workers(tmp_path, 2, queues="default,validate", extra_env=env)
    try:
        with publishing_to(private_redis.url):
            # The upload's message and a duplicate of it, published back to back to two idle
            # workers: both deliveries run at the same time.
            pk = upload(member_client, big_tabular, good_csv(rows))
            validate_contribution.delay(pk)
            wait_for(
                lambda: Contribution.objects.filter(pk=pk, status=Status.PINNING).exists(),
                timeout=60,
                what="validation, scoring and attestation",
                worker=workers[0],
            )
            # The pin queue has no consumer yet: duplicate its message, then start two.
            pin_contribution.delay(pk)
            workers += _start_workers(tmp_path, 2, queues="pin", extra_env=env)
            _wait_final(pk, workers[2], timeout=60, what="the pin")
    finally:
        for worker in workers:
            worker.stop()
    validations = _succeeded(workers, "validate_contribution")
    pins = _succeeded(workers, "pin_contribution")
    assert (validations, pins) == (2, 2), "each duplicate was delivered and ran"
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    verbs = audit_verbs(pk)
    assert (verbs.count("contribution.accepted"), verbs.count("contribution.pinned")) == (1, 1)
    assert RowHash.objects.filter(contribution_id=pk).count() == rows
    report = check_invariants(contribution_ids=[pk], backend=get_backend())
    assert (report.pinned, report.pins, report.reward_entries) == (1, 1, 1), report


def test_a_publish_lost_after_the_commit_is_dispatched_by_the_sweeper(
    private_redis: PrivateRedis, member_client: Client, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    worker = None
    try:
        with publishing_to(private_redis.url):
            # The broker dies between the commit and the publish: the uploads still succeed.
            private_redis.kill()
            ids = [upload(member_client, tabular, good_csv(50, start=i * 1000)) for i in range(3)]
            assert set(
                Contribution.objects.filter(pk__in=ids).values_list("status", flat=True)
            ) == {Status.RECEIVED}

            private_redis.start()  # empty: no message survived
            worker = start_worker(tmp_path, extra_env={"CELERY_BROKER_URL": private_redis.url})
            assert drive_to_final(ids, workers=[worker]) >= len(ids)
    finally:
        if worker:
            worker.stop()
    report = check_invariants(contribution_ids=ids, backend=get_backend())
    assert (report.pinned, report.reward_entries) == (3, 3), report


def test_a_duplicate_delivered_halfway_through_validation_changes_nothing(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path, per_stage
) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    env = {"CELERY_BROKER_URL": private_redis.url} | PER_STAGE_ENV
    rows = 100_000
    workers = _start_workers(tmp_path, 2, extra_env=env)
    try:
        with publishing_to(private_redis.url):
            pk = upload(member_client, big_tabular, good_csv(rows))
            sidecar = blobs.store().path(rows_key(Contribution.objects.get(pk=pk)))

            # The duplicate arrives once the first validation has written most of its digests
            # (16 bytes a row), and the idle second worker takes it at once.
            def written() -> int:
                # The digests are written to a uniquely named partial file, renamed at the end.
                parts = sidecar.parent.glob(f"*{sidecar.name}.*.partial")
                return max((p.stat().st_size for p in parts), default=0)

            wait_for(
                lambda: written() > rows * 16 * 0.6,
                timeout=30,
                what="the first validation to be past half way",
                worker=workers[0],
            )
            validate_contribution.delay(pk)
            _wait_final(pk, workers[0], timeout=60, what="the pipeline")
    finally:
        for worker in workers:
            worker.stop()
    assert _succeeded(workers, "validate_contribution") == 2
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    assert RowHash.objects.filter(contribution_id=pk).count() == rows
    check_invariants(contribution_ids=[pk], backend=get_backend())


def test_the_express_message_delivered_twice_at_once_has_one_effect(
    private_redis: PrivateRedis, member_client: Client, big_tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Two idle workers take the upload's express message and a duplicate at once: each stage's
    record is behind the row lock and status guard, so whichever delivery gets to a stage first
    records it and the other finds it done, at that stage or a later one."""
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    env = {"CELERY_BROKER_URL": private_redis.url}
    rows = 40_000
    workers = _start_workers(tmp_path, 2, queues="default,validate", extra_env=env)
    try:
        with publishing_to(private_redis.url):
            pk = upload(member_client, big_tabular, good_csv(rows))
            process_contribution.delay(pk)
            _wait_final(pk, workers[0], timeout=90, what="the express lane")
    finally:
        for worker in workers:
            worker.stop()
    assert _succeeded(workers, "process_contribution") == 2, "each duplicate ran"
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    verbs = audit_verbs(pk)
    assert (verbs.count("contribution.accepted"), verbs.count("contribution.pinned")) == (1, 1)
    assert RowHash.objects.filter(contribution_id=pk).count() == rows
    report = check_invariants(contribution_ids=[pk], backend=get_backend())
    assert (report.pinned, report.pins, report.reward_entries) == (1, 1, 1), report
