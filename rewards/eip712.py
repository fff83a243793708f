"""EIP-712 payloads the reward signer signs, and their digests, signatures and recovery.

Two messages, both verified by the DatadaoDistributor contract under the domain
``{name: "DatadaoDistributor", version: "1", chainId, verifyingContract}``:

* ``Claim(bytes32 daoId,address contributor,uint256 amount,uint256 nonce,uint256 deadline,
  bytes32 datasetId)``: a voucher a contributor redeems on-chain;
* ``EpochRoot(bytes32 daoId,uint256 epoch,bytes32 root,uint256 total)``: the signer's approval
  of an epoch's Merkle root.

One signer key signs for every DAO of the platform, and a DAO's creator chooses the contract
address its payloads name, so the domain alone cannot tell two DAOs apart. Every message
therefore starts with the DAO's ``daoId`` (``datadao.models.new_dao_id``), and a distributor is
deployed for one ``daoId`` and refuses any other: a payload signed for one DAO is worthless on
another DAO's contract, whatever address either configured.

A payload is exactly the JSON object ``eth_signTypedData_v4`` takes (``types`` with
``EIP712Domain``, ``primaryType``, ``domain``, ``message``), so a wallet can sign or display
it unchanged. In it, uint256 message fields are *decimal strings*: JSON numbers lose
precision past 2**53 in every JavaScript wallet, while ethers, viem, MetaMask and
eth-account's ``encode_typed_data`` all accept decimal strings for uintN. ``chainId`` is a
JSON number, as MetaMask's and ethers v6's payloads have it, so chain ids are limited to
JavaScript's safe integers (every real chain's is). Addresses are EIP-55 checksummed and
bytes32 values lowercase hex.

The digest is computed here from the fixed types rather than by a generic EIP-712 encoder:
a generic one accepts a text string for bytes32 or any value for an unknown field, and a
signer must refuse those instead of signing something other than what was meant. The
tests check the digests against eth-account's generic ``encode_typed_data``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from eth_account.messages import SignableMessage
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from hexbytes import HexBytes

from rewards.ethtypes import bytes32, checksum_address, uint256, uint256_decimal
from rewards.keccak import keccak256

DOMAIN_NAME = "DatadaoDistributor"
DOMAIN_VERSION = "1"
MAX_CHAIN_ID = 2**53 - 1  # Number.MAX_SAFE_INTEGER: chainId travels as a JSON number

# secp256k1's group order. Ethereum (EIP-2, OpenZeppelin's ECDSA.recover) only accepts
# s <= n/2: for each signature (r, s) the twin (r, n - s) is also valid, and accepting
# both would let anyone re-encode a signature into a second, different one.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2

EIP712_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)
MESSAGE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Claim": (
        ("daoId", "bytes32"),
        ("contributor", "address"),
        ("amount", "uint256"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
        ("datasetId", "bytes32"),
    ),
    "EpochRoot": (
        ("daoId", "bytes32"),
        ("epoch", "uint256"),
        ("root", "bytes32"),
        ("total", "uint256"),
    ),
}


def _type_string(name: str, fields: tuple[tuple[str, str], ...]) -> str:
    return f"{name}({','.join(f'{kind} {field}' for field, kind in fields)})"


def _type_hash(name: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    return keccak256(_type_string(name, fields).encode())


DOMAIN_TYPEHASH = _type_hash("EIP712Domain", EIP712_DOMAIN_FIELDS)
TYPEHASHES = {name: _type_hash(name, fields) for name, fields in MESSAGE_FIELDS.items()}


def _types_json(primary_type: str) -> dict[str, list[dict[str, str]]]:
    def as_json(fields: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
        return [{"name": field, "type": kind} for field, kind in fields]

    return {
        "EIP712Domain": as_json(EIP712_DOMAIN_FIELDS),
        primary_type: as_json(MESSAGE_FIELDS[primary_type]),
    }


def _chain_id(value: object) -> int:
    chain_id = uint256(value, "chain_id")
    if not 1 <= chain_id <= MAX_CHAIN_ID:
        raise ValueError(f"chain_id must be between 1 and 2**53 - 1, not {chain_id}")
    return chain_id


def _payload(
    primary_type: str, message: dict[str, str], chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    return {
        "types": _types_json(primary_type),
        "primaryType": primary_type,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": _chain_id(chain_id),
            "verifyingContract": checksum_address(verifying_contract, "verifying_contract"),
        },
        "message": message,
    }


def _dao_id(value: object) -> str:
    raw = bytes32(value, "dao_id")
    if raw == bytes(32):
        raise ValueError("dao_id must not be zero (the contract refuses it)")
    return "0x" + raw.hex()


def claim_typed_data(
    *,
    dao_id: str,
    contributor: str,
    amount: int,
    nonce: int,
    deadline: int,
    dataset_id: str,
    chain_id: int,
    verifying_contract: str,
) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload of a Claim voucher.

    ``amount``, ``nonce`` and ``deadline`` (unix seconds) are ints; ``dao_id`` (the paying
    DAO) and ``dataset_id`` are bytes32 as 0x-hex. Refuses (``ValueError``) anything out of its
    Solidity type's range.
    """
    message = {
        "daoId": _dao_id(dao_id),
        "contributor": checksum_address(contributor, "contributor"),
        "amount": str(uint256(amount, "amount")),
        "nonce": str(uint256(nonce, "nonce")),
        "deadline": str(uint256(deadline, "deadline")),
        "datasetId": "0x" + bytes32(dataset_id, "dataset_id").hex(),
    }
    return _payload("Claim", message, chain_id, verifying_contract)


