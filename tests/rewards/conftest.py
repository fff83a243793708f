"""Fixtures for the rewards tests."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from tests.rewards import evm

# --- Local EVM (tests/rewards/evm.py) -----------------------------------------------------------

# Deterministic keys, so a failing signature test can be replayed by hand. Never used on a network.
REWARDS_SIGNER_KEY = "0x" + "5e" * 32
OTHER_SIGNER_KEY = "0x" + "a7" * 32
# The DAO the fixture distributor pays for (any nonzero bytes32; the platform's are random).
DAO_ID = "0x" + "d0" * 32
# Enough for every test's allocations and vouchers; the tests assert exact balances, not this.
DISTRIBUTOR_FUNDING = 10**30


@pytest.fixture(scope="session")
def evm_artifacts(tmp_path_factory: pytest.TempPathFactory) -> evm.Artifacts:
    """The compiled contracts, built once per session. A missing toolchain fails the run: the
    on-chain proof is part of the suite, so it must never silently skip."""
    try:
        return evm.compile_contracts(tmp_path_factory.mktemp("evm-build"))
    except evm.EvmToolchainMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def w3() -> Web3:
    """A fresh local chain for each test, so no test depends on another's state."""
    return evm.new_chain()


@pytest.fixture
def rewards_signer() -> LocalAccount:
    """The key the distributor trusts for epoch roots and vouchers."""
    return Account.from_key(REWARDS_SIGNER_KEY)


@pytest.fixture
def other_signer() -> LocalAccount:
    """A well-formed key the distributor does not trust."""
    return Account.from_key(OTHER_SIGNER_KEY)


@pytest.fixture
def distributor_deployment(
    w3: Web3, evm_artifacts: evm.Artifacts, rewards_signer: LocalAccount
) -> tuple[Contract, Contract]:
    """(token, distributor) on the local chain, the distributor funded, trusting
    ``rewards_signer`` and paying for ``DAO_ID``."""
    token, distributor = evm.deploy_distributor(
        w3, rewards_signer.address, DAO_ID, artifacts=evm_artifacts
    )
    evm.fund(token, distributor.address, DISTRIBUTOR_FUNDING)
    return token, distributor
