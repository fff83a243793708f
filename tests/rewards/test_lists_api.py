"""The reward lists and a dataset's release list cost the same number of queries however many
rows a page holds and however deep the walk is (keyset pages: an index range, no OFFSET, no
per-row query)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from datadao.models import Membership, Role
from rewards.models import Allocation
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.sdk.test_lists import _epoch, _fake_release, _voucher

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def test_the_reward_lists_cost_the_same_for_a_full_page_and_a_deep_one() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    daos = [DAOFactory() for _ in range(3)]
    for n in range(2):
        Allocation.objects.create(
            epoch=_epoch(daos[n], 1), account=user.address, amount=1, tree_index=0
        )
        _voucher(daos[n], user.address, n)
    few = {what: _queries(client, f"/api/rewards/{what}") for what in ("allocations", "vouchers")}
    for n in range(2, 30):
        dao = daos[n % 3]
        Allocation.objects.create(
            epoch=_epoch(dao, 10 + n), account=user.address, amount=1, tree_index=0
        )
        _voucher(dao, user.address, n)
    for what in ("allocations", "vouchers"):
        count, page = _queries(client, f"/api/rewards/{what}?limit=20")
        assert len(page[what]) == 20 and count == few[what][0], what
        deep, rest = _queries(client, f"/api/rewards/{what}?limit=20&after={page['next']}")
        assert len(rest[what]) == 10 and rest["next"] is None and deep == count, what


def test_the_release_list_costs_the_same_for_a_full_page_and_a_deep_one() -> None:
    dataset = DatasetFactory()
    member = UserFactory()
    Membership.objects.create(dao=dataset.dao, user=member, role=Role.CONTRIBUTOR)
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    _fake_release(dataset, 1)
    one, _ = _queries(client, f"/api/datasets/{dataset.pk}/releases")
    for version in range(2, 41):
        _fake_release(dataset, version)
    count, page = _queries(client, f"/api/datasets/{dataset.pk}/releases?limit=25")
    assert [r["version"] for r in page["releases"]] == list(range(40, 15, -1)) and count == one
    deep, rest = _queries(client, f"/api/datasets/{dataset.pk}/releases?after={page['next']}")
    assert [r["version"] for r in rest["releases"]] == list(range(15, 0, -1)) and deep == one


def test_a_bad_page_is_refused_by_name_in_the_requests_language() -> None:
    dataset = DatasetFactory()
    url = f"/api/datasets/{dataset.pk}/releases"
    for query, english, chinese in [
        (
            "after=abc",
            "'after' must be the 'next' cursor of a page of this same list.",
            "'after' 必须是同一列表某一页的 'next' 游标。",
        ),
        (
            "limit=101",
            "'limit' must be a whole number from 1 to 100.",
            "'limit' 必须是 1 到 100 之间的整数。",
        ),
    ]:
        for language, detail in (("en", english), ("zh-CN,zh;q=0.9", chinese)):
            answer = Client().get(f"{url}?{query}", headers={"accept-language": language})
            assert answer.status_code == 400
            assert answer.json() == {"error": "bad_page", "detail": detail}
