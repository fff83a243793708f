"""Sign-In with Ethereum from the page, with a wallet whose signatures the server verifies."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import BrowserContext, Page, expect

from datadao.models import SiweNonce, User
from tests.browser.conftest import install_wallet, sign_in

pytestmark = pytest.mark.browser


def test_signing_in_with_the_wallet_creates_the_user_and_a_session(
    page: Page, wallet: LocalAccount
) -> None:
    assert not User.objects.filter(address=wallet.address).exists()
    sign_in(page, wallet)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="My rewards")).to_be_visible()
    assert page.request.get("/auth/me").json() == {
        "authenticated": True,
        "address": wallet.address,
        "console": False,
    }
    assert User.objects.filter(address=wallet.address).exists()
    assert SiweNonce.objects.get().consumed_at is not None  # single use


def test_a_signature_from_another_key_is_refused_on_the_page(
    page: Page, context: BrowserContext
) -> None:
    shown = Account.create()
    install_wallet(context, Account.create(), address=shown.address)
    page.goto("/")
    page.get_by_role("button", name="Sign in with Ethereum").click()
    expect(page.locator("#siwe-status.error")).to_have_text(
        "The signature was not made by the message's address."
    )
    expect(page.get_by_role("button", name="Sign in with Ethereum")).to_be_enabled()
    assert page.request.get("/auth/me").json() == {"authenticated": False}
    assert not User.objects.filter(address=shown.address).exists()
    assert SiweNonce.objects.get().consumed_at is None  # a refused message burns nothing


def test_a_wallet_on_another_chain_is_told_which_chains_to_switch_to(
    page: Page, context: BrowserContext
) -> None:
    install_wallet(context, Account.create(), chain_id=56)
    page.goto("/")
    page.get_by_role("button", name="Sign in with Ethereum").click()
    expect(page.locator("#siwe-status.error")).to_have_text(
        "Your wallet is on chain 56, which this site does not accept. "
        "Switch your wallet to chain 1, 11155111 or 31337 and sign in again."
    )
    assert page.request.get("/auth/me").json() == {"authenticated": False}
    assert not SiweNonce.objects.filter(consumed_at__isnull=False).exists()
