"""Contribution tallies (``contributions.tally``): kept by database triggers on real
PostgreSQL (and on SQLite, the embedded default), equal to a recount after every kind of write,
exact before and after a fold, and never counted twice by concurrent folds."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from contributions import tally
from contributions.models import Contribution, ContributorTally, Review, Status, Tally, TallyDelta
from datadao.models import User
from tests.factories import DatasetFactory, UserFactory, contributions_bulk

ROOT = Path(__file__).resolve().parents[2]


def _tallied(dataset_ids: list[int]) -> dict[tuple[int, dt.date, str], tuple[int, ...]]:
    return {
        row.key: (row.n, row.near, row.pending, *row.scores)
        for row in tally.tally(dataset_ids, by=("dataset_id", "day", "status"))
    }


def _assert_exact(dataset_ids: list[int]) -> None:
    """Both tallies equal a recount of these datasets' contributions."""
    recounted = {k: v for k, v in tally.recount().items() if k[0] in dataset_ids}
    assert _tallied(dataset_ids) == recounted
    per_contributor = {
        (contributor_id, dataset_id, status): n
        for contributor_id in User.objects.values_list("pk", flat=True)
        for (dataset_id, status), n in tally.contributor_counts(contributor_id).items()
        if dataset_id in dataset_ids
    }
    recounted_contributors = {
        k: n for k, n in tally.recount_contributors().items() if k[1] in dataset_ids
    }
    assert per_contributor == recounted_contributors


@pytest.mark.django_db
def test_every_kind_of_write_is_tallied_and_a_fold_changes_nothing_a_reader_sees() -> None:
    one, two = DatasetFactory(), DatasetFactory()
    rows = (
        contributions_bulk(one, 6)
        + contributions_bulk(one, 3, days_ago=3)
        + contributions_bulk(two, 4, days_ago=40)
    )
    ids = [one.pk, two.pk]
    _assert_exact(ids)
    assert _tallied(ids)[(one.pk, timezone.now().date(), Status.RECEIVED)][0] == 6
    # A single row through the ORM, a bulk update, scores, a near-duplicate, a review.
    Contribution.objects.filter(pk=rows[0].pk).update(status=Status.VALIDATING)
    Contribution.objects.filter(pk__in=[r.pk for r in rows[1:4]]).update(
        status=Status.PINNED, cid="bafy", score=10_000
    )
    Contribution.objects.filter(pk=rows[4].pk).update(
        status=Status.REJECTED, score=999, near_duplicate_of=rows[1], review=Review.PENDING
    )
    Contribution.objects.filter(pk=rows[5].pk).update(score=1000)  # same status, new bin
    # A write the tally does not count appends nothing.
    before = TallyDelta.objects.count()
    Contribution.objects.filter(pk__in=[r.pk for r in rows]).update(attempts=2)
    assert TallyDelta.objects.count() == before
    # A day moved, a dataset changed, rows deleted.
    Contribution.objects.filter(pk=rows[6].pk).update(created_at=timezone.now())
    Contribution.objects.filter(pk=rows[9].pk).update(dataset=one)
    Contribution.objects.filter(pk=rows[8].pk).update(contributor=UserFactory())
    Contribution.objects.filter(pk__in=[rows[7].pk, rows[10].pk]).delete()
    _assert_exact(ids)
    today = timezone.now().date()
    assert _tallied(ids)[(one.pk, today, Status.PINNED)] == (3, 0, 0, *[0] * 9, 3)
    rejected = _tallied(ids)[(one.pk, today, Status.REJECTED)]
    assert rejected[:4] == (1, 1, 1, 1)  # one, a near-duplicate, under review, score bin 0
    assert _tallied(ids)[(one.pk, today, Status.RECEIVED)][:5] == (2, 0, 0, 0, 1)

    assert tally.fold() > 0
    assert TallyDelta.objects.count() == 0
    _assert_exact(ids)
    assert tally.fold() == 0
    # Groups that emptied are left out of what readers get.
    Contribution.objects.filter(dataset=two).delete()
    assert not [k for k in _tallied(ids) if k[0] == two.pk]
    tally.fold()
    _assert_exact(ids)


