"""What the services produce is paid by the real contract: an epoch closed by ``epoch_close``
and a voucher issued by ``voucher_issue`` are redeemed on the local EVM, once, by the
distributor deployed for the DAO's own ``onchain_id``."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from contributions.models import Contribution, Status
from datadao.models import DAO
from datadao.services import dao_update
from rewards import services
from rewards.models import RewardPolicy
from rewards.tree_store import allocation_proof
from tests.factories import DatasetFactory, UserFactory
from tests.rewards import evm
from tests.rewards.conftest import DISTRIBUTOR_FUNDING, REWARDS_SIGNER_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signer_and_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARDS_SIGNER_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


@pytest.fixture
def dao_deployment(
    w3: Web3, evm_artifacts: evm.Artifacts, rewards_signer: LocalAccount
) -> tuple[DAO, Contract, Contract]:
    """A DAO with a reward policy, its funded distributor deployed for its ``onchain_id``, and the
    DAO pointed at it through ``dao_update`` (which reads the contract's daoId on the chain)."""
    dataset = DatasetFactory()
    dao = dataset.dao
    token, distributor = evm.deploy_distributor(
        w3, rewards_signer.address, dao.onchain_id, artifacts=evm_artifacts
    )
    evm.fund(token, distributor.address, DISTRIBUTOR_FUNDING)
    with override_settings(CHAIN_RPC_URLS={w3.eth.chain_id: w3.provider}):
        dao = dao_update(
            dao=dao,
            actor=dao.creator,
            chain_id=w3.eth.chain_id,
            reward_contract_address=distributor.address,
        )
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    return dao, token, distributor


def test_an_epoch_closed_by_the_service_is_claimed_on_chain(
    w3: Web3, dao_deployment: tuple[DAO, Contract, Contract]
) -> None:
    dao, token, distributor = dao_deployment
    dataset = dao.datasets.get()
    accounts = w3.eth.accounts[1:4]
    for i, (address, score) in enumerate(zip(accounts, (10000, 7500, 5001), strict=True)):
        contribution = Contribution.objects.create(
            dataset=dataset,
            contributor=UserFactory(address=address),
            sha256=f"{i:064x}",
            size=1,
            storage_name=f"s{i}",
            status=Status.PINNED,
            cid=f"bafkreitest{i}",
            score=score,
        )
        services.reward_credit_contribution(contribution=contribution)
    epoch = services.epoch_close(dao=dao, actor=None)
    evm.transact(
        w3,
        distributor.functions.setEpochRoot(
            bytes.fromhex(dao.onchain_id[2:]),
            epoch.number,
            epoch.root,
            int(epoch.total),
            epoch.root_signature,
        ),
    )
    for allocation in epoch.allocations.all():
        amount = int(allocation.amount)
        evm.transact(
            w3,
            distributor.functions.claim(epoch.number, amount, allocation_proof(allocation)),
            sender=allocation.account,
        )
        assert token.functions.balanceOf(allocation.account).call() == amount
        with evm.expect_revert(distributor, "AlreadyClaimed", epoch.number, allocation.account):
            evm.transact(
                w3,
                distributor.functions.claim(epoch.number, amount, allocation_proof(allocation)),
                sender=allocation.account,
            )
    assert distributor.functions.epochClaimed(epoch.number).call() == int(epoch.total)


def test_a_voucher_issued_by_the_service_is_redeemed_once(
    w3: Web3, dao_deployment: tuple[DAO, Contract, Contract]
) -> None:
    dao, token, distributor = dao_deployment
    contributor = w3.eth.accounts[5]
    deadline = evm.latest_timestamp(w3) + 3600
    voucher = services.voucher_issue(
        dao=dao,
        contributor=contributor,
        amount=42 * 10**18,
        deadline=deadline,
        dataset_id="0x" + "12" * 32,
        actor=None,
    )
    claim = (
        bytes.fromhex(dao.onchain_id[2:]),
        voucher.contributor,
        int(voucher.amount),
        int(voucher.nonce),
        voucher.deadline,
        bytes.fromhex(voucher.dataset_id[2:]),
    )
    evm.transact(w3, distributor.functions.claimVoucher(claim, voucher.signature))
    assert token.functions.balanceOf(contributor).call() == 42 * 10**18
    with evm.expect_revert(distributor, "NonceUsed", contributor, 0):
        evm.transact(w3, distributor.functions.claimVoucher(claim, voucher.signature))
