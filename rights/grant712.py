"""The EIP-712 ``AccessGrant`` a DAO admin signs to let one wallet read a dataset or a release,
and its verification. Pure: no Django.

Domain ``{name: "datadao", version: "1", chainId}``, the DAO's chain. The message::

    AccessGrant(address grantee, bytes32 daoId, bytes32 datasetId, string releaseCid,
                string scope, uint256 expiresAt, uint256 nonce)

``daoId`` is the DAO's random on-chain id (``datadao.models.new_dao_id``), so a grant signed
for one DAO never reads as another's, even on another platform instance with the same
dataset numbers. ``datasetId`` is the dataset's id as in contribution proofs
(``contributions.attestation.dataset_id_bytes32``); ``releaseCid`` narrows the grant to one
release of it (empty: the whole dataset, every release included). ``scope`` is ``download``
or ``query``; ``expiresAt`` Unix seconds; ``nonce`` any uint256 the DAO has not used yet.
Integers travel as decimal strings (JavaScript numbers lose precision past 2**53).

Verification never trusts the submitted ``types``: the payload is rebuilt from the parsed
message fields and the signature is recovered over that, so a signature over anything else
(a tampered field, other types) recovers to some other address. Who that address must be (an
admin of the DAO) is the service's check, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from datadao.eip712 import DOMAIN_NAME, DOMAIN_TYPE, DOMAIN_VERSION, domain
from datadao.errors import ApplicationError, Detail

PRIMARY_TYPE = "AccessGrant"
SCOPES = ("download", "query")
UINT256_MAX = 2**256 - 1
TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    PRIMARY_TYPE: [
        {"name": "grantee", "type": "address"},
        {"name": "daoId", "type": "bytes32"},
        {"name": "datasetId", "type": "bytes32"},
        {"name": "releaseCid", "type": "string"},
        {"name": "scope", "type": "string"},
        {"name": "expiresAt", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
    ],
}
_BYTES32 = re.compile(r"0x[0-9a-f]{64}")
# A CIDv0 or v1 as this platform pins them: base58btc Qm… or base32 b…; short and plain.
_CID = re.compile(r"[A-Za-z0-9]{20,128}")
# secp256k1's order: only s <= n/2 is accepted (EIP-2), so a signature has one spelling and
# the stored-once constraint on signatures cannot be dodged with its (r, n - s) twin.
_SECP256K1_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2


class GrantRefused(ApplicationError):
    """A grant that does not hold: ``code`` is stable, the message names why."""

    def __init__(self, code: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message, code=code, status_code=status_code)


@dataclass(frozen=True)
class Grant:
    """The fields of a grant, parsed and checked for form (not for authority)."""

    grantee: str
    dao_id: str
    dataset_id: str
    release_cid: str
    scope: str
    expires_at: int
    nonce: int

    def __post_init__(self) -> None:
        if not is_address(self.grantee) or self.grantee != to_checksum_address(self.grantee):
            raise GrantRefused("bad_typed_data", Detail("grantee must be an EIP-55 address."))
        for name in ("dao_id", "dataset_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _BYTES32.fullmatch(value) or int(value, 16) == 0:
                raise GrantRefused(
                    "bad_typed_data",
                    Detail("%(name)s must be a nonzero bytes32 as lowercase 0x-hex.", name=name),
                )
        if self.release_cid and not _CID.fullmatch(self.release_cid):
            raise GrantRefused("bad_typed_data", Detail("releaseCid must be a CID, or empty."))
        if self.scope not in SCOPES:
            raise GrantRefused(
                "bad_typed_data", Detail("scope must be one of %(join)s.", join=", ".join(SCOPES))
            )
        for name in ("expires_at", "nonce"):
            if not 0 <= getattr(self, name) <= UINT256_MAX:
                raise GrantRefused(
                    "bad_typed_data", Detail("%(name)s must fit in uint256.", name=name)
                )


def typed_data(grant: Grant, *, chain_id: int) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload of ``grant`` on ``chain_id``."""
    return {
        "types": {name: [dict(f) for f in fields] for name, fields in TYPES.items()},
        "primaryType": PRIMARY_TYPE,
        "domain": domain(chain_id),
        "message": {
            "grantee": grant.grantee,
            "daoId": grant.dao_id,
            "datasetId": grant.dataset_id,
            "releaseCid": grant.release_cid,
            "scope": grant.scope,
            "expiresAt": str(grant.expires_at),
            "nonce": str(grant.nonce),
        },
    }


