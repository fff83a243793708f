"""Attack: someone holding the rewards signer's key (leaked from a worker's environment) drains
a DAO's distributor where reconciliation does not look. They sign a root for an epoch number the
platform never closed and claim it, and sign themselves a voucher the platform never issued.
Both are real payments out of the DAO's contract; reconciliation used to check only the epochs
the platform closed, and no voucher at all. Now it reports both, once each in the audit log.
On Hardhat's node, nothing mocked."""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from datadao.models import AuditEvent
from rewards import reconcile, watch
from rewards.eip712 import claim_typed_data, epoch_root_typed_data, sign_typed_data
from rewards.merkle import StandardMerkleTree
from rewards.onchain import artifact
from tests.chainnode import CHAIN_ID, ChainNode, send
from tests.rewards.conftest import REWARDS_SIGNER_KEY
from tests.rewards.test_chain_settlement import (  # noqa: F401  (chain: a fixture)
    CLAIMERS,
    CONFIRMATIONS,
    DEPLOYER,
    _balance,
    _claim,
    _closed_epoch,
    _deployed_dao,
    _relay_until_set,
    chain,
)

pytestmark = pytest.mark.django_db

LEAKED = Account.from_key(REWARDS_SIGNER_KEY)
THIEF = DEPLOYER  # any funded account
STOLEN = 10**21


def test_roots_for_unsigned_epochs_and_unissued_vouchers_are_reported(
    chain: ChainNode,  # noqa: F811
) -> None:
    dao, token = _deployed_dao(chain)
    epoch = _closed_epoch(dao)
    _relay_until_set(epoch)
    _claim(chain, epoch, CLAIMERS[0])
    w3 = chain.web3()
    distributor = w3.eth.contract(dao.reward_contract_address, abi=artifact.contract()["abi"])
    dao_id = bytes.fromhex(dao.onchain_id.removeprefix("0x"))

    # A root for epoch 99, which the platform never closed, paying the thief.
    tree = StandardMerkleTree.of([(THIEF.address, STOLEN), (Account.create().address, 1)])
    typed = epoch_root_typed_data(
        dao_id=dao.onchain_id,
        epoch=99,
        root=tree.root,
        total=STOLEN + 1,
        chain_id=CHAIN_ID,
        verifying_contract=dao.reward_contract_address,
    )
    set_root = distributor.functions.setEpochRoot(
        dao_id,
        99,
        bytes.fromhex(tree.root.removeprefix("0x")),
        STOLEN + 1,
        bytes.fromhex(sign_typed_data(typed, LEAKED).removeprefix("0x")),
    )
    send(w3, THIEF, {"to": distributor.address, "data": set_root._encode_transaction_data()})
    index = next(i for i, (account, _) in tree if account == THIEF.address)
    claim = distributor.functions.claim(99, STOLEN, tree.proof(index))
    send(w3, THIEF, {"to": distributor.address, "data": claim._encode_transaction_data()})

    # A voucher the platform never issued.
    dataset_id = "0x" + "dd" * 32
    voucher = claim_typed_data(
        dao_id=dao.onchain_id,
        contributor=THIEF.address,
        amount=STOLEN,
        nonce=7,
        deadline=int(time.time()) + 3600,
        dataset_id=dataset_id,
        chain_id=CHAIN_ID,
        verifying_contract=dao.reward_contract_address,
    )
    redeem = distributor.functions.claimVoucher(
        (
            dao_id,
            THIEF.address,
            STOLEN,
            7,
            int(voucher["message"]["deadline"]),
            bytes.fromhex("dd" * 32),
        ),
        bytes.fromhex(sign_typed_data(voucher, LEAKED).removeprefix("0x")),
    )
    before = _balance(w3, token, THIEF.address)
    send(w3, THIEF, {"to": distributor.address, "data": redeem._encode_transaction_data()})
    assert _balance(w3, token, THIEF.address) == before + STOLEN  # the money really left

    chain.mine(CONFIRMATIONS)
    watch.watch_dao(dao_id=dao.pk)
    findings = reconcile.reconcile().findings
    problems = [f.problem for f in findings]
    assert any(
        p.startswith("epoch 99: 1 Claimed") and "never closed or signed" in p for p in problems
    ), problems
    assert any(
        p.startswith("epoch 99: 1 EpochRootSet") and "never closed or signed" in p for p in problems
    ), problems
    assert any(f"voucher 7 of {THIEF.address}" in p and "never issued" in p for p in problems), (
        problems
    )
    # The epoch the platform did sign is still in order.
    assert not [f for f in findings if f.epoch == epoch.number]
    # Audited once each, however often reconciliation runs.
    reconcile.reconcile()
    audited = AuditEvent.objects.filter(dao=dao, verb="rewards.reconciliation_mismatch")
    assert audited.count() == len(findings) == 3
