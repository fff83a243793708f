"""The EIP-712 domain every platform signature outside the reward contract uses (proofs, join
terms, grants, consent withdrawals, query attestations): ``{name: "datadao", version: "1",
chainId}``. Pure: no Django. (Reward roots and vouchers are signed for the distributor
contract's own domain, ``rewards.eip712``.)"""

from __future__ import annotations

from typing import Any

DOMAIN_NAME = "datadao"
DOMAIN_VERSION = "1"
DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]


def domain(chain_id: int) -> dict[str, Any]:
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id}
