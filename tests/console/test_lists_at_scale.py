"""The console's lists over tables that grow with the data (contributions, the reward ledger,
label tasks, webhook deliveries, the audit log): a fixed number of queries however many rows,
counts from the tallies or capped, and no query that reads every row (a count of all, the
distinct values of a column, the distinct months of a date hierarchy)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contributions.models import Status
from datadao.admin_base import CappedPaginator
from datadao.models import DAO, User
from rewards.models import RewardEntry
from rewards.services import epoch_accrued
from tests.factories import DAOFactory, DatasetFactory, UserFactory, contributions_bulk
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

CONTRIBUTIONS = "/admin/contributions/contribution/"
ENTRIES = "/admin/rewards/rewardentry/"
# A query that reads every row of a big table on every page.
READS_EVERY_ROW = re.compile(r"COUNT\(\*\) AS|DISTINCT|DATE_TRUNC", re.IGNORECASE)


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _get(client: Client, url: str) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), [q["sql"] for q in ctx.captured_queries]


def _entries(dao: DAO, n: int, *, reason: str = "contribution", settled: bool = False) -> None:
    dataset = dao.datasets.first() or DatasetFactory(dao=dao)
    account = UserFactory()
    start = RewardEntry.objects.count()
    RewardEntry.objects.bulk_create(
        RewardEntry(
            dao=dao, dataset=dataset, account=account, amount=10**18, reason=reason,
            source_type="test", source_id=str(start + i),
        )
        for i in range(n)
    )  # fmt: skip


def test_the_contribution_list_counts_from_the_tallies_in_fixed_queries() -> None:
    dao = DAOFactory()
    first = DatasetFactory(dao=dao, name="First")
    contributions_bulk(first, 3, status=Status.PINNED)
    contributions_bulk(first, 2, status=Status.REJECTED)
    client = _as(dao.creator)
    body, small = _get(client, CONTRIBUTIONS)
    assert "5 contributions" in body
    assert not [sql for sql in small if READS_EVERY_ROW.search(sql)], small
    # Ten times the rows over a second dataset: the same queries.
    second = DatasetFactory(dao=dao, name="Second")
    contributions_bulk(first, 30, status=Status.PINNED)
    contributions_bulk(second, 20, status=Status.FAILED)
    body, large = _get(client, CONTRIBUTIONS)
    assert "55 contributions" in body and len(large) == len(small)
    # Filtered by status and dataset, still from the tallies.
    body, queries = _get(
        client, f"{CONTRIBUTIONS}?status__exact=pinned&dataset__id__exact={first.pk}"
    )
    assert "33 contributions" in body
    assert not [sql for sql in queries if READS_EVERY_ROW.search(sql)], queries
    body, _ = _get(client, f"{CONTRIBUTIONS}?dataset__id__exact={second.pk}")
    assert "20 contributions" in body


def test_the_dataset_filter_names_the_managed_daos_datasets_only() -> None:
    dao = DAOFactory()
    mine = DatasetFactory(dao=dao, name="Mine")
    theirs = DatasetFactory(name="Theirs")
    contributions_bulk(mine, 1)
    contributions_bulk(theirs, 1)
    body, _ = _get(_as(dao.creator), CONTRIBUTIONS)
    assert f"?dataset__id__exact={mine.pk}" in body
    assert f"?dataset__id__exact={theirs.pk}" not in body
    # Another DAO's dataset, asked for by hand, lists and counts nothing.
    body, _ = _get(_as(dao.creator), f"{CONTRIBUTIONS}?dataset__id__exact={theirs.pk}")
    assert "0 contributions" in body


def test_other_filters_count_at_most_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 4)
    dao = DAOFactory()
    dataset = DatasetFactory(dao=dao)
    contributions_bulk(dataset, 6, signed=True)
    contributions_bulk(dataset, 2, signed=False)
    client = _as(dao.creator)
    body, queries = _get(client, f"{CONTRIBUTIONS}?signed__exact=1")
    assert "4+ contributions" in body
    counts = [sql for sql in queries if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and "LIMIT 5" in counts[0], counts
    body, _ = _get(client, f"{CONTRIBUTIONS}?signed__exact=0")
    assert "2 contributions" in body and "+ contributions" not in body
    # The tallies' count is exact however large.
    body, _ = _get(client, CONTRIBUTIONS)
    assert "8 contributions" in body


def test_the_reward_ledger_lists_in_fixed_queries_without_reading_every_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 50)
    dao = DAOFactory(token_symbol="AIR")
    DatasetFactory(dao=dao)
    _entries(dao, 3)
    client = _as(dao.creator)
    body, small = _get(client, ENTRIES)
    assert "3 reward entr" in body and "?reason__exact=royalty" in body
    assert not [sql for sql in small if READS_EVERY_ROW.search(sql)], small
    _entries(dao, 60, reason="label")
    body, large = _get(client, ENTRIES)
    assert "50+ reward entr" in body and len(large) == len(small)
    body, _ = _get(client, f"{ENTRIES}?reason__exact=contribution")
    assert "3 reward entr" in body


@pytest.mark.parametrize(
    "url",
    [
        "/admin/labeling/labeltask/",
        "/admin/webhooks/webhookdelivery/",
        "/admin/datadao/auditevent/",
    ],
)
def test_other_growing_lists_read_no_column_of_every_row(url: str) -> None:
    dao = DAOFactory()
    body, queries = _get(_as(dao.creator), url)
    assert 'id="changelist' in body
    assert not [sql for sql in queries if READS_EVERY_ROW.search(sql)], queries


def _plan(queryset: Any) -> str:
    """PostgreSQL's plan for the queryset, sequential scans ruled out (the tables are tiny)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_open_epochs_accrual_is_summed_from_its_index() -> None:
    dao = DAOFactory()
    DatasetFactory(dao=dao)
    _entries(dao, 4)
    assert epoch_accrued(dao=dao) == 4 * 10**18
    entries = RewardEntry.objects.filter(dao=dao, epoch__isnull=True)
    plan = _plan(entries.values("dao_id").annotate(n=Sum("amount")))
    assert "reward_entry_unsettled" in plan, plan
    person = RewardEntry.objects.filter(account=entries[0].account, epoch__isnull=True)
    plan = _plan(person.values("dao_id").annotate(n=Sum("amount")))
    assert "reward_entry_unsettled_by_user" in plan, plan


def test_the_delivery_log_is_walked_newest_first_not_sorted() -> None:
    plan = _plan(WebhookDelivery.objects.order_by("-created_at", "-id")[:50])
    assert "webhook_delivery_newest" in plan and "Sort" not in plan, plan


def test_contributions_are_scoped_by_dataset_ids_not_a_join() -> None:
    # A join to the datasets in the WHERE made the planner sort every contribution of the DAO
    # for each page; a list of ids lets it walk the newest first and stop at the page.
    dao = DAOFactory()
    contributions_bulk(DatasetFactory(dao=dao), 2)
    _, queries = _get(_as(dao.creator), CONTRIBUTIONS)
    page = [
        sql for sql in queries if 'FROM "contributions_contribution"' in sql and "ORDER BY" in sql
    ]
    assert len(page) == 1 and '"datadao_dataset"."dao_id" IN' not in page[0], page
