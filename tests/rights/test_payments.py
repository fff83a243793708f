"""Paid access (issue #21 item 8): a price in the DAO's token, a consumer's purchase with the
transaction hash, an admin's audited confirmation by hand, then the grant that names it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django.test import override_settings
from eth_account import Account

from datadao.models import AuditEvent, Visibility
from datadao.services import dao_update
from rights.models import DatasetOffer, Purchase
from tests.factories import DatasetFactory
from tests.rights.world import World, build_world, grant_payload, post_json, signed_in, user

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
PRICE = 5 * 10**18 + 1  # above 2**53 and float precision: an integer all the way


@pytest.fixture
def world(ipfs_node) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        yield build_world()


def _tx() -> str:
    return "0x" + secrets.token_hex(32)


def _offer(w: World, **body: str):  # type: ignore[no-untyped-def]
    return post_json(signed_in(w.admin), f"/api/datasets/{w.dataset.pk}/offer", body)


def _buy(w: World, consumer, tx: str):  # type: ignore[no-untyped-def]
    return post_json(
        signed_in(consumer), f"/api/datasets/{w.dataset.pk}/purchases", {"tx_hash": tx}
    )


def test_a_price_is_paid_to_the_distributor_unless_the_dao_names_an_address(world: World) -> None:
    refused = _offer(world, price=str(PRICE))
    assert refused.status_code == 400 and refused.json()["error"] == "no_payment_address"
    treasury = Account.create().address
    named = _offer(world, price=str(PRICE), payment_address=treasury.lower())
    assert named.status_code == 200
    assert named.json() == {
        "dataset": world.dataset.pk,
        "price": str(PRICE),
        "payment_address": treasury,
    }
    distributor = Account.create().address
    dao_update(dao=world.dao, actor=user(world.creator), reward_contract_address=distributor)
    default = _offer(world, price="7")
    assert default.json()["payment_address"] == distributor
    assert DatasetOffer.objects.get().price == 7
    assert AuditEvent.objects.filter(verb="dataset.price_set").count() == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"price": "0"}, "bad_price"),
        ({"price": "-5"}, "bad_price"),
        ({"price": "1.5"}, "bad_price"),
        ({"price": str(2**256)}, "bad_price"),
        ({"price": "1", "payment_address": "0x12"}, "bad_payment_address"),
    ],
)
def test_bad_prices_are_refused(world: World, body: dict, code: str) -> None:
    response = _offer(world, **body)
    assert response.status_code == 400 and response.json()["error"] == code
    assert not DatasetOffer.objects.exists()


def test_a_public_dataset_is_free_and_a_non_admin_cannot_price(world: World) -> None:
    public = DatasetFactory(dao=world.dao, visibility=Visibility.PUBLIC)
    address = Account.create().address
    response = post_json(
        signed_in(world.admin),
        f"/api/datasets/{public.pk}/offer",
        {"price": "1", "payment_address": address},
    )
    assert response.status_code == 400 and response.json()["error"] == "public_dataset"
    for outsider in (world.member, world.other_admin):
        refused = post_json(
            signed_in(outsider),
            f"/api/datasets/{world.dataset.pk}/offer",
            {"price": "1", "payment_address": address},
        )
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert not DatasetOffer.objects.exists()


def test_buying_confirming_and_granting(world: World) -> None:
    treasury = Account.create().address
    _offer(world, price=str(PRICE), payment_address=treasury)
    consumer, other = Account.create(), Account.create()
    tx = _tx()
    bought = _buy(world, consumer, tx.upper().replace("0X", "0x"))
    assert bought.status_code == 201, bought.content
    purchase = bought.json()
    assert purchase["status"] == "pending" and purchase["amount"] == str(PRICE)
    assert purchase["tx_hash"] == tx and purchase["payment_address"] == treasury

    # A transaction pays once, whoever brings it (the constraint, not a lookup).
    again = _buy(world, other, tx)
    assert again.status_code == 409 and again.json()["error"] == "tx_hash_used"

    # A grant before the payment is confirmed is refused.
    body = grant_payload(world.dao, world.admin, consumer.address, world.dataset)
    early = post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        {**body, "purchase": purchase["id"]},
    )
    assert early.status_code == 400 and early.json()["error"] == "payment_unconfirmed"

    confirm = f"/api/daos/{world.dao.slug}/purchases/{purchase['id']}/confirm"
    for outsider in (consumer, world.member, world.other_admin):
        refused = post_json(signed_in(outsider), confirm, {"tx_hash": tx})
        assert refused.status_code == 403 and refused.json()["error"] == "not_admin"
    wrong = post_json(signed_in(world.admin), confirm, {"tx_hash": _tx()})
    assert wrong.status_code == 400 and wrong.json()["error"] == "tx_hash_mismatch"
    assert Purchase.objects.get().status == "pending"
    done = post_json(signed_in(world.admin), confirm, {"tx_hash": tx})
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    twice = post_json(signed_in(world.admin), confirm, {"tx_hash": tx})
    assert twice.status_code == 409 and twice.json()["error"] == "not_pending"
    event = AuditEvent.objects.get(verb="purchase.confirmed")
    assert event.actor.address == world.admin.address
    assert event.details == {
        "tx_hash": tx,
        "amount": str(PRICE),
        "pay_to": treasury,
        "consumer": consumer.address,
        "by": "hand",
        # No release yet: nobody to pay royalties to (tests/rewards/test_royalty_onchain.py
        # confirms purchases of a released dataset).
        "royalties": "none: no released contribution to pay; the DAO keeps the payment",
    }

    # The grant must name the consumer who paid.
    someone = grant_payload(world.dao, world.admin, other.address, world.dataset)
    wrong_grantee = post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        {**someone, "purchase": purchase["id"]},
    )
    assert wrong_grantee.json()["error"] == "wrong_grantee"
    granted = post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        {**body, "purchase": purchase["id"]},
    )
    assert granted.status_code == 201 and granted.json()["purchase"] == purchase["id"]
    second = grant_payload(world.dao, world.admin, consumer.address, world.dataset)
    dup = post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        {**second, "purchase": purchase["id"]},
    )
    assert dup.status_code == 409 and dup.json()["error"] == "already_granted"

    mine = signed_in(consumer).get("/api/me/grants").json()
    assert mine["purchases"][0]["grant"] == granted.json()["id"]
    assert signed_in(consumer).get(f"/ipfs/{world.in_release.cid}").status_code == 200
    listed = signed_in(world.admin).get(f"/api/daos/{world.dao.slug}/purchases").json()["results"]
    assert [p["status"] for p in listed] == ["confirmed"]
    page = signed_in(consumer).get("/me/access")
    assert page.status_code == 200 and tx[:10].encode() in page.content


@pytest.mark.parametrize("tx", ["", "0x1234", "0x" + "g" * 64, "0x" + "a" * 65, 12])
def test_a_bad_transaction_hash_is_refused(world: World, tx: object) -> None:
    _offer(world, price="10", payment_address=Account.create().address)
    response = _buy(world, Account.create(), tx)  # type: ignore[arg-type]
    assert response.status_code == 400 and response.json()["error"] == "bad_tx_hash"
    assert not Purchase.objects.exists()


def test_a_free_or_unpriced_dataset_cannot_be_bought(world: World) -> None:
    unpriced = _buy(world, Account.create(), _tx())
    assert unpriced.status_code == 404 and unpriced.json()["error"] == "not_for_sale"
    # Not for sale reads as no dataset: a members-only dataset's name does not leak.
    assert world.dataset.name not in unpriced.json()["detail"]
    public = DatasetFactory(dao=world.dao, visibility=Visibility.PUBLIC)
    free = post_json(
        signed_in(Account.create()), f"/api/datasets/{public.pk}/purchases", {"tx_hash": _tx()}
    )
    assert free.status_code == 404 and free.json()["error"] == "not_for_sale"
    assert not Purchase.objects.exists()
