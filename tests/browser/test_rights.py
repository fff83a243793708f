"""Data rights in the browser: an admin prices a dataset, confirms a consumer's payment and
signs the grant in their wallet (eth_signTypedData_v4) from the console, then revokes it; a
consumer asks for paid access from their page. The server verifies the real signatures."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import User, Visibility
from datadao.services import user_get_or_create
from rights.models import AccessGrant, DatasetOffer, Purchase
from rights.services import offer_set, purchase_request
from tests.browser.conftest import CHAIN_ID, sign_in
from tests.factories import DAOFactory, DatasetFactory

pytestmark = pytest.mark.browser


def test_an_admin_prices_confirms_signs_and_revokes_from_the_console(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(creator=wallet_user, chain_id=CHAIN_ID)
    dataset = DatasetFactory(dao=dao, visibility=Visibility.MEMBERS, name="Clinic visits")
    treasury = Account.create().address
    sign_in(page, wallet)
    page.goto(f"/admin/data-rights/{dao.slug}/")

    page.get_by_label("Price of Clinic visits").fill("1000")
    page.get_by_label("Payment address").fill(treasury)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("form.offer .result")).to_have_text("Saved.")
    offer = DatasetOffer.objects.get(dataset=dataset)
    assert (offer.price, offer.payment_address) == (1000, treasury)

    consumer, _ = user_get_or_create(address=Account.create().address)
    tx = "0x" + secrets.token_hex(32)
    purchase = purchase_request(dataset=dataset, consumer=consumer, tx_hash=tx)
    page.reload()
    page.get_by_label("Transaction hash").fill(tx)
    page.get_by_role("button", name="Confirm payment").click()
    expect(page.get_by_role("button", name="Grant…")).to_be_visible()
    assert Purchase.objects.get(pk=purchase.pk).status == "confirmed"

    page.get_by_role("button", name="Grant…").click()
    page.get_by_role("button", name="Sign with my wallet and record").click()
    expect(page.locator("#grants")).to_contain_text(consumer.address)
    grant = AccessGrant.objects.get()
    assert (grant.signer, grant.grantee, grant.purchase_id) == (
        wallet.address,
        consumer.address,
        purchase.pk,
    )

    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#grants")).to_contain_text("revoked")
    assert AccessGrant.objects.get().revoked_at is not None


def test_a_consumer_asks_for_paid_access_from_their_page(
    another_person: Callable[[], tuple[Page, LocalAccount]],
) -> None:
    creator, _ = user_get_or_create(address=Account.create().address)
    dao = DAOFactory(creator=creator, chain_id=CHAIN_ID)
    dataset = DatasetFactory(dao=dao, visibility=Visibility.MEMBERS, name="Bird calls")
    offer_set(dataset=dataset, actor=creator, price=5, payment_address=Account.create().address)
    page, consumer = another_person()
    sign_in(page, consumer)
    page.get_by_role("link", name="My data access").click()
    expect(page.locator("#offers")).to_contain_text("Bird calls")
    tx = "0x" + secrets.token_hex(32)
    page.get_by_label("Transaction hash of your payment").fill(tx)
    page.get_by_role("button", name="Ask for access").click()
    expect(page.locator("#my-purchases")).to_contain_text("pending")
    purchase = Purchase.objects.get()
    assert (purchase.consumer.address, purchase.tx_hash, purchase.amount) == (
        consumer.address,
        tx,
        5,
    )
