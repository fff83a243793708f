"""datadao.chain: reading a distributor's daoId() on a configured chain, on the local EVM
(tests/rewards/evm.py), and the CHAIN_RPC_URLS setting."""

from __future__ import annotations

import environ
import pytest
from django.test import override_settings
from eth_account.signers.local import LocalAccount
from web3 import Web3

from config.settings import _chain_rpc_urls
from datadao.chain import ChainReadError, chain_readable, contract_dao_id
from tests.rewards import evm
from tests.rewards.conftest import (  # noqa: F401  (fixtures)
    DAO_ID,
    evm_artifacts,
    rewards_signer,
    w3,
)


def test_chain_rpc_urls_parse() -> None:
    assert _chain_rpc_urls("") == {}
    # A URL may carry '=' in its query string: only the first '=' of a pair separates.
    assert _chain_rpc_urls(
        " 1=https://eth.example/rpc?key=a=b , 11155111=http://10.0.0.2:8545 "
    ) == {
        1: "https://eth.example/rpc?key=a=b",
        11155111: "http://10.0.0.2:8545",
    }
    for bad in ("https://eth.example/rpc", "mainnet=https://x", "1="):
        with pytest.raises(environ.ImproperlyConfigured, match="is not CHAIN_ID=URL"):
            _chain_rpc_urls(bad)


def test_an_unlisted_chain_is_not_read() -> None:
    with override_settings(CHAIN_RPC_URLS={}):
        assert not chain_readable(1)
        assert contract_dao_id(chain_id=1, address="0x" + "12" * 20) is None


def test_the_dao_id_of_a_deployed_distributor_is_read(
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> None:
    _, distributor = evm.deploy_distributor(
        w3, rewards_signer.address, DAO_ID, artifacts=evm_artifacts
    )
    with override_settings(CHAIN_RPC_URLS={w3.eth.chain_id: w3.provider}):
        assert chain_readable(w3.eth.chain_id)
        assert contract_dao_id(chain_id=w3.eth.chain_id, address=distributor.address) == DAO_ID


def test_an_endpoint_serving_another_chain_is_refused(
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
    rewards_signer: LocalAccount,  # noqa: F811
) -> None:
    _, distributor = evm.deploy_distributor(
        w3, rewards_signer.address, DAO_ID, artifacts=evm_artifacts
    )
    # Misconfigured: the local chain's endpoint listed as mainnet's.
    with (
        override_settings(CHAIN_RPC_URLS={1: w3.provider}),
        pytest.raises(ChainReadError) as refused,
    ):
        contract_dao_id(chain_id=1, address=distributor.address)
    assert str(refused.value) == (
        f"The RPC endpoint configured for chain 1 serves chain {w3.eth.chain_id}; "
        "fix CHAIN_RPC_URLS."
    )
