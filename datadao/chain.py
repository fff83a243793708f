"""Reading a DAO's reward contract on its chain: which DAO a deployed distributor pays for.

A chain is readable when ``settings.CHAIN_RPC_URLS`` names it: the value is a JSON-RPC URL, or
(in tests) a web3 provider object such as ``EthereumTesterProvider``. Nothing else here talks
to a network.
"""

from __future__ import annotations

from django.conf import settings
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.providers import BaseProvider

# DatadaoDistributor's ``bytes32 public immutable daoId``: the getter's 4-byte selector.
DAO_ID_SELECTOR = keccak(text="daoId()")[:4]


class ChainReadError(Exception):
    """The chain is configured but did not answer what was asked; the message says why."""


def chain_readable(chain_id: int) -> bool:
    return chain_id in settings.CHAIN_RPC_URLS


def _web3(chain_id: int) -> Web3:
    endpoint = settings.CHAIN_RPC_URLS[chain_id]
    if isinstance(endpoint, BaseProvider):
        return Web3(endpoint)
    timeout = settings.CHAIN_RPC_TIMEOUT_SECONDS
    return Web3(HTTPProvider(str(endpoint), request_kwargs={"timeout": timeout}))


def contract_dao_id(*, chain_id: int, address: str) -> str | None:
    """The ``daoId()`` of the contract at ``address`` on ``chain_id`` as lowercase 0x-hex, or
    None when the platform cannot read that chain.

    Raises ``ChainReadError`` when the chain is configured but the answer is unusable: the
    endpoint is down or serves another chain, there is no contract at the address, or the
    contract has no ``daoId()``. Callers refuse then rather than guess.
    """
    if not chain_readable(chain_id):
        return None
    w3 = _web3(chain_id)
    try:
        served = w3.eth.chain_id
        if served != chain_id:
            raise ChainReadError(
                f"The RPC endpoint configured for chain {chain_id} serves chain {served}; "
                "fix CHAIN_RPC_URLS."
            )
        if not w3.eth.get_code(address):
            raise ChainReadError(f"There is no contract at {address} on chain {chain_id}.")
        try:
            answer = bytes(w3.eth.call({"to": address, "data": "0x" + DAO_ID_SELECTOR.hex()}))
        except OSError:
            raise  # transport (requests' errors are OSErrors): the endpoint, not the contract
        except Exception:
            # The endpoint answered a moment ago; the call itself failed: it reverted (no such
            # function and no fallback answering it). web3 calls that ContractLogicError,
            # other providers (eth-tester) name it their own way.
            answer = b""
    except ChainReadError:
        raise
    except Exception as exc:  # web3 raises transport and RPC errors of many classes
        raise ChainReadError(
            f"Could not read the contract at {address} on chain {chain_id} "
            f"({type(exc).__name__}); try again later."
        ) from exc
    if len(answer) != 32:
        raise ChainReadError(
            f"The contract at {address} on chain {chain_id} does not answer daoId(); it is "
            "not a DatadaoDistributor."
        )
    return "0x" + answer.hex()
