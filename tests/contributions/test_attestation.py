"""contributions.attestation: the validator's ContributionProof names its DAO, and the
contributor's ownership text names the site."""

from __future__ import annotations

import copy

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from contributions.attestation import (
    PROOF_TYPES,
    ProofFields,
    dataset_id_bytes32,
    ownership_message,
    recover,
    sign,
    typed_data,
)

VALIDATOR = Account.from_key(keccak(text="datadao-test-attestation-validator"))
DAO_A = "0x" + keccak(text="dao:a").hex()
DAO_B = "0x" + keccak(text="dao:b").hex()


def _fields(**overrides: object) -> ProofFields:
    values: dict[str, object] = {
        "dao_id": DAO_A,
        "dataset_pk": 5,
        "contributor": "0x" + "ab" * 20,
        "cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "sha256": "ab" * 32,
        "score": 7500,
        "quality": 10000,
        "uniqueness": 10000,
        "validator_version": 3,
    }
    return ProofFields(**{**values, **overrides})  # type: ignore[arg-type]


def test_the_proof_names_the_dao_first() -> None:
    payload = typed_data(_fields(), chain_id=1)
    assert PROOF_TYPES["ContributionProof"][0] == {"name": "daoId", "type": "bytes32"}
    assert payload["message"]["daoId"] == DAO_A
    assert payload["message"]["datasetId"] == dataset_id_bytes32(5)
    encode_typed_data(full_message=payload)  # a standard payload any wallet library hashes


def test_a_proof_for_one_dao_does_not_verify_for_another() -> None:
    # Same dataset number, same contributor and file, same chain: only the DAO differs, as
    # for dataset 5 of two platform instances sharing a validator key.
    payload = typed_data(_fields(), chain_id=1)
    signature = sign(payload, VALIDATOR)
    assert recover(payload, signature) == VALIDATOR.address
    other = typed_data(_fields(dao_id=DAO_B), chain_id=1)
    assert recover(other, signature) != VALIDATOR.address
    relabelled = copy.deepcopy(payload)
    relabelled["message"]["daoId"] = DAO_B
    assert recover(relabelled, signature) != VALIDATOR.address


@pytest.mark.parametrize(
    "dao_id", ["", "0x1234", DAO_A.upper().replace("0X", "0x"), "0x" + "00" * 32, 7]
)
def test_proof_fields_refuse_a_bad_dao_id(dao_id: object) -> None:
    with pytest.raises(ValueError, match="dao_id must be a nonzero bytes32 as lowercase 0x-hex"):
        _fields(dao_id=dao_id)


def test_the_ownership_text_names_the_site() -> None:
    digest = "ab" * 32
    assert ownership_message("datadao.example.org", 5, digest) == (
        f"datadao-contribution:datadao.example.org:5:{digest}"
    )
    assert ownership_message("a.example", 5, digest) != ownership_message("b.example", 5, digest)
