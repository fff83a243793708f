"""rewards.eip712: payload shape, digests (against eth-account), signatures and refusals."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.eip712 import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    SECP256K1_HALF_N,
    SECP256K1_N,
    TYPEHASHES,
    claim_typed_data,
    epoch_root_typed_data,
    recover_typed_data,
    sign_envelope,
    sign_typed_data,
    typed_data_digest,
)

SIGNER = Account.from_key(keccak(text="datadao-test-eip712-signer"))
CONTRACT = to_checksum_address("0x" + "c0" * 20)
DATASET = "0x" + keccak(text="dataset:1").hex()
DAO = "0x" + keccak(text="dao:1").hex()
MAX_UINT256 = 2**256 - 1


def _claim(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "dao_id": DAO,
        "contributor": "0x" + "ab" * 20,
        "amount": 10**18,
        "nonce": 1,
        "deadline": 2_000_000_000,
        "dataset_id": DATASET,
        "chain_id": 31337,
        "verifying_contract": CONTRACT,
    }
    return claim_typed_data(**{**fields, **overrides})


def _epoch_root(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "dao_id": DAO,
        "epoch": 3,
        "root": "0x" + "AB" * 32,
        "total": 10**21,
        "chain_id": 1,
        "verifying_contract": CONTRACT,
    }
    return epoch_root_typed_data(**{**fields, **overrides})


def _eth_account_digest(payload: dict[str, Any]) -> bytes:
    message = encode_typed_data(full_message=payload)
    return keccak(b"\x19" + message.version + message.header + message.body)


def test_claim_payload_shape() -> None:
    payload = _claim()
    assert payload == {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Claim": [
                {"name": "daoId", "type": "bytes32"},
                {"name": "contributor", "type": "address"},
                {"name": "amount", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
                {"name": "datasetId", "type": "bytes32"},
            ],
        },
        "primaryType": "Claim",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": 31337,
            "verifyingContract": CONTRACT,
        },
        "message": {
            "daoId": DAO,
            "contributor": to_checksum_address("0x" + "ab" * 20),
            "amount": "1000000000000000000",
            "nonce": "1",
            "deadline": "2000000000",
            "datasetId": DATASET,
        },
    }
    assert (DOMAIN_NAME, DOMAIN_VERSION) == ("DatadaoDistributor", "1")


def test_epoch_root_payload_shape() -> None:
    payload = _epoch_root()
    assert payload["primaryType"] == "EpochRoot"
    assert set(payload["types"]) == {"EIP712Domain", "EpochRoot"}
    assert payload["message"] == {
        "daoId": DAO,
        "epoch": "3",
        "root": "0x" + "ab" * 32,
        "total": str(10**21),
    }
    assert [f["name"] for f in payload["types"]["EpochRoot"]] == [
        "daoId",
        "epoch",
        "root",
        "total",
    ]


def test_typehashes_are_the_contracts() -> None:
    claim = (
        "Claim(bytes32 daoId,address contributor,uint256 amount,uint256 nonce,"
        "uint256 deadline,bytes32 datasetId)"
    )
    assert TYPEHASHES["Claim"] == keccak(text=claim)
    assert TYPEHASHES["EpochRoot"] == keccak(
        text="EpochRoot(bytes32 daoId,uint256 epoch,bytes32 root,uint256 total)"
    )


uints = st.one_of(st.integers(0, MAX_UINT256), st.sampled_from([0, MAX_UINT256]))
addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)
words = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
chain_ids = st.integers(1, 2**53 - 1)
dao_ids = words.filter(lambda word: int(word, 16) != 0)  # the builders refuse a zero daoId


@settings(max_examples=40, deadline=None)
@given(
    dao_id=dao_ids,
    contributor=addresses,
    amount=uints,
    nonce=uints,
    deadline=uints,
    dataset_id=words,
    chain_id=chain_ids,
    contract=addresses,
)
def test_claim_digest_matches_eth_account(
    dao_id: str,
    contributor: str,
    amount: int,
    nonce: int,
    deadline: int,
    dataset_id: str,
    chain_id: int,
    contract: str,
) -> None:
    payload = claim_typed_data(
        dao_id=dao_id,
        contributor=contributor,
        amount=amount,
        nonce=nonce,
        deadline=deadline,
        dataset_id=dataset_id,
        chain_id=chain_id,
        verifying_contract=contract,
    )
    assert typed_data_digest(payload) == _eth_account_digest(payload)
    # What a wallet receives is JSON: it must survive the trip and hash the same.
    travelled = json.loads(json.dumps(payload))
    assert travelled == payload
    assert typed_data_digest(travelled) == typed_data_digest(payload)


@settings(max_examples=40, deadline=None)
@given(dao_id=dao_ids, epoch=uints, root=words, total=uints, chain_id=chain_ids, contract=addresses)
def test_epoch_root_digest_matches_eth_account(
    dao_id: str, epoch: int, root: str, total: int, chain_id: int, contract: str
) -> None:
    payload = epoch_root_typed_data(
        dao_id=dao_id,
        epoch=epoch,
        root=root,
        total=total,
        chain_id=chain_id,
        verifying_contract=contract,
    )
    assert typed_data_digest(payload) == _eth_account_digest(payload)


@settings(max_examples=15, deadline=None)
@given(amount=uints, nonce=uints)
def test_signatures_are_canonical_and_recover(amount: int, nonce: int) -> None:
    payload = _claim(amount=amount, nonce=nonce)
    signature = sign_typed_data(payload, SIGNER)
    raw = bytes.fromhex(signature[2:])
    assert len(raw) == 65 and raw[64] in (27, 28)
    assert 0 < int.from_bytes(raw[32:64]) <= SECP256K1_HALF_N
    assert recover_typed_data(payload, signature) == SIGNER.address
    assert recover_typed_data(json.loads(json.dumps(payload)), signature) == SIGNER.address
    assert Account.recover_message(encode_typed_data(full_message=payload), signature=raw) == (
        SIGNER.address
    )


def test_high_s_twin_is_refused() -> None:
    payload = _epoch_root()
    raw = bytes.fromhex(sign_typed_data(payload, SIGNER)[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64]), raw[64]
    twin_s, twin_v = SECP256K1_N - s, 55 - v  # 27 <-> 28
    # The twin is a valid ECDSA signature by the same key (this is what malleability means)...
    twin_key = keys.Signature(vrs=(twin_v - 27, int.from_bytes(r), twin_s))
    recovered = twin_key.recover_public_key_from_msg_hash(typed_data_digest(payload))
    assert recovered.to_checksum_address() == SIGNER.address
    # ...and we refuse it, as OpenZeppelin's ECDSA.recover does.
    twin = "0x" + (r + twin_s.to_bytes(32) + bytes([twin_v])).hex()
    with pytest.raises(ValueError, match="upper half of the curve order"):
        recover_typed_data(payload, twin)


def test_changed_message_recovers_someone_else() -> None:
    payload = _claim()
    signature = sign_typed_data(payload, SIGNER)
    changed = copy.deepcopy(payload)
    changed["message"]["amount"] = str(10**18 + 1)
    assert recover_typed_data(changed, signature) != SIGNER.address
    other_chain = _claim(chain_id=1)
    assert recover_typed_data(other_chain, signature) != SIGNER.address
    other_dao = _claim(dao_id="0x" + keccak(text="dao:2").hex())
    assert recover_typed_data(other_dao, signature) != SIGNER.address
    root_signature = sign_typed_data(_epoch_root(), SIGNER)
    assert recover_typed_data(
        _epoch_root(dao_id=other_dao["message"]["daoId"]), root_signature
    ) != (SIGNER.address)


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("0x1234", "signature must be 65 bytes"),
        ("12" * 65, "signature must be 65 bytes"),
        ("0x" + "zz" * 65, "signature must be 65 bytes"),
        (None, "signature must be 65 bytes"),
        ("0x" + "11" * 64 + "00", "signature v must be 27 or 28, not 0"),
        ("0x" + "00" * 32 + "11" * 32 + "1b", "signature r is out of range"),
        ("0x" + "11" * 32 + "00" * 32 + "1b", "upper half of the curve order"),
    ],
)
def test_malformed_signatures_are_refused(signature: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recover_typed_data(_claim(), signature)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": 1.0}, "amount must be an int, not float"),
        ({"amount": "1"}, "amount must be an int, not str"),
        ({"amount": 2**256}, "amount does not fit in a uint256"),
        ({"nonce": -1}, "nonce must not be negative"),
        ({"deadline": True}, "deadline must be an int, not bool"),
        ({"dataset_id": "0x1234"}, "dataset_id must be 0x followed by 64 hex digits"),
        ({"dataset_id": "weather"}, "dataset_id must be 0x followed by 64 hex digits"),
        ({"contributor": "0x12"}, "contributor must be a 0x-prefixed 20-byte hex address"),
        ({"verifying_contract": "nope"}, "verifying_contract must be a 0x-prefixed"),
        ({"chain_id": 0}, "chain_id must be between 1 and 2\\*\\*53 - 1"),
        ({"chain_id": 2**53}, "chain_id must be between 1 and 2\\*\\*53 - 1"),
        ({"dao_id": "my-dao"}, "dao_id must be 0x followed by 64 hex digits"),
        ({"dao_id": 7}, "dao_id must be 0x followed by 64 hex digits"),
        ({"dao_id": "0x" + "00" * 32}, "dao_id must not be zero"),
    ],
)
def test_builders_refuse_bad_values(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _claim(**overrides)


def _edited(edit: str) -> dict[str, Any]:
    payload = _claim()
    if edit == "extra-field":
        payload["message"]["extra"] = "1"
    elif edit == "missing-field":
        del payload["message"]["nonce"]
    elif edit == "text-bytes32":
        payload["message"]["datasetId"] = "weather"
    elif edit == "float-amount":
        payload["message"]["amount"] = 1.5
    elif edit == "padded-amount":
        payload["message"]["amount"] = "01"
    elif edit == "types":
        payload["types"]["Claim"][1]["type"] = "uint128"
    elif edit == "primary-type":
        payload["primaryType"] = "Permit"
    elif edit == "domain-name":
        payload["domain"]["name"] = "Other"
    elif edit == "string-chain-id":
        payload["domain"]["chainId"] = "31337"
    elif edit == "extra-key":
        payload["signature"] = "0x"
    elif edit == "no-dao-id":
        # A Claim as signed before payloads named their DAO: nothing to tell DAOs apart.
        payload["types"]["Claim"] = payload["types"]["Claim"][1:]
        del payload["message"]["daoId"]
    return payload


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("extra-field", "message must have exactly the fields"),
        ("missing-field", "message must have exactly the fields"),
        ("text-bytes32", "message.datasetId must be 0x followed by 64 hex digits"),
        ("float-amount", "message.amount must be an int, not float"),
        ("padded-amount", "message.amount must be a decimal integer string"),
        ("types", "types do not match the Claim and EIP712Domain definitions"),
        ("primary-type", "primaryType must be one of"),
        ("domain-name", "domain must be 'DatadaoDistributor' version '1'"),
        ("string-chain-id", "chain_id must be an int, not str"),
        ("extra-key", "typed data must have exactly types, primaryType, domain and message"),
        ("no-dao-id", "types do not match the Claim and EIP712Domain definitions"),
    ],
)
def test_digest_refuses_foreign_payloads(edit: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        typed_data_digest(_edited(edit))


def test_envelope() -> None:
    payload = _claim()
    envelope = sign_envelope(payload, SIGNER)
    assert set(envelope) == {"typedData", "signature", "signer"}
    assert envelope["typedData"] == payload and envelope["typedData"] is not payload
    assert envelope["signer"] == SIGNER.address
    assert recover_typed_data(envelope["typedData"], envelope["signature"]) == SIGNER.address
    json.dumps(envelope)
