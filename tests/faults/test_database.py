"""PostgreSQL goes away in the middle of a run (issue #9, scenario 5).

The shared server on 127.0.0.1:5432 serves every other test run on the machine, so the outage
is staged on a private cluster (``tests/faults/postgres.py``): it gets a migrated copy of the
test database, this process's default connection and the workers are pointed at it, and it
is stopped with a fast shutdown (every session terminated, new connections refused) for
``OUTAGE_SECONDS`` while a batch is in flight, then started again.

What must hold: the workers retry each delivery that lost the database, with backoff
(``contributions/tasks.py``), instead of failing it; nothing is half-written, because every
stage writes in one transaction; the whole batch finishes with no help from the sweeper.
Whatever the dispatch (one task per stage, or one delivery running several stages), the
contributions go through the default layout of the fleet.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from contributions.models import ACTIVE_STATUSES, FINAL_STATUSES, Contribution, RowHash, Status
from ipfs.conf import get_backend
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv
from tests.faults.conftest import audit_verbs, upload
from tests.faults.postgres import PrivatePostgres, server_bin_dir
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fleet.conftest import PrivateRedis, publishing_to
from tests.fleet.invariants import check_invariants

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The figure. With the retry backoff (2, 4, 8, 16 s, halved by jitter at worst) a
# delivery that lost the database retries three or four times inside the outage, and the
# next retry after it comes within ~30 s.
OUTAGE_SECONDS = 20
VALID, INVALID = 5, 2
ROWS = 5_000  # a few seconds through the pipeline here: the worker is busy at any moment
RECOVERY_TIMEOUT = 120
# A stage's retry names its contribution; a batch's names every contribution it claimed.
DB_RETRY_LINE = re.compile(r"contributions? ([\d, ]+): database unavailable, retry \d+ in")
# A batch delivery that lost the database before it claimed anything (the outage fell between
# two batches): the outage is seen all the same, and the batch claims once it is back.
BATCH_RETRY_LINE = re.compile(r"a batch: database unavailable, retry \d+ in")
# The lanes: one contribution per delivery, and batches (of 3, so the 7 uploads make several
# and one is in the middle of its work when the database goes).
LANES = {"express": {"PIPELINE_BATCH_SIZE": "1"}, "batch": {"PIPELINE_BATCH_SIZE": "3"}}


def _retried(logs: str) -> set[int]:
    return {int(pk) for found in DB_RETRY_LINE.findall(logs) for pk in found.split(", ")}


@contextmanager
def _default_database_on(server: PrivatePostgres) -> Iterator[None]:
    """Point this process's default connection (and, through ``test_database_url``, the
    workers it starts) at ``server``, under the test database's name, migrated."""
    settings_dict = connection.settings_dict
    saved = {key: settings_dict[key] for key in ("HOST", "PORT")}
    server.create_database(settings_dict["NAME"])
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=str(server.port))
    # Content type ids are per database: the cache holds the shared database's.
    ContentType.objects.clear_cache()
    try:
        call_command("migrate", interactive=False, verbosity=0)
        yield
    finally:
        connection.close()
        settings_dict.update(saved)
        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def private_database(transactional_db: None) -> Iterator[PrivatePostgres]:
    """Autouse, so it runs before the data fixtures (``member``, ``tabular`` ...): they must
    write to the private server, not the shared one."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        message = (
            "the PostgreSQL server programs (initdb, pg_ctl) are not installed here "
            "(apt-get install postgresql): the database outage scenario cannot run"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    server = PrivatePostgres(bin_dir)
    try:
        server.init()
        server.start()
        server.wait_accepting()
        with _default_database_on(server):
            yield server
    finally:
        server.close()


def _start_workers(tmp_path: Path, env: dict[str, str]) -> list[WorkerProcess]:
    # The fleet's split: validation (validate, score, attest) and pinning on their own
    # processes, so deliveries of different stages are in flight when the database goes.
    layout = ("default,validate", "pin")
    with ThreadPoolExecutor(len(layout)) as pool:
        starting = [
            pool.submit(start_worker, tmp_path, queues=queues, extra_env=env) for queues in layout
        ]
    workers = [f.result() for f in starting if f.exception() is None]
    if len(workers) < len(layout):
        for worker in workers:
            worker.stop()
        for future in starting:
            future.result()
    return workers


@pytest.mark.parametrize("lane", sorted(LANES))
def test_a_database_outage_mid_run_is_retried_and_every_contribution_finishes(
    private_database: PrivatePostgres,
    private_redis: PrivateRedis,
    member_client: Client,
    big_tabular,
    tmp_path: Path,
    lane: str,
) -> None:  # type: ignore[no-untyped-def]
    assert connection.settings_dict["PORT"] == str(private_database.port)
    RewardPolicy.objects.create(dataset=big_tabular, per_contribution=10**18)
    workers = _start_workers(tmp_path, {"CELERY_BROKER_URL": private_redis.url} | LANES[lane])
    invalid = [b"id,value,kind\n-1,2.5,c\n", b"id,value,kind\nx,2.5,a\n"]
    lane_settings = {k: int(v) for k, v in LANES[lane].items()}
    try:
        with publishing_to(private_redis.url), override_settings(**lane_settings):
            files = [good_csv(ROWS, start=i * 100_000) for i in range(VALID)] + invalid
            ids = [upload(member_client, big_tabular, data) for data in files]
            # The first contribution through, the rest queued or running: the busy worker is
            # (almost always) cut off in the middle of a delivery, and every later one hits
            # the outage at its start.
            wait_for(
                lambda: Contribution.objects.filter(pk__in=ids, status=Status.PINNED).exists(),
                timeout=90,
                what="a first contribution to be pinned",
                worker=workers[0],
            )
            in_flight = set(
                Contribution.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).values_list(
                    "pk", flat=True
                )
            )
            assert len(in_flight) > VALID // 2, "most of the batch should still be in flight"

            private_database.stop()
            outage_began = time.monotonic()
            # The outage is seen: the busy worker's stage lost the database and is retried.
            wait_for(
                lambda: any(
                    DB_RETRY_LINE.search(w.log()) or BATCH_RETRY_LINE.search(w.log())
                    for w in workers
                ),
                timeout=OUTAGE_SECONDS,
                what="a stage to retry on the lost database",
                worker=workers[0],
            )
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_began)))
            private_database.start()
            private_database.wait_accepting()
            connection.close()  # this process's session was terminated too

            # No sweeper: the retries alone must finish the batch.
            finished = Contribution.objects.filter(pk__in=ids, status__in=FINAL_STATUSES)
            wait_for(
                lambda: finished.count() == len(ids),
                timeout=RECOVERY_TIMEOUT,
                what="the whole batch to finish after the outage",
                worker=workers[0],
            )
    finally:
        for worker in workers:
            worker.stop()

    logs = "\n".join(w.log() for w in workers)
    retried = _retried(logs)
    # Retried contributions were in flight; in the batch lane the outage may instead have
    # caught a batch before its claim (then no contribution was cut off mid-work).
    assert retried or (lane == "batch" and BATCH_RETRY_LINE.search(logs)), logs[-6000:]
    assert retried <= in_flight, (retried, in_flight)
    assert re.search(r"(_contribution|process_batch)\[[0-9a-f-]+\] retry: Retry in", logs), logs[
        -6000:
    ]
    # A stage that raised past the retry would have been acknowledged and dropped.
    assert "raised unexpected" not in logs, logs[-6000:]
    assert "stayed unreachable" not in logs

    # Nothing half-written: each accepted contribution's row digests in full, nothing from
    # rejected ones, one acceptance and one pin in the audit log.
    rows = dict(
        Contribution.objects.filter(pk__in=ids).values_list("pk", "status")
    )  # fmt: skip
    for pk, status in rows.items():
        digests = RowHash.objects.filter(contribution_id=pk).count()
        verbs = audit_verbs(pk)
        if status == Status.PINNED:
            assert digests == ROWS, (pk, digests)
            assert (verbs.count("contribution.accepted"), verbs.count("contribution.pinned")) == (
                1,
                1,
            ), (pk, verbs)
        else:
            assert digests == 0, (pk, status, digests)
    report = check_invariants(contribution_ids=ids, backend=get_backend())
    assert (report.pinned, report.rejected, report.failed) == (VALID, INVALID, 0), report
    assert report.reward_entries == VALID, report


def test_requests_during_an_outage_answer_503_with_retry_after(
    private_database: PrivatePostgres, member_client: Client, big_tabular
) -> None:  # type: ignore[no-untyped-def]
    """The web process loses the database: an upload and a page each answer 503 with
    ``Retry-After`` and a message naming the problem, never a 500, and nothing of the upload is
    kept; once the database is back the same upload goes through."""
    from contributions.uploads import staging_dir

    url = f"/api/datasets/{big_tabular.pk}/contributions"
    before = Contribution.objects.count()
    private_database.stop()
    try:
        response = member_client.post(url, {"file": _named(good_csv(10), "a.csv")})
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == "5"
        assert response.json() == {
            "error": "database_unavailable",
            "detail": "The database is unavailable for a moment; try again in a few seconds.",
        }
        page = member_client.get(f"/daos/{big_tabular.dao.slug}/", HTTP_ACCEPT="text/html")
        assert page.status_code == 503
        assert page["Retry-After"] == "5"
        assert b"The database is unavailable for a moment" in page.content
    finally:
        private_database.start()
        private_database.wait_accepting()
        connection.close()
    assert not [p for p in staging_dir().iterdir() if p.is_file()]
    assert Contribution.objects.count() == before
    assert member_client.post(url, {"file": _named(good_csv(10), "a.csv")}).status_code == 201


def _named(data: bytes, name: str):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
