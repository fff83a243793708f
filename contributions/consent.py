"""EIP-712 ``ConsentWithdrawal``: what a contributor signs to withdraw consent. Pure: no Django.

It names the DAO (``daoId``), the dataset, the contributor and one contribution (0: every
contribution of theirs in the dataset), with a nonce the platform issued, so a signature is
for one withdrawal on one platform's DAO and cannot be replayed for another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from contributions.attestation import dataset_id_bytes32
from datadao.eip712 import DOMAIN_TYPE, domain

WITHDRAWAL_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "ConsentWithdrawal": [
        {"name": "daoId", "type": "bytes32"},
        {"name": "datasetId", "type": "bytes32"},
        {"name": "contributor", "type": "address"},
        {"name": "contribution", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "statement", "type": "string"},
    ],
}
# Shown in the wallet: what signing means, in words.
STATEMENT = (
    "I withdraw my consent. The data is left out of every future release, query and synthetic "
    "job, and its stored copy and key are destroyed. Rewards already settled stay settled."
)
_HEX32 = re.compile(r"0x[0-9a-f]{64}")


@dataclass(frozen=True)
class Withdrawal:
    dao_id: str
    dataset_pk: int
    contributor: str
    contribution: int  # 0: every contribution of the contributor in the dataset
    nonce: str

    def __post_init__(self) -> None:
        for name in ("dao_id", "nonce"):
            if not _HEX32.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must be a bytes32 as lowercase 0x-hex")
        if not 0 <= self.contribution < 2**63:
            raise ValueError("contribution must be a contribution id, or 0 for all")


def typed_data(withdrawal: Withdrawal, *, chain_id: int) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` payload."""
    return {
        "types": WITHDRAWAL_TYPES,
        "primaryType": "ConsentWithdrawal",
        "domain": domain(chain_id),
        "message": {
            "daoId": withdrawal.dao_id,
            "datasetId": dataset_id_bytes32(withdrawal.dataset_pk),
            "contributor": withdrawal.contributor,
            "contribution": withdrawal.contribution,
            "nonce": withdrawal.nonce,
            "statement": STATEMENT,
        },
    }


def signer_of(payload: dict[str, Any], signature: str) -> str:
    """The address that signed ``payload``; ValueError when it is not a valid signature."""
    try:
        return Account.recover_message(encode_typed_data(full_message=payload), signature=signature)
    except Exception as exc:
        raise ValueError(f"not a valid EIP-712 signature of this withdrawal ({exc})") from None
