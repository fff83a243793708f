"""The root a reward contract holds for an epoch, read over plain JSON-RPC (``eth_call`` of the
distributor's public ``epochRoot(uint256)``), so the verifier needs no web3 stack."""

from __future__ import annotations

import requests
from eth_utils import keccak

from datadao.errors import Detail

_EPOCH_ROOT = keccak(text="epochRoot(uint256)")[:4]


class ChainError(Exception):
    """The endpoint could not be reached or answered with an error."""


def epoch_root(rpc: str, contract: str, epoch: int, *, timeout: float = 30.0) -> str:
    """``epochRoot(epoch)`` of ``contract`` at the latest block, as 0x-hex (zero when unset)."""
    data = "0x" + (_EPOCH_ROOT + epoch.to_bytes(32, "big")).hex()
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_call",
        "params": [{"to": contract, "data": data}, "latest"],
    }
    try:
        response = requests.post(rpc, json=body, timeout=timeout)
        reply = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ChainError(f"{rpc}: {exc}") from None
    if "error" in reply or not isinstance(reply.get("result"), str):
        raise ChainError(f"{rpc}: {reply.get('error') or reply}")
    result = reply["result"]
    if len(result) != 66:
        raise ChainError(
            Detail(
                "%(contract)s answered %(result)s: is it a distributor?",
                contract=contract,
                result=repr(result),
            )
        )
    return result