def sign(payload: dict[str, Any], signer: LocalAccount) -> str:
    """Sign a grant's typed data (tests and scripts; admins sign in their wallet)."""
    return signer.sign_message(encode_typed_data(full_message=payload)).signature.to_0x_hex()


def _field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise GrantRefused(
            "bad_typed_data",
            Detail("typedData.%(where)s.%(key)s is missing.", where=where, key=key),
        )
    return mapping[key]


def _uint(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise GrantRefused(
            "bad_typed_data", Detail("message.%(name)s must be a whole number.", name=name)
        )
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 78:
        raise GrantRefused(
            "bad_typed_data", Detail("message.%(name)s must be a whole number.", name=name)
        )
    return int(text)


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise GrantRefused(
            "bad_typed_data", Detail("message.%(name)s must be a string.", name=name)
        )
    return value


def parse(submitted: Any, *, chain_id: int, dao_id: str) -> Grant:
    """The grant a submitted ``typedData`` describes, checked for form and for its domain:
    this chain and this DAO. Raises ``GrantRefused`` (bad_typed_data, wrong_chain,
    wrong_dao)."""
    if not isinstance(submitted, Mapping):
        raise GrantRefused(
            "bad_typed_data", Detail("typedData must be the JSON object you signed.")
        )
    if submitted.get("primaryType") != PRIMARY_TYPE:
        raise GrantRefused(
            "bad_typed_data",
            Detail("typedData.primaryType must be %(primary_type)s.", primary_type=PRIMARY_TYPE),
        )
    domain, message = submitted.get("domain"), submitted.get("message")
    if not isinstance(domain, Mapping) or not isinstance(message, Mapping):
        raise GrantRefused(
            "bad_typed_data", Detail("typedData needs a domain and a message object.")
        )
    if (domain.get("name"), domain.get("version")) != (DOMAIN_NAME, DOMAIN_VERSION):
        raise GrantRefused(
            "bad_typed_data",
            Detail(
                'typedData.domain must be name "%(domain_name)s", version "1".',
                domain_name=DOMAIN_NAME,
            ),
        )
    chain = _field(domain, "chainId", "domain")
    if isinstance(chain, bool) or str(chain) != str(chain_id):
        raise GrantRefused(
            "wrong_chain",
            Detail(
                "The grant was signed for chain %(chain)s; this DAO is on chain %(chain_id)s.",
                chain=str(chain)[:24],
                chain_id=chain_id,
            ),
        )
    if str(_field(message, "daoId", "message")).lower() != dao_id:
        raise GrantRefused("wrong_dao", Detail("The grant was signed for another DAO (daoId)."))
    grantee = _string(_field(message, "grantee", "message"), "grantee")
    if not is_address(grantee):
        raise GrantRefused("bad_typed_data", Detail("message.grantee must be an Ethereum address."))
    return Grant(
        grantee=to_checksum_address(grantee),
        dao_id=dao_id,
        dataset_id=_string(_field(message, "datasetId", "message"), "datasetId").lower(),
        release_cid=_string(_field(message, "releaseCid", "message"), "releaseCid"),
        scope=_string(_field(message, "scope", "message"), "scope"),
        expires_at=_uint(_field(message, "expiresAt", "message"), "expiresAt"),
        nonce=_uint(_field(message, "nonce", "message"), "nonce"),
    )


def _signature_bytes(signature: Any) -> bytes:
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise GrantRefused("bad_signature", Detail("signature must be 0x-hex (65 bytes)."))
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        raise GrantRefused(
            "bad_signature", Detail("signature must be 0x-hex (65 bytes).")
        ) from None
    if len(raw) != 65:
        raise GrantRefused(
            "bad_signature", Detail("signature is %(count)s bytes, not 65.", count=len(raw))
        )
    if int.from_bytes(raw[32:64], "big") > _SECP256K1_HALF_N:
        raise GrantRefused(
            "bad_signature", Detail("signature has a high s value (EIP-2); re-sign it.")
        )
    return raw


def recover(grant: Grant, signature: Any, *, chain_id: int) -> tuple[dict[str, Any], str, str]:
    """The canonical typed data of ``grant``, the lowercase signature and the address that
    signed it. Raises ``GrantRefused`` (bad_signature) for a signature that is no signature."""
    raw = _signature_bytes(signature)
    canonical = typed_data(grant, chain_id=chain_id)
    try:
        signer = Account.recover_message(encode_typed_data(full_message=canonical), signature=raw)
    except Exception as exc:  # eth-account raises several types for a malformed signature
        raise GrantRefused(
            "bad_signature", Detail("The signature cannot be recovered: %(exc)s", exc=exc)
        ) from None
    return canonical, "0x" + raw.hex(), signer