@pytest.mark.django_db
def test_a_rolled_back_write_leaves_no_count() -> None:
    dataset = DatasetFactory()
    contributions_bulk(dataset, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        contributions_bulk(dataset, 5)
        Contribution.objects.filter(dataset=dataset).update(status=Status.FAILED)
        raise RuntimeError("abandoned")
    assert [r.n for r in tally.tally([dataset.pk], by=("status",))] == [2]
    _assert_exact([dataset.pk])


@pytest.mark.django_db
def test_filters_and_groupings() -> None:
    dataset = DatasetFactory()
    contributions_bulk(dataset, 2, status=Status.PINNED)
    contributions_bulk(dataset, 1, status=Status.REJECTED, days_ago=10)
    contributions_bulk(dataset, 4, status=Status.PINNED, days_ago=10)
    since = timezone.now().date() - dt.timedelta(days=2)
    assert [(r.key, r.n) for r in tally.tally([dataset.pk], by=("status",), since=since)] == [
        (("pinned",), 2)
    ]
    pinned = tally.tally([dataset.pk], by=("dataset_id",), statuses=[Status.PINNED])
    assert [(r.key, r.n) for r in pinned] == [((dataset.pk,), 6)]
    (everything,) = tally.tally([dataset.pk], by=())
    assert everything.key == () and everything.n == 7
    assert tally.tally([], by=("status",)) == []
    with pytest.raises(ValueError, match="groups by"):
        tally.tally([dataset.pk], by=("contributor_id",))


@pytest.mark.django_db
def test_installing_the_triggers_tallies_what_is_already_there() -> None:
    """The migration's backfill: contributions written before the triggers existed."""
    dataset = DatasetFactory()
    with connection.schema_editor() as editor:
        tally.uninstall(editor)
    contributions_bulk(dataset, 3, status=Status.PINNED, score=4200)
    contributions_bulk(dataset, 2, days_ago=5)
    assert not TallyDelta.objects.filter(dataset_id=dataset.pk).exists()
    Tally.objects.all().delete()
    TallyDelta.objects.all().delete()
    with connection.schema_editor() as editor:
        tally.install(editor)
    _assert_exact([dataset.pk])
    assert Tally.objects.filter(dataset=dataset).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_folds_count_everything_once() -> None:
    """4 writer threads and 2 folding threads at once, each on its own connection: no write
    waits on a counter row, and no delta is folded twice or lost."""
    dataset = DatasetFactory()
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        try:
            for _ in range(15):
                with transaction.atomic():
                    rows = contributions_bulk(dataset, 3)
                    Contribution.objects.filter(pk=rows[k % 3].pk).update(
                        status=Status.PINNED, cid="bafy"
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def folder() -> None:
        try:
            while not stop.is_set():
                tally.fold(limit=7)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    folders = [threading.Thread(target=folder) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in folders + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in folders:
        thread.join(60)
    assert not errors, errors
    _assert_exact([dataset.pk])
    counts = {r.key: r.n for r in tally.tally([dataset.pk], by=("status",))}
    assert counts == {("received",): 120, ("pinned",): 60}
    while tally.fold():
        pass
    assert sum(Tally.objects.filter(dataset=dataset).values_list("n", flat=True)) == 180
    assert sum(ContributorTally.objects.filter(dataset=dataset).values_list("n", flat=True)) == 180


_SQLITE_SCRIPT = """
import datetime as dt, hashlib, json
from django.utils import timezone
from contributions import tally
from contributions.models import Contribution
from datadao.models import DAO, Dataset, User
user = User.objects.create(address="0x" + "1" * 40)
dao = DAO.objects.create(name="Tally", slug="tally", token_symbol="TOK", creator=user)
ds = Dataset.objects.create(dao=dao, name="T", slug="t", kind="tabular", license="CC-BY-4.0")
rows = [
    Contribution.objects.create(
        dataset=ds, contributor=user, sha256=hashlib.sha256(str(i).encode()).hexdigest(), size=1,
        storage_name=f"s{i}", created_at=timezone.now() - dt.timedelta(days=i % 2))
    for i in range(6)
]
Contribution.objects.filter(pk__in=[r.pk for r in rows[:3]]).update(
    status="pinned", cid="bafy", score=10000)
Contribution.objects.filter(pk=rows[3].pk).update(near_duplicate_of=rows[0], review="pending")
Contribution.objects.filter(pk=rows[3].pk).update(attempts=3)
rows[5].delete()
by = ("dataset_id", "day", "status")
def read():
    return {str(r.key): [r.n, r.near, r.pending, *r.scores] for r in tally.tally([ds.pk], by=by)}
before = read()
folded = tally.fold()
recount = {str(k): list(v) for k, v in tally.recount().items()}
mine = {str((user.pk, *k)): n for k, n in tally.contributor_counts(user.pk).items()}
theirs = {str(k): n for k, n in tally.recount_contributors().items()}
print(json.dumps({"before": before, "after": read(), "recount": recount, "folded": folded,
                  "mine": mine, "theirs": theirs}))
"""


def test_sqlite_keeps_the_same_tallies(tmp_path: Path) -> None:
    """The embedded default: row triggers on SQLite, the same readers and fold."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tally.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "PATH": "/usr/bin:/bin",
    }

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "-v", "0")
    out = json.loads(manage("shell", "-c", _SQLITE_SCRIPT).strip().splitlines()[-1])
    assert out["before"] == out["after"] == out["recount"]
    assert out["folded"] > 0
    assert out["mine"] == out["theirs"] and sum(out["mine"].values()) == 5
    pinned = [v for k, v in out["recount"].items() if "pinned" in k]
    assert sum(v[0] for v in pinned) == 3 and sum(v[-1] for v in pinned) == 3
