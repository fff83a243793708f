"""The console's epoch page: the allocations as a table in tokens, the EpochRoot to be signed,
and a confirmed close through ``services.epoch_close`` (once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings

from contributions.models import Contribution, Status
from datadao.models import AuditEvent, Membership, Role
from rewards import services
from rewards.models import Epoch, RewardEntry, RewardPolicy
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
TOKEN = 10**18


@pytest.fixture(autouse=True)
def _reward_signer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _contribution(dataset, user, n: int) -> Contribution:  # type: ignore[no-untyped-def]
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=user,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"s{n}",
        status=Status.PINNED,
        cid=f"bafkreitest{n}",
        score=10000,
    )
    services.reward_credit_contribution(contribution=contribution)
    return contribution


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    """A DAO with a policy paying 1.5 AIR per contribution: alice 2 contributions and a label
    (0.25 AIR), bob 1 contribution."""
    dao = DAOFactory(token_symbol="AIR", reward_contract_address="0x" + "ab" * 20, chain_id=8453)
    dataset = DatasetFactory(dao=dao)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=3 * TOKEN // 2)
    alice, bob = UserFactory(), UserFactory()
    _contribution(dataset, alice, 1)
    _contribution(dataset, alice, 2)
    _contribution(dataset, bob, 3)
    RewardEntry.objects.create(
        dao=dao,
        dataset=dataset,
        account=alice,
        amount=TOKEN // 4,
        reason="label",
        source_type="labeling.label",
        source_id="1",
    )
    epoch = Epoch.objects.get(dao=dao, status="open")
    return {"dao": dao, "epoch": epoch, "alice": alice, "bob": bob}


def _url(epoch: Epoch) -> str:
    return f"/admin/rewards/epoch/{epoch.pk}/close/"


def test_the_page_shows_each_address_in_tokens_with_counts_and_the_total(world) -> None:  # type: ignore[no-untyped-def]
    response = _as(world["dao"].creator).get(_url(world["epoch"]))
    assert response.status_code == 200
    body = response.content.decode()
    preview = response.context["preview"]
    rows = {r.address: (r.amount, r.contributions, r.labels) for r in preview.rows}
    assert rows == {
        world["alice"].address: (3 * TOKEN + TOKEN // 4, 2, 1),
        world["bob"].address: (3 * TOKEN // 2, 1, 0),
    }
    assert "3.25 AIR" in body and "1.5 AIR" in body
    assert "<strong>4.75 AIR</strong>" in body  # the total row
    assert str(475 * 10**16) in body  # the EpochRoot's total, as signed (base units)
    message = preview.typed_data["message"]
    assert message["root"] in body and message["daoId"] in body
    assert "8453" in body and preview.typed_data["domain"]["verifyingContract"] in body
    assert 'name="confirm"' in body


def test_an_open_epoch_shows_its_accrued_total_in_the_list_and_on_the_page(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["dao"].creator)
    listing = client.get("/admin/rewards/epoch/").content.decode()
    assert "4.75 AIR accrued so far" in listing
    assert _url(world["epoch"]) in listing
    page = client.get(_url(world["epoch"])).content.decode()
    assert '<strong class="dd-accrued">4.75 AIR</strong>' in page
    change = client.get(f"/admin/rewards/epoch/{world['epoch'].pk}/change/").content.decode()
    assert "4.75 AIR accrued so far" in change


def test_another_daos_admin_and_a_contributor_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    other = DAOFactory()
    url = _url(world["epoch"])
    assert _as(other.creator).get(url).status_code == 404
    assert _as(other.creator).post(url, {"confirm": "yes", "root": "0x1"}).status_code == 404
    member = UserFactory()
    Membership.objects.create(dao=world["dao"], user=member, role=Role.CONTRIBUTOR)
    refused = _as(member).get(url)
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    assert Epoch.objects.get(pk=world["epoch"].pk).status == "open"


def test_confirming_closes_once_and_a_second_post_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    epoch, client = world["epoch"], _as(world["dao"].creator)
    root = client.get(_url(epoch)).context["preview"].plan.root
    unconfirmed = client.post(_url(epoch), {"root": root}, follow=True).content.decode()
    assert "Confirm the close" in unconfirmed
    assert Epoch.objects.get(pk=epoch.pk).status == "open"

    done = client.post(_url(epoch), {"confirm": "yes", "root": root}, follow=True)
    body = done.content.decode()
    closed = Epoch.objects.get(pk=epoch.pk)
    assert closed.status == "closed" and closed.root == root and int(closed.total) == 475 * 10**16
    assert "epoch 1: closed, total 4.75 AIR" in body  # the admin capitalises the message
    assert "closed</strong>" in body and "3.25 AIR" in body  # the page now lists allocations

    again = client.post(_url(epoch), {"confirm": "yes", "root": root}, follow=True)
    assert "is already closed" in again.content.decode()
    assert AuditEvent.objects.filter(verb="epoch.closed").count() == 1
    assert Epoch.objects.filter(dao=world["dao"]).count() == 2  # the closed one and the next


def test_a_credit_arriving_after_review_refuses_the_close(world) -> None:  # type: ignore[no-untyped-def]
    epoch, client = world["epoch"], _as(world["dao"].creator)
    root = client.get(_url(epoch)).context["preview"].plan.root
    _contribution(world["dao"].datasets.get(), UserFactory(), 9)
    body = client.post(_url(epoch), {"confirm": "yes", "root": root}, follow=True)
    assert "changed since it was reviewed" in body.content.decode()
    assert Epoch.objects.get(pk=epoch.pk).status == "open"
    assert not RewardEntry.objects.filter(epoch=epoch).exists()  # nothing half-stored


def test_an_empty_epoch_has_nothing_to_close() -> None:
    dao = DAOFactory(token_symbol="AIR")
    epoch = services.epoch_current(dao=dao)
    body = _as(dao.creator).get(_url(epoch)).content.decode()
    assert "Nothing to allocate yet" in body and 'name="confirm"' not in body
    listing = _as(dao.creator).get("/admin/rewards/epoch/").content.decode()
    assert "0 AIR accrued so far" in listing


def test_the_epoch_pages_in_chinese(world) -> None:  # type: ignore[no-untyped-def]
    client = _as(world["dao"].creator)
    zh = {"accept-language": "zh-hans"}
    page = client.get(_url(world["epoch"]), headers=zh).content.decode()
    assert "如果现在结束纪元" in page and "将要签名的内容" in page
    assert "<strong>4.75 AIR</strong>" in page and "合计（2 个地址）" in page
    assert f'value="结束第 {world["epoch"].number} 纪元"' in page
    assert "%(" not in page and "If the epoch closed now" not in page
    listing = client.get("/admin/rewards/epoch/", headers=zh).content.decode()
    assert "%(" not in listing
