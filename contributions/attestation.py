"""EIP-712 ContributionProof: build, sign and verify. Pure: no Django imports.

The proof is stored and served as the exact JSON payload of ``eth_signTypedData_v4`` plus
its signature, so any wallet library can verify it without our code.

One validator key attests for every DAO, and a dataset's ``datasetId`` comes from its primary
key, which another platform instance reuses. So the proof also names the DAO by its
``daoId`` (random, unique across instances; ``datadao.models.new_dao_id``): a proof can never
be read as being about another DAO's dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from datadao.eip712 import DOMAIN_TYPE, domain

PROOF_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "ContributionProof": [
        {"name": "daoId", "type": "bytes32"},
        {"name": "datasetId", "type": "bytes32"},
        {"name": "contributor", "type": "address"},
        {"name": "cid", "type": "string"},
        {"name": "contentSha256", "type": "bytes32"},
        {"name": "score", "type": "uint16"},
        {"name": "quality", "type": "uint16"},
        {"name": "uniqueness", "type": "uint16"},
        {"name": "validatorVersion", "type": "uint32"},
    ],
}
BPS = 10_000  # scores are basis points: 0..10000


def dataset_id_bytes32(dataset_pk: int) -> str:
    """The on-chain id of a dataset: keccak256("datadao-dataset:<pk>") as 0x-hex. Unique
    within a platform instance; paired with the DAO's ``daoId`` wherever it is signed."""
    return "0x" + keccak(text=f"datadao-dataset:{dataset_pk}").hex()


def _is_dao_id(value: object) -> bool:
    """A DAO's ``onchain_id``: a nonzero bytes32 as lowercase 0x-hex."""
    return (
        isinstance(value, str)
        and re.fullmatch(r"0x[0-9a-f]{64}", value) is not None
        and int(value, 16) != 0
    )


@dataclass(frozen=True)
class ProofFields:
    dao_id: str
    dataset_pk: int
    contributor: str
    cid: str
    # The SHA-256 of the bytes the contributor sent. ``cid`` addresses the stored bytes, which
    # for a members-only dataset are the sealed file: the two together bind the plaintext.
    sha256: str
    score: int
    quality: int
    uniqueness: int
    validator_version: int

    def __post_init__(self) -> None:
        if not _is_dao_id(self.dao_id):
            raise ValueError(
                f"dao_id must be a nonzero bytes32 as lowercase 0x-hex, not {self.dao_id!r}"
            )
        if not (isinstance(self.sha256, str) and re.fullmatch(r"[0-9a-f]{64}", self.sha256)):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, not {self.sha256!r}")
        for name in ("score", "quality", "uniqueness"):
            value = getattr(self, name)
            if not 0 <= value <= BPS:
                raise ValueError(f"{name} must be basis points in [0, {BPS}], got {value}")
        if not 0 <= self.validator_version < 2**32:
            raise ValueError("validator_version must fit in uint32")


def typed_data(fields: ProofFields, *, chain_id: int) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` payload for a proof."""
    return {
        "types": PROOF_TYPES,
        "primaryType": "ContributionProof",
        "domain": domain(chain_id),
        "message": {
            "daoId": fields.dao_id,
            "datasetId": dataset_id_bytes32(fields.dataset_pk),
            "contributor": fields.contributor,
            "cid": fields.cid,
            "contentSha256": "0x" + fields.sha256,
            "score": fields.score,
            "quality": fields.quality,
            "uniqueness": fields.uniqueness,
            "validatorVersion": fields.validator_version,
        },
    }


def sign(payload: dict[str, Any], signer: LocalAccount) -> str:
    """Sign a typed-data payload; deterministic (RFC 6979) for the same key and payload."""
    return signer.sign_message(encode_typed_data(full_message=payload)).signature.to_0x_hex()


def recover(payload: dict[str, Any], signature: str) -> str:
    """The address that signed ``payload``."""
    return Account.recover_message(encode_typed_data(full_message=payload), signature=signature)


# --- one validator's attestation (a DAO's k-of-n validator set) -------------------------------

# What each validator of a DAO's set signs about one contribution: the proof's fields, its
# verdict (``accepted``) and its own address. The verdict is signed so that a rejection is as
# attributable as an acceptance; the address is signed so that the statement says whose it is
# (an attestation posted or published under another validator's name does not verify).
ATTESTATION_TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    "ValidatorAttestation": [
        *PROOF_TYPES["ContributionProof"],
        {"name": "accepted", "type": "bool"},
        {"name": "validator", "type": "address"},
    ],
}


def attestation_typed_data(
    fields: ProofFields, *, accepted: bool, validator: str, chain_id: int
) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` payload of ``validator``'s attestation."""
    proof = typed_data(fields, chain_id=chain_id)
    return {
        "types": ATTESTATION_TYPES,
        "primaryType": "ValidatorAttestation",
        "domain": proof["domain"],
        "message": {**proof["message"], "accepted": bool(accepted), "validator": validator},
    }


def ownership_message(site: str, dataset_pk: int, sha256_hex: str) -> str:
    """The EIP-191 text a contributor signs to prove they own an upload to dataset
    ``dataset_pk`` of the platform at ``site`` (its host[:port], as in sign-in messages).

    Dataset numbers repeat across platform instances; the site, which the contributor can
    read in their wallet, says which instance's dataset the signature is for.
    """
    return f"datadao-contribution:{site}:{dataset_pk}:{sha256_hex}"
