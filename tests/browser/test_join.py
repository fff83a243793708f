"""Joining a DAO from its page: the wallet signs the terms (eth_signTypedData_v4), the server
verifies the real signature; then leaving."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from datadao.models import JoinPolicy, JoinRequest, Membership, TermsAcceptance, User
from tests.browser.conftest import CHAIN_ID, sign_in
from tests.factories import DAOFactory

pytestmark = pytest.mark.browser


def test_joining_an_open_dao_signs_the_terms_then_leaving(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(join_policy=JoinPolicy.OPEN, terms="Share alike.", chain_id=CHAIN_ID)
    sign_in(page, wallet, f"/daos/{dao.slug}/")
    expect(page.get_by_text("Share alike.")).to_be_visible()
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_text("You are a contributor of this DAO")).to_be_visible()
    expect(page.get_by_text("Terms you signed")).to_be_visible()
    assert Membership.objects.filter(dao=dao, user=wallet_user).exists()
    assert TermsAcceptance.objects.get(dao=dao).signer == wallet.address
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Leave this DAO").click()
    expect(page.get_by_role("button", name="Join", exact=True)).to_be_visible()
    assert not Membership.objects.filter(dao=dao, user=wallet_user).exists()


def test_requesting_to_join_shows_pending(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(join_policy=JoinPolicy.REQUEST, chain_id=CHAIN_ID)
    sign_in(page, wallet, f"/daos/{dao.slug}/")
    page.get_by_role("button", name="Request to join").click()
    expect(page.locator('.join-state[data-state="pending"]')).to_be_visible()
    assert JoinRequest.objects.get(dao=dao, user=wallet_user).status == "pending"


def test_a_wallet_on_another_chain_is_told_to_switch(
    page: Page, wallet: LocalAccount, wallet_user: User
) -> None:
    dao = DAOFactory(join_policy=JoinPolicy.OPEN, chain_id=1)
    sign_in(page, wallet, f"/daos/{dao.slug}/")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.locator("#join-status.error")).to_have_text(
        f"Your wallet is on chain {CHAIN_ID}; this DAO is on chain 1. "
        "Switch your wallet to chain 1 and try again."
    )
    assert not Membership.objects.filter(dao=dao, user=wallet_user).exists()
