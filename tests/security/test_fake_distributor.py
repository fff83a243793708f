"""Attack: a DAO's manager points its reward contract at a contract of their own that answers
``daoId()`` with the DAO's id (all the console checks) and even ``signer()`` with the
platform's rewards signer, but is not the distributor.

* It emits ``EpochRootSet`` with the signed root and total and ``Claimed`` with each member's
  exact allocation, without moving a token: members would see "paid", the console would count
  it paid, and reconciliation (which compares those events with the allocations) would agree.
* It accepts every ``setEpochRoot`` and never holds a root: the relay, finding no root after
  each mined transaction, would send another one on every poll, paying gas forever.

The chain reader and the relay read and send only to this build of the distributor, for this
DAO, trusting a platform signer. Everything runs on Hardhat's node; nothing is mocked."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from datadao import services as dao_services
from datadao.models import DAO, AuditEvent
from rewards import reconcile, relay, watch
from rewards.models import ChainEvent, ChainTx, RewardPolicy
from rewards.selectors import UNCLAIMED, claim_states, dao_settlement
from tests.chainnode import CHAIN_ID, ChainNode, send
from tests.factories import DatasetFactory
from tests.rewards.conftest import REWARDS_SIGNER_KEY
from tests.rewards.test_chain_settlement import (  # noqa: F401  (chain: a fixture)
    CONFIRMATIONS,
    DEPLOYER,
    RELAYER,
    _closed_epoch,
    _deploy_token,
    chain,
)
from tests.security.solidity import compile_contract

pytestmark = pytest.mark.django_db

FAKE = """
// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

contract FakeDistributor {
    bytes32 public immutable daoId;
    address public immutable token;
    address public immutable signer;
    uint256 public rootsTaken;

    event EpochRootSet(uint256 indexed epoch, bytes32 root, uint256 total, address indexed relayer);
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);

    constructor(bytes32 daoId_, address token_, address signer_) {
        daoId = daoId_;
        token = token_;
        signer = signer_;
    }

    function epochRoot(uint256) external pure returns (bytes32) {
        return bytes32(0);
    }

    function setEpochRoot(bytes32, uint256, bytes32, uint256, bytes calldata) external {
        rootsTaken += 1;
    }

    function pretend(
        uint256 epoch,
        bytes32 root,
        uint256 total,
        address[] calldata accounts,
        uint256[] calldata amounts
    ) external {
        emit EpochRootSet(epoch, root, total, msg.sender);
        for (uint256 i = 0; i < accounts.length; i++) {
            emit Claimed(epoch, accounts[i], amounts[i]);
        }
    }
}
"""


@pytest.fixture(scope="module")
def fake_build() -> dict[str, Any]:
    return compile_contract(FAKE, "FakeDistributor")


def _fake_dao(chain: ChainNode, build: dict[str, Any]) -> tuple[DAO, Any]:  # noqa: F811
    """A DAO whose manager set the fake as its reward contract, through the console's service."""
    w3 = chain.web3()
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    dao = dataset.dao
    factory = w3.eth.contract(abi=build["abi"], bytecode=build["bytecode"])
    data = factory.constructor(
        bytes.fromhex(dao.onchain_id.removeprefix("0x")),
        Web3.to_checksum_address(_deploy_token(w3)),
        Account.from_key(REWARDS_SIGNER_KEY).address,
    ).data_in_transaction
    address = send(w3, DEPLOYER, {"data": data})["contractAddress"]
    dao = dao_services.dao_update(
        dao=dao, actor=None, chain_id=CHAIN_ID, reward_contract_address=address
    )
    return dao, w3.eth.contract(address, abi=build["abi"])


def test_a_fake_contract_cannot_make_claims_look_paid(
    chain: ChainNode,  # noqa: F811
    fake_build: dict[str, Any],
) -> None:
    dao, fake = _fake_dao(chain, fake_build)
    epoch = _closed_epoch(dao)
    allocations = list(epoch.allocations.select_related("epoch__dao"))
    call = fake.functions.pretend(
        epoch.number,
        bytes.fromhex(epoch.root.removeprefix("0x")),
        int(epoch.total),
        [a.account for a in allocations],
        [int(a.amount) for a in allocations],
    )
    send(chain.web3(), DEPLOYER, {"to": fake.address, "data": call._encode_transaction_data()})
    chain.mine(CONFIRMATIONS + 1)

    result = watch.watch_dao(dao_id=dao.pk)

    assert not ChainEvent.objects.filter(dao=dao).exists()
    states = claim_states(allocations)
    assert {s.state for s in states.values()} == {UNCLAIMED}
    assert not any(s.root_on_chain for s in states.values())
    assert dao_settlement(dao=dao).paid == 0
    assert "not the DatadaoDistributor of this build" in result.refused
    # Said once in the audit log (and on every pass in the error log).
    watch.watch_dao(dao_id=dao.pk)
    refused = AuditEvent.objects.filter(dao=dao, verb="chain.contract_refused")
    assert refused.count() == 1
    assert refused.get().details["address"] == fake.address.lower()
    assert reconcile.reconcile().findings == []  # nothing read, nothing claimed


def test_the_relay_sends_nothing_to_a_fake_contract(
    chain: ChainNode,  # noqa: F811
    fake_build: dict[str, Any],
) -> None:
    dao, fake = _fake_dao(chain, fake_build)
    epoch = _closed_epoch(dao)
    w3 = chain.web3()
    nonce = w3.eth.get_transaction_count(RELAYER.address)
    refusals = []
    for _ in range(4):  # the task polls while the relay answers "pending"
        try:
            relay.epoch_relay(epoch_id=epoch.pk)
        except relay.RelayRefused as exc:
            refusals.append(str(exc))
    assert fake.functions.rootsTaken().call() == 0
    assert not ChainTx.objects.filter(epoch=epoch).exists()
    assert w3.eth.get_transaction_count(RELAYER.address) == nonce
    assert len(refusals) == 4 and "not the DatadaoDistributor of this build" in refusals[0]


def test_a_distributor_of_this_build_trusting_another_signer_is_not_read(
    chain: ChainNode,  # noqa: F811
) -> None:
    """The real build, deployed with the manager's own signer: they could set any root and
    pay anyone, so the platform neither reads it as the DAO's nor relays to it."""
    from rewards.onchain import artifact

    w3 = chain.web3()
    dataset = DatasetFactory()
    dao = dataset.dao
    built = artifact.contract()
    factory = w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
    data = factory.constructor(
        Web3.to_checksum_address(_deploy_token(w3)),
        Account.create().address,
        bytes.fromhex(dao.onchain_id.removeprefix("0x")),
    ).data_in_transaction
    address = send(w3, DEPLOYER, {"data": data})["contractAddress"]
    dao_services.dao_update(dao=dao, actor=None, chain_id=CHAIN_ID, reward_contract_address=address)
    result = watch.watch_dao(dao_id=dao.pk)
    assert "not the platform's rewards signer" in result.refused
