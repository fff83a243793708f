"""EIP-712 ``ValidatorSetVersion``: a DAO's own signature on one version of its validator set.
Pure: no Django, so the verifier (``datadao_verify``) shares it.

A release publishes the DAO's validator set versions, and ``datadao verify`` checks every
quorum proof against them; but the list itself is the platform's word. A version signed by a
key the DAO controls (its creator's or admin's wallet) is the DAO's word: a reader who knows
that key (``datadao verify --set-signer ADDRESS``) refuses a version the platform added, such
as an empty one that would let the platform's fleet key sign again, or one with other
members or another threshold. ``since`` is signed too (Unix microseconds), so the moment a
version took effect, which decides whether a fleet proof counts, is the DAO's word as well.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from datadao.eip712 import DOMAIN_TYPE, domain

ADOPTION_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "ValidatorSetVersion": [
        {"name": "daoId", "type": "bytes32"},
        {"name": "version", "type": "uint32"},
        {"name": "validators", "type": "address[]"},
        {"name": "threshold", "type": "uint16"},
        {"name": "since", "type": "uint64"},
    ],
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """``moment`` as whole Unix microseconds (exact: no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def adoption_typed_data(
    *,
    dao_id: str,
    chain_id: int,
    version: int,
    validators: list[str],
    threshold: int,
    since: datetime,
) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload a DAO's key signs to adopt one set version; the
    validators in checksummed form, sorted, as a release lists them."""
    return {
        "types": ADOPTION_TYPES,
        "primaryType": "ValidatorSetVersion",
        "domain": domain(chain_id),
        "message": {
            "daoId": dao_id,
            "version": version,
            "validators": sorted(to_checksum_address(v) for v in validators),
            "threshold": threshold,
            "since": micros(since),
        },
    }


def sign_adoption(payload: dict[str, Any], account: LocalAccount) -> str:
    return account.sign_message(encode_typed_data(full_message=payload)).signature.to_0x_hex()


def adoption_signer(payload: dict[str, Any], signature: str) -> str:
    """The address that signed ``payload``; ValueError for a signature that is not one."""
    try:
        return str(
            Account.recover_message(encode_typed_data(full_message=payload), signature=signature)
        )
    except Exception as exc:  # eth-account raises a variety on a malformed signature
        raise ValueError(f"not a signature: {exc}") from None
