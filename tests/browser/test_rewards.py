"""A contributor finds their settled reward on /me/rewards and copies the claim a wallet needs."""

from __future__ import annotations

import json

import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect

from contributions.models import Contribution, Status
from datadao.models import User
from rewards import services
from rewards.merkle import verify
from rewards.models import Allocation, RewardPolicy
from rewards.views import allocation_claim
from tests.browser.conftest import sign_in
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.browser

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing


def _credit(dataset, user: User, score: int, n: int) -> None:  # type: ignore[no-untyped-def]
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=user,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"s{n}",
        status=Status.PINNED,
        cid=f"bafkreitest{n}",
        score=score,
    )
    services.reward_credit_contribution(contribution=contribution)


def test_a_settled_reward_is_shown_and_its_claim_copied(
    page: Page, wallet: LocalAccount, wallet_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    _credit(dataset, wallet_user, 7500, 1)
    _credit(dataset, UserFactory(), 10000, 2)  # another leaf, so the proof is not empty
    epoch = services.epoch_close(dao=dataset.dao, actor=None)
    allocation = Allocation.objects.get(epoch=epoch, account=wallet.address)

    sign_in(page, wallet)
    page.get_by_role("link", name="My rewards").click()
    expect(page.get_by_role("heading", name="My rewards")).to_be_visible()
    # The copy buttons are wired by a deferred script: a click before it ran does nothing.
    page.wait_for_load_state("load")
    row = page.get_by_role("row").filter(has_text=dataset.dao.name)
    expect(row.get_by_role("cell").nth(2)).to_have_text(f"0.75 {dataset.dao.token_symbol}")

    row.get_by_role("button", name="Copy", exact=True).click()
    expect(row.locator("button.copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == row.get_by_role("textbox").input_value()
    claim = json.loads(copied)
    assert claim == allocation_claim(allocation)
    assert claim["account"] == wallet.address and claim["amount"] == str(75 * 10**16)
    assert claim["proof"] and verify(epoch.root, wallet.address, 75 * 10**16, claim["proof"])
    # The DAO's id travels with the claim: the contract to claim from must return it as daoId().
    assert claim["daoId"] == dataset.dao.onchain_id
