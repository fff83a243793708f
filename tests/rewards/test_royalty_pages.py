"""Royalties as people see them: the treasury share in the console (audited, refusals as form
errors), the payments and their split for the DAO, each contributor's part on /me/rewards and
GET /api/rewards/royalties."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings

from datadao.models import AuditEvent
from datadao.openapi import openapi_schema
from rewards import services
from rewards.models import RoyaltyPolicy
from rewards.royalties import royalty_distribute, royalty_policy_set
from tests.factories import DAOFactory, DatasetFactory, UserFactory, new_account

pytestmark = pytest.mark.django_db

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
ADD = "/admin/rewards/royaltypolicy/add/"
TX_A = "0x" + "a1" * 32
TX_B = "0x" + "b2" * 32


@pytest.fixture(autouse=True)
def _signer_and_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_console_sets_the_treasury_share_through_the_audited_service() -> None:
    dao = DAOFactory()
    client = _as(dao.creator)
    treasury = new_account().address
    response = client.post(
        ADD, {"dao": dao.pk, "treasury_share_bps": "1500", "treasury_address": treasury.lower()}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = RoyaltyPolicy.objects.get(dao=dao)
    assert (policy.treasury_share_bps, policy.treasury_address) == (1500, treasury)
    event = AuditEvent.objects.get(verb="royalty_policy.updated")
    assert event.actor_id == dao.creator.pk and event.details["after"]["treasury_share_bps"] == 1500
    listing = client.get("/admin/rewards/royaltypolicy/").content.decode()
    assert "15% (1500 bps)" in listing
    change = f"/admin/rewards/royaltypolicy/{policy.pk}/change/"
    assert (
        client.post(change, {"treasury_share_bps": "0", "treasury_address": ""}).status_code == 302
    )
    policy.refresh_from_db()
    assert (policy.treasury_share_bps, policy.treasury_address) == (0, "")
    assert AuditEvent.objects.filter(verb="royalty_policy.updated").count() == 2


@pytest.mark.parametrize(
    ("share", "address", "message"),
    [
        ("10001", "", "Ensure this value is less than or equal to 10000."),
        ("-1", "", "Ensure this value is greater than or equal to 0."),
        ("1000", "", "A treasury share above 0 needs a treasury address to pay it to."),
        ("1000", "0xnothex", "is not an Ethereum address"),
    ],
)
def test_refused_settings_are_form_errors_that_say_why(
    share: str, address: str, message: str
) -> None:
    dao = DAOFactory()
    response = _as(dao.creator).post(
        ADD, {"dao": dao.pk, "treasury_share_bps": share, "treasury_address": address}
    )
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not RoyaltyPolicy.objects.exists()
    assert not AuditEvent.objects.filter(verb="royalty_policy.updated").exists()


def test_a_contributor_cannot_set_the_treasury_share() -> None:
    dao = DAOFactory()
    contributor = UserFactory()
    response = _as(contributor).post(
        ADD, {"dao": dao.pk, "treasury_share_bps": "9000", "treasury_address": ""}
    )
    assert response.status_code in (302, 403)
    assert not RoyaltyPolicy.objects.exists()


def _two_payments():  # type: ignore[no-untyped-def]
    dao = DAOFactory(token_symbol="AIR", token_decimals=18)
    dataset = DatasetFactory(dao=dao, name="Street noise")
    treasury = UserFactory()
    royalty_policy_set(
        dao=dao, actor=None, treasury_share_bps=1000, treasury_address=treasury.address
    )
    me, other = UserFactory(), UserFactory()
    shares = [(me.pk, 3000), (other.pk, 6000), (me.pk, 3000)]
    for key, amount in ((TX_A, 10 * 10**18), (TX_B, 5 * 10**18)):
        royalty_distribute(
            dao=dao,
            dataset=dataset,
            payment_key=key,
            amount=amount,
            shares=shares,
            release_cid="bafyreleasecid",
        )
    return dao, dataset, treasury, me, other


def test_each_contributor_sees_the_payment_and_their_share() -> None:
    dao, _, treasury, me, other = _two_payments()
    services.epoch_close(dao=dao, actor=None)  # the first two settle ...
    royalty_distribute(
        dao=dao,
        dataset=dao.datasets.get(),
        payment_key="0x" + "c3" * 32,
        amount=1,
        shares=[(me.pk, 1)],
    )  # ... and a third accrues

    body = _as(me).get("/me/rewards").content.decode()
    section = body[body.index("Royalties from data consumers") :]
    # 10 AIR less 10 %: 9 AIR by 6000 of 12000 points is 4.5 AIR; 5 AIR gives 2.25 AIR.
    assert "score 6000 of 12000: 45% of the payment" in section
    assert '<td class="amount">4.5 AIR</td>' in section
    assert '<td class="amount">2.25 AIR</td>' in section
    assert '<td class="amount">10 AIR</td>' in section  # what the consumer paid
    assert "settled in epoch 1" in section and "accruing" in section
    assert TX_A[:17] in section

    api = _as(me).get("/api/rewards/royalties").json()["royalties"]
    assert [(r["payment"]["key"], r["amount"], r["epoch"]) for r in api] == [
        ("0x" + "c3" * 32, "1", None),
        (TX_B, str(225 * 10**16), 1),
        (TX_A, str(45 * 10**17), 1),
    ]
    first = api[2]
    assert first == {
        "dao": dao.slug,
        "dataset": "Street noise",
        "payment": {
            "key": TX_A,
            "amount": str(10 * 10**18),
            "releaseCid": "bafyreleasecid",
            "creditedAt": first["payment"]["creditedAt"],
        },
        "part": "contributor",
        "score": 6000,
        "totalScore": 12000,
        "shareBps": 4500,
        "amount": str(45 * 10**17),
        "display": "4.5 AIR",
        "epoch": 1,
        "settled": True,
        "reversed": "0",  # no challenge of the work that earned it was upheld
    }
    # The treasury address sees the DAO's part; the other contributor only theirs.
    mine = _as(treasury).get("/api/rewards/royalties").json()["royalties"]
    assert [(r["part"], r["amount"], r["shareBps"]) for r in mine] == [
        ("treasury", str(5 * 10**17), 1000),
        ("treasury", str(10**18), 1000),
    ]
    theirs = _as(other).get("/api/rewards/royalties").json()["royalties"]
    assert {r["amount"] for r in theirs} == {str(45 * 10**17), str(225 * 10**16)}


def test_the_api_needs_a_session_and_is_described() -> None:
    response = Client().get("/api/rewards/royalties")
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    assert _as(UserFactory()).get("/api/rewards/royalties").json() == {"royalties": []}
    document = openapi_schema(version="test")
    item = document["paths"]["/api/rewards/royalties"]["get"]
    schema = item["responses"]["200"]["content"]["application/json"]["schema"]
    keys = set(schema["properties"]["royalties"]["items"]["properties"])
    _, _, _, me, _ = _two_payments()
    served = _as(me).get("/api/rewards/royalties").json()["royalties"][0]
    assert set(served) == keys


def test_the_dao_sees_each_payment_with_the_treasury_part_and_the_split() -> None:
    dao, _, treasury, me, other = _two_payments()
    client = _as(dao.creator)
    listing = client.get("/admin/rewards/royaltypayment/").content.decode()
    assert TX_A in listing and "1 AIR (1000 bps)" in listing and "0.5 AIR (1000 bps)" in listing
    payment = dao.royalty_payments.get(payment_key=TX_A)
    page = client.get(f"/admin/rewards/royaltypayment/{payment.pk}/change/").content.decode()
    assert f"<code>{me.address}</code>" in page and "6000 of 12000" in page and "4.5 AIR" in page
    assert f"<code>{other.address}</code>" in page and treasury.address in page
    # The epoch's close page counts the royalties per address.
    epoch = services.epoch_current(dao=dao)
    close = client.get(f"/admin/rewards/epoch/{epoch.pk}/close/").content.decode()
    assert '<th scope="col">Royalties</th>' in close
    assert "15 AIR" in close  # the two payments, to the last unit
    # Another DAO's creator sees none of it.
    stranger = _as(DAOFactory().creator)
    assert TX_A not in stranger.get("/admin/rewards/royaltypayment/").content.decode()
