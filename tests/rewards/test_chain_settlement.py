"""Settlement on a real JSON-RPC chain (Hardhat's node): deploy the distributor from the
platform, relay closed epochs' roots, follow the contract's events through confirmations and
reorganisations, show each claim's state, reconcile. Nothing here is mocked: every transaction
is mined by the node."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from eth_account import Account
from web3 import Web3

from contributions.models import Contribution, Status
from datadao.models import DAO, AuditEvent, User
from rewards import reconcile, relay, services, watch
from rewards.deploy import DeployError, verify_distributor
from rewards.models import ChainEvent, ChainTx, ChainTxStatus, Epoch, RewardPolicy
from rewards.onchain import artifact, sender
from rewards.selectors import PAID, PENDING, UNCLAIMED, claim_states, dao_settlement
from rewards.views import claim_call_data
from tests.chainnode import CHAIN_ID, DEV_KEYS, ChainNode, send
from tests.factories import DatasetFactory, UserFactory
from tests.rewards.conftest import REWARDS_SIGNER_KEY

pytestmark = pytest.mark.django_db

DEPLOYER = Account.from_key(DEV_KEYS[0])
RELAYER = Account.from_key(DEV_KEYS[1])
CLAIMERS = [Account.from_key(k) for k in DEV_KEYS[2:5]]
CONFIRMATIONS = 2
FUNDING = 10**24


@pytest.fixture
def chain(chain_node: ChainNode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARDS_SIGNER_KEY)
    monkeypatch.setenv("DEPLOYER_KEY", DEV_KEYS[0])
    monkeypatch.setenv("RELAYER_KEY", DEV_KEYS[1])
    chain_node.automine(True)
    with override_settings(
        CHAIN_RPC_URLS={CHAIN_ID: chain_node.url},
        CHAIN_CONFIRMATIONS={CHAIN_ID: CONFIRMATIONS},
        IPFS_BACKEND="embedded",
        IPFS_EMBEDDED_ROOT=tmp_path / "ipfs",
    ):
        yield chain_node
    chain_node.automine(True)


def _deploy_token(w3: Web3) -> str:
    built = artifact.contract("TestToken")
    return send(w3, DEPLOYER, {"data": built["bytecode"]})["contractAddress"]


def _mint(w3: Web3, token: str, to: str, amount: int) -> None:
    contract = w3.eth.contract(token, abi=artifact.contract("TestToken")["abi"])
    send(
        w3,
        DEPLOYER,
        {"to": token, "data": contract.functions.mint(to, amount)._encode_transaction_data()},
    )


def _balance(w3: Web3, token: str, who: str) -> int:
    contract = w3.eth.contract(token, abi=artifact.contract("TestToken")["abi"])
    return int(contract.functions.balanceOf(who).call())


def _deployed_dao(chain: ChainNode) -> tuple[DAO, str]:
    w3 = chain.web3()
    token = _deploy_token(w3)
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=token)
    dao = DAO.objects.get(pk=dataset.dao.pk)
    _mint(w3, token, dao.reward_contract_address, FUNDING)
    return dao, token


def _closed_epoch(dao: DAO, scores: tuple[int, ...] = (10000, 7500, 5001)) -> Epoch:
    dataset = dao.datasets.get()
    users = {u.address: u for u in User.objects.filter(address__in=[a.address for a in CLAIMERS])}
    start = Contribution.objects.count()
    for i, (account, score) in enumerate(zip(CLAIMERS, scores, strict=False), start=start):
        contributor = users.get(account.address) or UserFactory(address=account.address)
        contribution = Contribution.objects.create(
            dataset=dataset,
            contributor=contributor,
            sha256=f"{dao.pk:08x}{i:056x}",
            size=1,
            storage_name=f"s{dao.pk}-{i}",
            status=Status.PINNED,
            cid=f"bafkreitest{dao.pk}x{i}",
            score=score,
        )
        services.reward_credit_contribution(contribution=contribution)
    return services.epoch_close(dao=dao, actor=None)


def _relay_until_set(epoch: Epoch) -> relay.RelayOutcome:
    outcome = relay.epoch_relay(epoch_id=epoch.pk)
    for _ in range(5):
        if outcome.state == "set":
            return outcome
        outcome = relay.epoch_relay(epoch_id=epoch.pk)
    return outcome


def _claim(chain: ChainNode, epoch: Epoch, account: Any) -> dict[str, Any]:
    allocation = epoch.allocations.get(account=account.address)
    call = {"to": epoch.dao.reward_contract_address, "data": claim_call_data(allocation)}
    return send(chain.web3(), account, call)


def _state(epoch: Epoch, account: Any) -> str:
    allocation = epoch.allocations.select_related("epoch__dao").get(account=account.address)
    return claim_states([allocation])[allocation.pk].state


# --- deploy -----------------------------------------------------------------------------------


def test_deploy_records_a_verified_distributor_for_the_dao(chain: ChainNode) -> None:
    dao, token = _deployed_dao(chain)
    w3 = chain.web3()
    assert dao.chain_id == CHAIN_ID
    verify_distributor(
        w3,
        dao.reward_contract_address,
        dao_id=dao.onchain_id,
        signer=Account.from_key(REWARDS_SIGNER_KEY).address,
        token=token,
    )
    assert AuditEvent.objects.filter(dao=dao, verb="rewards.distributor_deployed").count() == 1


def test_verification_refuses_code_that_is_not_this_build(chain: ChainNode) -> None:
    w3 = chain.web3()
    token = _deploy_token(w3)
    with pytest.raises(DeployError, match="not the DatadaoDistributor of this build"):
        verify_distributor(w3, token, dao_id="0x" + "11" * 32, signer=RELAYER.address)
    dao, _ = _deployed_dao(chain)
    with pytest.raises(DeployError, match="pays DAO"):
        verify_distributor(
            w3, dao.reward_contract_address, dao_id="0x" + "11" * 32, signer=RELAYER.address
        )


def test_deploy_refusals_name_the_problem(
    chain: ChainNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = DatasetFactory()
    with pytest.raises(CommandError, match="no DAO with slug 'nope'"):
        call_command("rewards_deploy", dao="nope", rpc=chain.url, token=RELAYER.address)
    with pytest.raises(CommandError, match="no token contract"):
        call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=RELAYER.address)
    with pytest.raises(CommandError, match="is not an address"):
        call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token="0x12")
    with pytest.raises(CommandError, match="Cannot reach"):
        call_command(
            "rewards_deploy", dao=dataset.dao.slug, rpc="http://127.0.0.1:9", token=RELAYER.address
        )
    monkeypatch.delenv("DEPLOYER_KEY")
    with pytest.raises(CommandError, match="DEPLOYER_KEY"):
        call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=RELAYER.address)
    assert DAO.objects.get(pk=dataset.dao.pk).reward_contract_address == ""


def test_committed_artifact_is_what_the_sources_compile_to(tmp_path: Path) -> None:
    out = tmp_path / "artifacts.json"
    subprocess.run(
        ["node", str(artifact.ARTIFACTS.parent / "compile.mjs"), str(out)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert json.loads(out.read_text()) == json.loads(artifact.ARTIFACTS.read_text())


# --- relay, watch, claim ----------------------------------------------------------------------


def test_deploy_close_relay_claim_and_see_paid(chain: ChainNode, client: Any) -> None:
    dao, token = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    assert relay.epochs_to_relay() == [epoch.pk]
    assert _relay_until_set(epoch).state == "set"
    # Relaying again is recognised on chain: nothing is sent twice.
    assert relay.epoch_relay(epoch_id=epoch.pk).state == "set"
    assert ChainTx.objects.filter(epoch=epoch).count() == 1
    assert ChainTx.objects.get(epoch=epoch).status == ChainTxStatus.MINED

    first = CLAIMERS[0]
    assert _state(epoch, first) == UNCLAIMED
    receipt = _claim(chain, epoch, first)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, first) == PENDING  # mined, not yet under 2 confirmations
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, first) == PAID
    assert relay.epochs_to_relay() == []  # the reader saw the root set

    allocation = epoch.allocations.get(account=first.address)
    assert _balance(chain.web3(), token, first.address) == int(allocation.amount)
    event = ChainEvent.objects.get(dao=dao, name="Claimed")
    assert event.tx_hash == "0x" + bytes(receipt["transactionHash"]).hex()

    client.force_login(User.objects.get(address=first.address))
    page = client.get("/me/rewards").content.decode()
    assert 'data-state="paid"' in page and event.tx_hash[:12] in page
    download = client.get(f"/api/rewards/allocations/{allocation.pk}").json()
    assert download["onchain"] == {"state": "paid", "txHash": event.tx_hash, "rootOnChain": True}
    settlement = dao_settlement(dao=dao)
    assert settlement.owed == int(epoch.total)
    assert settlement.paid == int(allocation.amount)
    assert settlement.balance == FUNDING - int(allocation.amount)
    assert not settlement.underfunded
    assert reconcile.reconcile().findings == []


def test_a_member_sees_a_claim_button_once_the_root_is_on_chain(
    chain: ChainNode, client: Any
) -> None:
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    client.force_login(User.objects.get(address=CLAIMERS[1].address))
    page = client.get("/me/rewards").content.decode()
    assert 'class="claim-onchain"' not in page and "once the epoch's root is on chain" in page
    _relay_until_set(epoch)
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    page = client.get("/me/rewards").content.decode()
    allocation = epoch.allocations.get(account=CLAIMERS[1].address)
    assert f'data-call="{claim_call_data(allocation)}"' in page


def test_a_reorg_that_drops_the_claim_shows_unclaimed_then_paid_again(chain: ChainNode) -> None:
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    _relay_until_set(epoch)
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    account = CLAIMERS[0]

    # Inside the confirmation window: the next read simply no longer sees it.
    before = chain.snapshot()
    _claim(chain, epoch, account)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, account) == PENDING
    chain.revert(before)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, account) == UNCLAIMED

    # Deeper than the confirmations: the cursor's block hash changes and the reader rolls back.
    before = chain.snapshot()
    _claim(chain, epoch, account)
    chain.mine(CONFIRMATIONS + 1)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, account) == PAID
    chain.revert(before)
    chain.mine(CONFIRMATIONS + 3)  # a longer chain without the claim
    result = watch.watch_dao(dao_id=dao.pk)
    assert result.rolled_back_to is not None
    assert _state(epoch, account) == UNCLAIMED
    assert AuditEvent.objects.filter(dao=dao, verb="chain.reorganised").count() == 1

    _claim(chain, epoch, account)
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    assert _state(epoch, account) == PAID
    assert ChainEvent.objects.filter(dao=dao, name="Claimed").count() == 1
    assert ChainEvent.objects.filter(dao=dao, name="EpochRootSet").count() == 1


def test_a_relayer_crash_between_send_and_receipt_never_double_sends(
    chain: ChainNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    w3 = chain.web3()
    sent_before = w3.eth.get_transaction_count(RELAYER.address, "latest")
    chain.automine(False)

    # Crash after the transaction is recorded, before it reaches the node.
    real_broadcast = sender.broadcast

    def dies(w3: Web3, raw: str) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(sender, "broadcast", dies)
    with pytest.raises(ConnectionError):
        relay.epoch_relay(epoch_id=epoch.pk)
    monkeypatch.setattr(sender, "broadcast", real_broadcast)
    recorded = ChainTx.objects.get(epoch=epoch)
    # The restarted task finds the record and broadcasts the same bytes.
    assert relay.epoch_relay(epoch_id=epoch.pk).state == "pending"
    # Crash after the broadcast, before the receipt: the next run waits on the same hash.
    assert relay.epoch_relay(epoch_id=epoch.pk).tx_hash == recorded.tx_hash
    chain.mine(1)
    chain.automine(True)
    assert _relay_until_set(epoch).state == "set"
    assert ChainTx.objects.filter(epoch=epoch).count() == 1
    assert w3.eth.get_transaction_count(RELAYER.address, "latest") == sent_before + 1


def test_a_stuck_relay_is_replaced_under_the_same_nonce(chain: ChainNode) -> None:
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    w3 = chain.web3()
    sent_before = w3.eth.get_transaction_count(RELAYER.address, "latest")
    chain.automine(False)
    first = relay.epoch_relay(epoch_id=epoch.pk)
    with override_settings(CHAIN_TX_REPLACE_AFTER_SECONDS=0):
        second = relay.epoch_relay(epoch_id=epoch.pk)
    assert second.tx_hash != first.tx_hash
    old, new = (
        ChainTx.objects.get(tx_hash=first.tx_hash),
        ChainTx.objects.get(tx_hash=second.tx_hash),
    )
    assert old.nonce == new.nonce and int(new.max_fee) > int(old.max_fee)
    assert old.status == ChainTxStatus.REPLACED
    chain.mine(1)
    chain.automine(True)
    assert _relay_until_set(epoch).state == "set"
    assert w3.eth.get_transaction_count(RELAYER.address, "latest") == sent_before + 1
    assert ChainTx.objects.get(tx_hash=second.tx_hash).status == ChainTxStatus.MINED


def test_a_root_signed_for_another_contract_is_refused_not_sent(chain: ChainNode) -> None:
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    epoch = _closed_epoch(dataset.dao)  # signed while the DAO had no contract
    token = _deploy_token(chain.web3())
    call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=token)
    with pytest.raises(relay.RelayRefused, match="was signed for contract"):
        relay.epoch_relay(epoch_id=epoch.pk)
    assert relay.epochs_to_relay() == []
    assert not ChainTx.objects.exists()


def test_a_relay_task_for_an_epoch_that_is_gone_ends_instead_of_retrying() -> None:
    from rewards.tasks import relay_epoch_root

    # The task retries transport faults without a limit: a missing epoch must not be one.
    # (Called directly, a retry would raise the fault instead of running again.)
    assert relay_epoch_root.run(10**9) == "no such epoch"


def test_a_reader_restarted_from_its_cursor_reads_no_event_twice_and_misses_none(
    chain: ChainNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    dao, _ = _deployed_dao(chain)
    for _ in range(3):
        epoch = _closed_epoch(dao)
        _relay_until_set(epoch)
        for account in CLAIMERS:
            _claim(chain, epoch, account)
    chain.mine(CONFIRMATIONS)
    w3 = chain.web3()
    everything = w3.eth.get_logs(
        {"address": dao.reward_contract_address, "fromBlock": 0, "toBlock": "latest"}
    )
    real_read = watch.events.read
    calls = {"n": 0}

    def crashes_on_the_third_range(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("reader killed")
        return real_read(*args)

    with override_settings(CHAIN_LOG_BLOCK_RANGE=3):
        monkeypatch.setattr(watch.events, "read", crashes_on_the_third_range)
        with pytest.raises(ConnectionError):
            watch.watch_dao(dao_id=dao.pk)
        partial = ChainEvent.objects.filter(dao=dao).count()
        monkeypatch.setattr(watch.events, "read", real_read)
        watch.watch_dao(dao_id=dao.pk)
        watch.watch_dao(dao_id=dao.pk)
    stored = list(ChainEvent.objects.filter(dao=dao).values_list("tx_hash", "log_index"))
    assert 0 < partial < len(everything)
    assert len(stored) == len(set(stored)) == len(everything) == 3 + 3 * len(CLAIMERS)
    assert ChainEvent.objects.filter(dao=dao, confirmed=True).count() == len(everything)


def test_reconciliation_reports_a_claim_the_platform_did_not_sign_once(chain: ChainNode) -> None:
    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    _relay_until_set(epoch)
    _claim(chain, epoch, CLAIMERS[0])
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    assert reconcile.reconcile().findings == []
    # A claim the chain shows but the tree never allocated (what a foreign or faulty
    # contract would produce).
    stray = Account.create().address
    ChainEvent.objects.create(
        dao=dao, chain_id=CHAIN_ID, address=dao.reward_contract_address.lower(), name="Claimed",
        block_number=1, block_hash="0x" + "00" * 32, tx_hash="0x" + "ab" * 32, log_index=0,
        epoch=epoch.number, account=stray, amount=5, args={}, confirmed=True,
    )  # fmt: skip
    findings = reconcile.reconcile().findings
    assert any(stray in f.problem and "allocated 0" in f.problem for f in findings)
    assert any("signed total" in f.problem for f in findings)
    reconcile.reconcile()
    audited = AuditEvent.objects.filter(dao=dao, verb="rewards.reconciliation_mismatch")
    assert audited.count() == len(findings)


def test_the_console_warns_when_the_contract_cannot_cover_what_is_owed(chain: ChainNode) -> None:
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    token = _deploy_token(chain.web3())
    call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=token)
    dao = DAO.objects.get(pk=dataset.dao.pk)
    _closed_epoch(dao)
    watch.watch_dao(dao_id=dao.pk)
    settlement = dao_settlement(dao=dao)
    assert settlement.balance == 0 and settlement.owed > 0 and settlement.underfunded


def test_the_epochs_page_shows_owed_paid_and_balance_per_dao(chain: ChainNode, client: Any) -> None:
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    token = _deploy_token(chain.web3())
    call_command("rewards_deploy", dao=dataset.dao.slug, rpc=chain.url, token=token)
    dao = DAO.objects.get(pk=dataset.dao.pk)
    _closed_epoch(dao)
    watch.watch_dao(dao_id=dao.pk)
    client.force_login(dao.creator)
    page = client.get("/admin/rewards/epoch/").content.decode()
    assert "Settlement on chain" in page and dao.reward_contract_address in page
    assert "cannot cover what is still owed" in page


def _until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("timed out")


@pytest.mark.django_db(transaction=True)
def test_closing_an_epoch_relays_it_through_a_real_worker(chain: ChainNode, tmp_path: Path) -> None:
    from tests.fixtures_celery import start_worker

    worker = start_worker(
        tmp_path,
        queues="default,rewards",
        extra_env={
            "CHAIN_RPC_URLS": f"{CHAIN_ID}={chain.url}",
            "CHAIN_CONFIRMATIONS": f"{CHAIN_ID}={CONFIRMATIONS}",
            "CHAIN_RELAY_POLL_SECONDS": "0.5",
            "RELAYER_KEY": DEV_KEYS[1],
            "REWARD_SIGNER_KEY": REWARDS_SIGNER_KEY,
        },
    )
    try:
        dao, _ = _deployed_dao(chain)
        epoch = _closed_epoch(dao)  # commits: its on_commit sends the relay task
        mined = _until(
            lambda: ChainTx.objects.filter(epoch=epoch, status=ChainTxStatus.MINED).first()
        )
        distributor = chain.web3().eth.contract(
            dao.reward_contract_address, abi=artifact.contract()["abi"]
        )
        on_chain = distributor.functions.epochRoot(epoch.number).call()
        assert "0x" + bytes(on_chain).hex() == epoch.root
        chain.mine(CONFIRMATIONS)
        from config.celery import app

        app.send_task("rewards.tasks.chain_watch")
        root_event = _until(
            lambda: ChainEvent.objects.filter(dao=dao, name="EpochRootSet", confirmed=True).first()
        )
        assert root_event.tx_hash == mined.tx_hash
        assert ChainTx.objects.filter(epoch=epoch).count() == 1
    finally:
        worker.stop()


def test_metrics_count_unrelayed_epochs_until_the_reader_sees_the_root(chain: ChainNode) -> None:
    from rewards.metrics_state import settlement

    def values() -> dict[str, float]:
        return {f.name: sum(s.value for s in f.samples) for f in settlement()}

    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    assert values()["datadao_epochs_unrelayed"] == 1
    _relay_until_set(epoch)
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    after = values()
    assert after["datadao_epochs_unrelayed"] == 0
    assert after["datadao_epoch_unrelayed_oldest_seconds"] == 0
    assert after["datadao_chain_reader_lag_blocks"] == CONFIRMATIONS


def test_the_demo_deploys_its_distributor_on_a_running_local_chain(chain: ChainNode) -> None:
    from rewards.demo import load_demo_chain

    dao = DatasetFactory().dao
    with override_settings(CHAIN_RPC_URLS={}):
        assert load_demo_chain(dao=dao) == "no local chain"
    assert load_demo_chain(dao=dao).startswith("deployed at")
    dao = DAO.objects.get(pk=dao.pk)
    assert dao.chain_id == CHAIN_ID and dao.reward_contract_address
    settlement = watch.watch_dao(dao_id=dao.pk)
    assert settlement.head > 0 and dao_settlement(dao=dao).balance == 10**24
    assert load_demo_chain(dao=dao) == "the DAO already has a reward contract"


def test_the_readers_decoder_agrees_with_web3s(chain: ChainNode) -> None:
    from rewards.onchain import events

    dao, _ = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    _relay_until_set(epoch)
    _claim(chain, epoch, CLAIMERS[2])
    w3 = chain.web3()
    head = int(w3.eth.block_number)
    ours = events.read(w3, dao.reward_contract_address, 0, head)
    contract = w3.eth.contract(dao.reward_contract_address, abi=artifact.contract()["abi"])
    logs = w3.eth.get_logs(
        {"address": dao.reward_contract_address, "fromBlock": 0, "toBlock": head}
    )
    pairs = zip(ours, logs, strict=True)
    theirs = [getattr(contract.events, e.name)().process_log(log) for e, log in pairs]
    assert [e.name for e in ours] == ["EpochRootSet", "Claimed"]
    for mine, web3s in zip(ours, theirs, strict=True):
        expected = {
            k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in web3s["args"].items()
        }
        assert mine.args == expected


def test_a_redeemed_voucher_shows_paid(chain: ChainNode, client: Any) -> None:
    from rewards.selectors import voucher_states

    dao, _ = _deployed_dao(chain)
    holder = CLAIMERS[1]
    user = User.objects.filter(address=holder.address).first() or UserFactory(
        address=holder.address
    )
    w3 = chain.web3()
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + 3600
    voucher = services.voucher_issue(
        dao=dao, contributor=holder.address, amount=7 * 10**18, deadline=deadline,
        dataset_id="0x" + "12" * 32, actor=None,
    )  # fmt: skip
    assert voucher_states([voucher])[voucher.pk].state == UNCLAIMED
    message = voucher.typed_data["message"]
    claim = (
        bytes.fromhex(message["daoId"][2:]), message["contributor"], int(message["amount"]),
        int(message["nonce"]), int(message["deadline"]), bytes.fromhex(message["datasetId"][2:]),
    )  # fmt: skip
    contract = w3.eth.contract(dao.reward_contract_address, abi=artifact.contract()["abi"])
    data = contract.functions.claimVoucher(
        claim, bytes.fromhex(voucher.signature[2:])
    )._encode_transaction_data()
    send(w3, holder, {"to": dao.reward_contract_address, "data": data})
    watch.watch_dao(dao_id=dao.pk)
    assert voucher_states([voucher])[voucher.pk].state == PENDING
    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    assert voucher_states([voucher])[voucher.pk].state == PAID
    client.force_login(user)
    page = client.get("/me/rewards").content.decode()
    assert page.count('data-state="paid"') == 1
