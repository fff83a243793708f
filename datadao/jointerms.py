"""The EIP-712 ``JoinTerms`` message a wallet signs to join a DAO, and its verification.

Pure: no Django. Domain ``{name: "datadao", version: "1", chainId}`` (no verifyingContract:
no contract checks it; the platform does). The message::

    JoinTerms(address member, bytes32 daoId, bytes32 termsHash, string licenses, uint256 issuedAt)

``termsHash`` is the sha256 of the DAO's terms text (UTF-8), ``licenses`` the licences of its
open datasets, ``issuedAt`` Unix seconds as a decimal string (the convention of
``rewards.eip712``: JavaScript numbers lose precision past 2**53).

Verification never trusts the submitted ``types`` or ``domain``: every field is compared with
what the server expects and the signature is recovered over the payload rebuilt from those
values, so a signature over anything else recovers to some other address. Each refusal is a
``TermsRefused`` carrying a stable code and a message naming the problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from datadao.eip712 import DOMAIN_NAME, DOMAIN_TYPE, DOMAIN_VERSION, domain
from datadao.errors import ApplicationError, Detail

PRIMARY_TYPE = "JoinTerms"
# How old a signed acceptance may be when it arrives, and how far ahead a wallet's clock may be.
MAX_AGE_SECONDS = 600
MAX_SKEW_SECONDS = 60
TYPES = {
    "EIP712Domain": DOMAIN_TYPE,
    PRIMARY_TYPE: [
        {"name": "member", "type": "address"},
        {"name": "daoId", "type": "bytes32"},
        {"name": "termsHash", "type": "bytes32"},
        {"name": "licenses", "type": "string"},
        {"name": "issuedAt", "type": "uint256"},
    ],
}
# secp256k1's order: only s <= n/2 is accepted (EIP-2), so a signature has one spelling and
# the stored-once constraint on signatures cannot be dodged with its (r, n - s) twin.
_SECP256K1_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2


class TermsRefused(ApplicationError):
    """A signed acceptance that does not hold: ``code`` is stable, the message names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def terms_hash(text: str) -> str:
    """The bytes32 a joiner signs for a DAO's terms: sha256 of the UTF-8 text, 0x-hex."""
    return "0x" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def licenses_text(licenses: list[str]) -> str:
    """The licences of a DAO's open datasets as one string: each SPDX expression once, sorted."""
    return ", ".join(sorted(set(licenses)))


@dataclass(frozen=True)
class Expected:
    """What a valid acceptance says, from the server's point of view."""

    member: str
    dao_id: str
    chain_id: int
    terms_hash: str
    licenses: str


