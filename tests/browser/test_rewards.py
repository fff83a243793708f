"""A contributor finds their settled reward on /me/rewards and copies the claim a wallet needs,
or claims it on a real JSON-RPC chain through the wallet's ``eth_sendTransaction``."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import BrowserContext, Page, expect

from contributions.models import Contribution, Status
from datadao.models import DAO, User
from datadao.services import user_get_or_create
from rewards import relay, services, watch
from rewards.merkle import verify
from rewards.models import Allocation, ChainEvent, RewardPolicy
from rewards.onchain import artifact
from rewards.views import allocation_claim
from tests.browser.conftest import WALLET_KEY, install_wallet, sign_in
from tests.chainnode import CHAIN_ID, DEV_KEYS, ChainNode, send
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


def test_a_member_claims_with_their_wallet_and_sees_it_paid(
    page: Page,
    context: BrowserContext,
    chain_node: ChainNode,
    monkeypatch: pytest.MonkeyPatch,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    monkeypatch.setenv("DEPLOYER_KEY", DEV_KEYS[0])
    monkeypatch.setenv("RELAYER_KEY", DEV_KEYS[1])
    settings.CHAIN_RPC_URLS = {CHAIN_ID: chain_node.url}
    settings.CHAIN_CONFIRMATIONS = {CHAIN_ID: 1}
    chain_node.automine(True)
    wallet = Account.from_key(WALLET_KEY)
    install_wallet(context, wallet, rpc_url=chain_node.url)
    chain_node.rpc("hardhat_setBalance", wallet.address, hex(10**20))  # gas for its claim
    user, _ = user_get_or_create(address=wallet.address)

    w3 = chain_node.web3()
    deployer = Account.from_key(DEV_KEYS[0])
    built = artifact.contract("TestToken")
    token = send(w3, deployer, {"data": built["bytecode"]})["contractAddress"]
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain_node.url, token=token)
    dao = DAO.objects.get(pk=dataset.dao.pk)
    mint = w3.eth.contract(token, abi=built["abi"]).functions.mint(
        dao.reward_contract_address, 10**24
    )
    send(w3, deployer, {"to": token, "data": mint._encode_transaction_data()})
    _credit(dataset, user, 7500, 11)
    _credit(dataset, UserFactory(), 10000, 12)
    epoch = services.epoch_close(dao=dao, actor=None)
    for _ in range(5):
        if relay.epoch_relay(epoch_id=epoch.pk).state == "set":
            break
    chain_node.mine(1)
    watch.watch_dao(dao_id=dao.pk)

    sign_in(page, wallet)
    page.goto("/me/rewards")
    page.wait_for_load_state("load")  # claim.js is deferred
    row = page.get_by_role("row").filter(has_text=dao.name)
    expect(row.locator("td.claim-state")).to_have_attribute("data-state", "unclaimed")
    row.get_by_role("button", name="Claim with my wallet").click()
    expect(row.locator(".claim-status")).to_contain_text("Sent: 0x")
    sent = row.locator(".claim-status").inner_text().split("Sent: ")[1][:66]

    chain_node.mine(1)
    watch.watch_dao(dao_id=dao.pk)
    claimed = ChainEvent.objects.get(dao=dao, name="Claimed", confirmed=True)
    assert claimed.tx_hash == sent and claimed.account == wallet.address
    allocation = Allocation.objects.get(epoch=epoch, account=wallet.address)
    assert int(claimed.amount) == int(allocation.amount)
    balance = w3.eth.contract(token, abi=built["abi"]).functions.balanceOf(wallet.address)
    assert int(balance.call()) == int(allocation.amount)
    page.reload()
    row = page.get_by_role("row").filter(has_text=dao.name)
    expect(row.locator("td.claim-state")).to_have_attribute("data-state", "paid")
    expect(row.locator("td.claim-state code")).to_have_attribute("title", sent)