def epoch_root_typed_data(
    *, dao_id: str, epoch: int, root: str, total: int, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload approving ``root``, paying ``total``, for ``epoch``
    of the DAO ``dao_id``.

    ``epoch`` and ``total`` are ints, ``dao_id`` and ``root`` bytes32 as 0x-hex.
    """
    message = {
        "daoId": _dao_id(dao_id),
        "epoch": str(uint256(epoch, "epoch")),
        "root": "0x" + bytes32(root, "root").hex(),
        "total": str(uint256(total, "total")),
    }
    return _payload("EpochRoot", message, chain_id, verifying_contract)


def _encode_field(kind: str, value: object, what: str) -> bytes:
    if kind == "uint256":
        return uint256_decimal(value, what).to_bytes(32)
    if kind == "address":
        return bytes(12) + bytes.fromhex(checksum_address(value, what)[2:])
    if kind == "bytes32":
        return bytes32(value, what)
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"{what} must be a string")
        return keccak256(value.encode())
    raise AssertionError(f"no encoding for {kind}")  # the field tables name no other type


def _hash_struct(
    typehash: bytes, fields: tuple[tuple[str, str], ...], data: object, what: str
) -> bytes:
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be an object")
    expected = {field for field, _ in fields}
    if set(data) != expected:
        raise ValueError(f"{what} must have exactly the fields {sorted(expected)}")
    encoded = typehash + b"".join(
        _encode_field(kind, data[field], f"{what}.{field}") for field, kind in fields
    )
    return keccak256(encoded)


def _signable(payload: Mapping[str, Any]) -> SignableMessage:
    """Check ``payload`` is one of ours; return its EIP-191 version 0x01 parts."""
    if not isinstance(payload, Mapping):
        raise ValueError("typed data must be a JSON object")
    if set(payload) != {"types", "primaryType", "domain", "message"}:
        raise ValueError("typed data must have exactly types, primaryType, domain and message")
    primary_type = payload["primaryType"]
    if primary_type not in MESSAGE_FIELDS:
        raise ValueError(f"primaryType must be one of {sorted(MESSAGE_FIELDS)}")
    if payload["types"] != _types_json(primary_type):
        raise ValueError(f"types do not match the {primary_type} and EIP712Domain definitions")
    domain = payload["domain"]
    if isinstance(domain, Mapping):
        if domain.get("name") != DOMAIN_NAME or domain.get("version") != DOMAIN_VERSION:
            raise ValueError(f"domain must be {DOMAIN_NAME!r} version {DOMAIN_VERSION!r}")
        _chain_id(domain.get("chainId"))
    domain_separator = _hash_struct(DOMAIN_TYPEHASH, EIP712_DOMAIN_FIELDS, domain, "domain")
    struct_hash = _hash_struct(
        TYPEHASHES[primary_type], MESSAGE_FIELDS[primary_type], payload["message"], "message"
    )
    return SignableMessage(HexBytes(b"\x01"), HexBytes(domain_separator), HexBytes(struct_hash))


def typed_data_digest(payload: Mapping[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest: keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))."""
    parts = _signable(payload)
    return keccak256(b"\x19" + parts.version + parts.header + parts.body)


def sign_typed_data(payload: Mapping[str, Any], signer: LocalAccount) -> str:
    """The 65-byte signature (r ‖ s ‖ v, v in {27, 28}, low s) as 0x-hex."""
    signed = signer.sign_message(_signable(payload))
    # eth-account signs deterministically (RFC 6979) with low s; a library change that broke
    # that would make the contract revert every voucher, so check rather than trust.
    if not (signed.v in (27, 28) and 0 < signed.s <= SECP256K1_HALF_N):
        raise RuntimeError("the signing library produced a non-canonical signature")
    return "0x" + bytes(signed.signature).hex()


def _parse_signature(signature: object) -> keys.Signature:
    if isinstance(signature, str) and signature[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(signature[2:])
        except ValueError:
            raw = b""
    elif isinstance(signature, bytes | bytearray):
        raw = bytes(signature)
    else:
        raw = b""
    if len(raw) != 65:
        raise ValueError("signature must be 65 bytes (r ‖ s ‖ v) as 0x-hex")
    r, s, v = int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]), raw[64]
    if v not in (27, 28):
        raise ValueError(f"signature v must be 27 or 28, not {v}")
    if not 0 < r < SECP256K1_N:
        raise ValueError("signature r is out of range")
    if not 0 < s <= SECP256K1_HALF_N:
        raise ValueError("signature s is in the upper half of the curve order (malleable)")
    return keys.Signature(vrs=(v - 27, r, s))


def recover_typed_data(payload: Mapping[str, Any], signature: str) -> str:
    """The checksummed address that signed ``payload``, as the contract's ``ECDSA.recover``.

    Refuses (``ValueError``) malformed and high-s signatures, which the contract rejects.
    A signature by someone else recovers to their address: compare the result.
    """
    digest = typed_data_digest(payload)
    parsed = _parse_signature(signature)
    try:
        public_key = parsed.recover_public_key_from_msg_hash(digest)
    except Exception as exc:  # eth_keys raises BadSignature and friends
        raise ValueError(f"signature does not recover to any key: {exc}") from None
    return public_key.to_checksum_address()


def sign_envelope(payload: Mapping[str, Any], signer: LocalAccount) -> dict[str, Any]:
    """What a voucher is handed out as: the payload, its signature and the signer's address."""
    return {
        "typedData": copy.deepcopy(dict(payload)),
        "signature": sign_typed_data(payload, signer),
        "signer": signer.address,
    }
