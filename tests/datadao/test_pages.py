"""The DAO page: each dataset with what it takes, its license, counts and rewards in words."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from contributions.models import Contribution, Release, Status
from datadao.models import DAO, Visibility
from labeling.models import LabelTask, TaskStatus
from rewards.models import RewardPolicy
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.labeling.conftest import make_tasks

pytestmark = pytest.mark.django_db

TABLE = {
    "columns": [
        {"name": "sensor", "type": "string", "required": True},
        {"name": "pm25", "type": "float"},
    ]
}


def test_each_dataset_is_linked_and_described_in_plain_words(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory(token_symbol="AIR", epoch_days=7)
    table = DatasetFactory(dao=dao, name="Readings", kind="tabular", schema=TABLE)
    labels = DatasetFactory(
        dao=dao, name="Digits", kind="labeling", schema={"labels": ["0", "1"], "overlap": 2}
    )
    DatasetFactory(dao=dao, name="Secret", visibility=Visibility.MEMBERS)
    RewardPolicy.objects.create(dataset=table, per_contribution=10**18)
    RewardPolicy.objects.create(dataset=labels, per_label=10**16, epoch_budget=10**20)
    for n, status in enumerate([Status.PINNED, Status.PINNED, Status.REJECTED]):
        Contribution.objects.create(
            dataset=table,
            contributor=UserFactory(),
            sha256=f"{n:064x}",
            size=1,
            storage_name=f"s{n}",
            status=status,
            cid=f"bafkreitest{n}" if status == Status.PINNED else "",
        )
    for version in (1, 2):
        Release.objects.create(
            dataset=table,
            version=version,
            cid=f"bafyrelease{version}",
            manifest={},
            contributions_count=version,
            total_bytes=1,
        )
    make_tasks(labels, 3)
    LabelTask.objects.filter(source_key="t0").update(status=TaskStatus.COMPLETE)

    # The DAO, 3 for its datasets however many, 1 for the licences a joiner signs.
    with django_assert_num_queries(5):
        body = Client().get(f"/daos/{dao.slug}/").content.decode()
    assert f'<a href="/daos/{dao.slug}/{table.slug}/">Readings</a>' in body
    assert f"<dt>DAO id</dt><dd><code>{dao.onchain_id}</code>" in body
    assert "CSV or JSON Lines rows with 2 columns: <code>sensor</code> (string, required)" in body
    assert "2 pinned contributions" in body
    assert "earns up to <strong>1 AIR</strong> at a full score" in body
    assert "an epoch closes, every 7 days" in body
    assert "Labels for texts: <code>0</code>, <code>1</code> (one per item), 2 labelers" in body
    assert "3 items to label, 1 settled" in body
    assert "Each settled label earns up to <strong>0.01 AIR</strong>" in body
    assert "At most 100 AIR is paid per epoch" in body
    assert "Secret" not in body
    assert '<a href="/releases/bafyrelease2/">v2</a>' in body and "bafyrelease1" not in body
    assert body.count("none yet") == 1


@pytest.mark.django_db
def test_founding_a_dao_sets_its_token_decimals() -> None:
    client = Client()
    client.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    form = {"name": "Coins", "slug": "coins", "token_symbol": "USDC", "chain_id": "1"}
    assert "token_decimals" in client.get("/daos/new").content.decode()
    refused = client.post("/daos/new", form | {"token_decimals": "37"})
    assert refused.status_code == 200
    assert "Ensure this value is less than or equal to 36." in refused.content.decode()
    assert not DAO.objects.filter(slug="coins").exists()
    assert client.post("/daos/new", form | {"token_decimals": "6"}).status_code == 302
    assert DAO.objects.get(slug="coins").token_decimals == 6
    # Left empty, a DAO's token has 18 decimals, the ERC-20 default.
    assert (
        client.post("/daos/new", form | {"slug": "more", "token_decimals": ""}).status_code == 302
    )
    assert DAO.objects.get(slug="more").token_decimals == 18


@pytest.mark.django_db
def test_the_decimals_are_range_checked_by_the_database() -> None:
    dao = DAOFactory()
    with pytest.raises(IntegrityError, match="dao_token_decimals_range"), transaction.atomic():
        DAO.objects.filter(pk=dao.pk).update(token_decimals=37)
