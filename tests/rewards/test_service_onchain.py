"""What the services produce is paid by the real contract: an epoch closed by ``epoch_close``
and a voucher issued by ``voucher_issue`` are redeemed on the local EVM, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings
from web3 import Web3
from web3.contract import Contract

from contributions.models import Contribution, Status
from datadao.models import DAO
from rewards import services
from rewards.models import RewardPolicy
from tests.factories import DatasetFactory, UserFactory
from tests.rewards import evm
from tests.rewards.conftest import REWARDS_SIGNER_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signer_and_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARDS_SIGNER_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _dao_on_chain(w3: Web3, distributor: Contract) -> DAO:
    dataset = DatasetFactory()
    dao = dataset.dao
    dao.chain_id = w3.eth.chain_id
    dao.reward_contract_address = distributor.address
    dao.save()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    return dao


def test_an_epoch_closed_by_the_service_is_claimed_on_chain(
    w3: Web3, distributor_deployment: tuple[Contract, Contract]
) -> None:
    token, distributor = distributor_deployment
    dao = _dao_on_chain(w3, distributor)
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
            epoch.number, epoch.root, int(epoch.total), epoch.root_signature
        ),
    )
    for allocation in epoch.allocations.all():
        amount = int(allocation.amount)
        evm.transact(
            w3,
            distributor.functions.claim(epoch.number, amount, allocation.proof),
            sender=allocation.account,
        )
        assert token.functions.balanceOf(allocation.account).call() == amount
        with evm.expect_revert(distributor, "AlreadyClaimed", epoch.number, allocation.account):
            evm.transact(
                w3,
                distributor.functions.claim(epoch.number, amount, allocation.proof),
                sender=allocation.account,
            )
    assert distributor.functions.epochClaimed(epoch.number).call() == int(epoch.total)


def test_a_voucher_issued_by_the_service_is_redeemed_once(
    w3: Web3, distributor_deployment: tuple[Contract, Contract]
) -> None:
    token, distributor = distributor_deployment
    dao = _dao_on_chain(w3, distributor)
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