def typed_data(expected: Expected, *, issued_at: int) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` payload for ``expected``, issued at ``issued_at``."""
    return {
        "types": {name: [dict(f) for f in fields] for name, fields in TYPES.items()},
        "primaryType": PRIMARY_TYPE,
        "domain": domain(expected.chain_id),
        "message": {
            "member": expected.member,
            "daoId": expected.dao_id,
            "termsHash": expected.terms_hash,
            "licenses": expected.licenses,
            "issuedAt": str(issued_at),
        },
    }


def _field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise TermsRefused(
            "bad_typed_data",
            Detail("typedData.%(where)s.%(key)s is missing.", where=where, key=key),
        )
    return mapping[key]


def _issued_at(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TermsRefused("bad_typed_data", Detail("message.issuedAt must be Unix seconds."))
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise TermsRefused("bad_typed_data", Detail("message.issuedAt must be Unix seconds."))
    return int(text)


def _signature_bytes(signature: Any) -> bytes:
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise TermsRefused("bad_signature", Detail("signature must be 0x-hex (65 bytes)."))
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        raise TermsRefused(
            "bad_signature", Detail("signature must be 0x-hex (65 bytes).")
        ) from None
    if len(raw) != 65:
        raise TermsRefused(
            "bad_signature", Detail("signature is %(count)s bytes, not 65.", count=len(raw))
        )
    if int.from_bytes(raw[32:64], "big") > _SECP256K1_HALF_N:
        raise TermsRefused(
            "bad_signature", Detail("signature has a high s value (EIP-2); re-sign it.")
        )
    return raw


def verify(submitted: Any, signature: Any, expected: Expected, *, now: int) -> tuple[dict, str]:
    """Check a submitted ``typedData`` and ``signature`` against ``expected`` at Unix time
    ``now``. Returns (the canonical typed data as verified, the lowercase signature hex);
    raises ``TermsRefused`` naming the first problem: bad_typed_data, wrong_chain, wrong_dao,
    wrong_member, terms_changed, licenses_changed, stale_terms, issued_in_future,
    bad_signature or wrong_signer."""
    if not isinstance(submitted, Mapping):
        raise TermsRefused(
            "bad_typed_data", Detail("typedData must be the JSON object you signed.")
        )
    if submitted.get("primaryType") != PRIMARY_TYPE:
        raise TermsRefused(
            "bad_typed_data",
            Detail("typedData.primaryType must be %(primary_type)s.", primary_type=PRIMARY_TYPE),
        )
    domain, message = submitted.get("domain"), submitted.get("message")
    if not isinstance(domain, Mapping) or not isinstance(message, Mapping):
        raise TermsRefused(
            "bad_typed_data", Detail("typedData needs a domain and a message object.")
        )
    if (domain.get("name"), domain.get("version")) != (DOMAIN_NAME, DOMAIN_VERSION):
        raise TermsRefused(
            "bad_typed_data",
            Detail(
                'typedData.domain must be name "%(domain_name)s", version "1".',
                domain_name=DOMAIN_NAME,
            ),
        )
    chain = _field(domain, "chainId", "domain")
    if isinstance(chain, bool) or str(chain) != str(expected.chain_id):
        raise TermsRefused(
            "wrong_chain",
            Detail(
                "The terms were signed for chain %(chain)s; this DAO is on "
                "chain %(chain_id)s. Switch your wallet to chain "
                "%(chain_id)s and sign again.",
                chain=str(chain)[:24],
                chain_id=expected.chain_id,
            ),
        )
    if str(_field(message, "daoId", "message")).lower() != expected.dao_id:
        raise TermsRefused("wrong_dao", Detail("The terms were signed for another DAO (daoId)."))
    member = _field(message, "member", "message")
    if not isinstance(member, str) or not is_address(member):
        raise TermsRefused("bad_typed_data", Detail("message.member must be an Ethereum address."))
    if to_checksum_address(member) != expected.member:
        raise TermsRefused(
            "wrong_member",
            Detail(
                "The terms name %(to_checksum_address)s as the member; you "
                "are signed in as %(member)s.",
                to_checksum_address=to_checksum_address(member),
                member=expected.member,
            ),
        )
    if str(_field(message, "termsHash", "message")).lower() != expected.terms_hash:
        raise TermsRefused(
            "terms_changed",
            Detail(
                "The DAO's terms have changed since you signed them: fetch "
                "the current terms and sign again."
            ),
        )
    if _field(message, "licenses", "message") != expected.licenses:
        raise TermsRefused(
            "licenses_changed",
            Detail(
                "The licences of the DAO's open datasets have changed since "
                "you signed: fetch the current terms and sign again."
            ),
        )
    issued_at = _issued_at(_field(message, "issuedAt", "message"))
    if issued_at > now + MAX_SKEW_SECONDS:
        raise TermsRefused("issued_in_future", Detail("message.issuedAt is in the future."))
    if now - issued_at > MAX_AGE_SECONDS:
        raise TermsRefused(
            "stale_terms",
            Detail(
                "The signed terms are %(value)s seconds old (at most "
                "%(max_age_seconds)s): sign them again.",
                value=now - issued_at,
                max_age_seconds=MAX_AGE_SECONDS,
            ),
        )
    raw = _signature_bytes(signature)
    canonical = typed_data(expected, issued_at=issued_at)
    try:
        signer = Account.recover_message(encode_typed_data(full_message=canonical), signature=raw)
    except Exception as exc:  # eth-account raises several types for a malformed signature
        raise TermsRefused(
            "bad_signature", Detail("The signature cannot be recovered: %(exc)s", exc=exc)
        ) from None
    if signer != expected.member:
        raise TermsRefused(
            "wrong_signer",
            Detail(
                "The terms were signed by %(signer)s, not by %(member)s: "
                "sign with the wallet you are signed in with.",
                signer=signer,
                member=expected.member,
            ),
        )
    return canonical, "0x" + raw.hex()
