"""The platform behind a real pgbouncer (Debian's) in transaction mode, with the settings
``DATABASE_POOLER=pgbouncer`` makes: each transaction may run on another server connection.

The pooler is made to change server connections where it matters: a second client holds the
server connection the first one just used (pgbouncer hands out the most recently released
one), so the first one's next transaction runs on another. Prepared statements and server-side
cursors would be lost there: the controls show the same sequence failing with the settings
for a direct connection, so the passing runs are not luck."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client

from contributions.models import Contribution, Status
from contributions.services.claims import _FINGERPRINT_LOCK, fingerprints_lock
from datadao.models import Dataset
from ipfs.conf import get_backend
from labeling import services
from labeling.models import Label, LabelTask
from tests.contributions.conftest import good_csv
from tests.fixtures_celery import start_worker, wait_for
from tests.fleet.invariants import check_invariants
from tests.labeling.conftest import login, make_tasks
from tests.pgbouncer import PgBouncer

pytestmark = [pytest.mark.worker]


def _database() -> str:
    return str(connection.settings_dict["NAME"])


def _other_client(bouncer: PgBouncer) -> psycopg.Connection:  # type: ignore[type-arg]
    return psycopg.connect(bouncer.url(_database()), prepare_threshold=None, autocommit=True)


@contextmanager
def _server_taken(bouncer: PgBouncer) -> Iterator[None]:
    """Another client holds a server connection (the most recently released one, which is the
    one this process's last transaction ran on) until the block ends."""
    with psycopg.connect(bouncer.url(_database()), prepare_threshold=None) as other:
        other.execute("SELECT 1")  # opens its transaction: the server connection is its own
        try:
            yield
        finally:
            other.rollback()


def _server_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _label_one(dataset, labeler) -> None:  # type: ignore[no-untyped-def]
    hold = services.task_next(dataset_id=dataset.pk, labeler=labeler)
    assert hold is not None
    services.label_submit(dataset_id=dataset.pk, labeler=labeler, hold_id=hold.pk, value="cat")


def test_the_pooler_moves_a_client_between_server_connections(behind_pgbouncer: PgBouncer) -> None:
    """The premise of the tests below."""
    first = _server_pid()
    with _server_taken(behind_pgbouncer):
        assert _server_pid() != first


def test_labeling_next_and_submit_prepare_nothing_behind_the_pooler(
    behind_pgbouncer: PgBouncer, ldataset, labelers
) -> None:  # type: ignore[no-untyped-def]
    make_tasks(ldataset, 3)
    labeler = labelers[0]
    _label_one(ldataset, labeler)  # the fast path's statements, on one server connection
    with _server_taken(behind_pgbouncer):
        _label_one(ldataset, labeler)  # the same statements, on another
    assert Label.objects.filter(labeler=labeler).count() == 2


def test_control_prepared_statements_break_behind_the_pooler(
    behind_pgbouncer: PgBouncer, ldataset, labelers
) -> None:  # type: ignore[no-untyped-def]
    """The settings of a direct connection (statements prepared on request) fail here."""
    make_tasks(ldataset, 3)
    connection.close()
    connection.settings_dict["OPTIONS"] = connection.settings_dict["OPTIONS"] | {
        "prepare_threshold": 2**31 - 1
    }
    labeler = labelers[0]
    _label_one(ldataset, labeler)
    with _server_taken(behind_pgbouncer), pytest.raises(DatabaseError, match="prepared statement"):
        _label_one(ldataset, labeler)


def test_queryset_iterator_works_behind_the_pooler(behind_pgbouncer: PgBouncer, ldataset) -> None:  # type: ignore[no-untyped-def]
    make_tasks(ldataset, 3)
    rows = LabelTask.objects.order_by("pk").values_list("source_key", flat=True).iterator(1)
    first = next(rows)
    with _server_taken(behind_pgbouncer):
        assert [first, *rows] == ["t0", "t1", "t2"]


def test_control_server_side_cursors_break_behind_the_pooler(
    behind_pgbouncer: PgBouncer, ldataset
) -> None:  # type: ignore[no-untyped-def]
    make_tasks(ldataset, 3)
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
    rows = LabelTask.objects.order_by("pk").values_list("source_key", flat=True).iterator(1)
    assert next(rows) == "t0"
    # Django's fetch, or psycopg's closing of the cursor after it (not translated by Django).
    failed = pytest.raises((DatabaseError, psycopg.Error), match=r"cursor .* does not exist")
    with _server_taken(behind_pgbouncer), failed:
        list(rows)


def test_transaction_locks_hold_until_commit_behind_the_pooler(
    behind_pgbouncer: PgBouncer, ldataset
) -> None:  # type: ignore[no-untyped-def]
    """The fingerprint recorders' advisory lock and a row lock, taken inside a transaction,
    keep another client out until the commit, and are gone after it."""
    table = Dataset._meta.db_table
    lock_sql = "SELECT pg_try_advisory_xact_lock(%s, %s)"
    row_sql = f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT"  # noqa: S608
    with _other_client(behind_pgbouncer) as other:
        with transaction.atomic():
            fingerprints_lock([ldataset.pk])
            Dataset.objects.select_for_update().get(pk=ldataset.pk)
            assert other.execute(lock_sql, [_FINGERPRINT_LOCK, ldataset.pk]).fetchone() == (False,)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(row_sql, [ldataset.pk])
        assert other.execute(lock_sql, [_FINGERPRINT_LOCK, ldataset.pk]).fetchone() == (True,)
        assert other.execute(row_sql, [ldataset.pk]).fetchone() == (ldataset.pk,)


def test_upload_to_pinned_and_labeling_through_the_pooler(
    behind_pgbouncer: PgBouncer, member_client: Client, tabular, ldataset, labelers, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A real worker connected only through pgbouncer, with DATABASE_POOLER=pgbouncer: uploads
    are validated, scored and pinned, labels are settled; the invariants hold."""
    env = {"DATABASE_URL": behind_pgbouncer.url(_database()), "DATABASE_POOLER": "pgbouncer"}
    worker = start_worker(tmp_path, extra_env=env)
    before = behind_pgbouncer.transactions(_database())
    try:
        ids = []
        for start in (0, 100, 200):
            response = member_client.post(
                f"/api/datasets/{tabular.pk}/contributions",
                {"file": SimpleUploadedFile("d.csv", good_csv(10, start=start))},
            )
            assert response.status_code == 201, response.content
            ids.append(response.json()["id"])
        make_tasks(ldataset, 2, wanted=3)
        for labeler in labelers[:3]:
            client = login(labeler)
            for _ in range(2):
                task = client.get(f"/api/labeling/{ldataset.pk}/next").json()["task"]
                url = f"/api/labeling/{ldataset.pk}/holds/{task['hold']}/label"
                answer = client.post(url, {"label": "cat"}, content_type="application/json")
                assert answer.status_code == 201, answer.content
        wait_for(
            lambda: Contribution.objects.filter(pk__in=ids, status=Status.PINNED).count() == 3,
            timeout=90,
            what="three uploads pinned through pgbouncer",
            worker=worker,
        )
        report = check_invariants(
            contribution_ids=ids, backend=get_backend()
        )  # raises if any fails
        assert (report.pinned, report.pins, report.distinct_cids) == (3, 3, 3), report
    finally:
        worker.stop()
    assert Label.objects.filter(task__dataset=ldataset).count() == 6
    assert "Traceback" not in worker.log(), worker.log()[-4000:]
    # The worker's transactions went through the pooler too (the uploads' pipeline alone runs
    # dozens).
    assert behind_pgbouncer.transactions(_database()) - before > 30
