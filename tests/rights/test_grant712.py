"""rights.grant712, the pure EIP-712 AccessGrant: round trip, and each refusal of form."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
from eth_account import Account

from rights import grant712
from rights.grant712 import Grant, GrantRefused

DAO_ID = "0x" + "ab" * 32
DATASET_ID = "0x" + "cd" * 32
SIGNER = Account.create()
GRANTEE = Account.create().address


def _grant(**changes: Any) -> Grant:
    fields: dict[str, Any] = {
        "grantee": GRANTEE,
        "dao_id": DAO_ID,
        "dataset_id": DATASET_ID,
        "release_cid": "",
        "scope": "download",
        "expires_at": 2_000_000_000,
        "nonce": 2**200 + 7,
    }
    return Grant(**{**fields, **changes})


def _signed(grant: Grant | None = None, chain_id: int = 31337) -> tuple[dict[str, Any], str]:
    payload = grant712.typed_data(grant or _grant(), chain_id=chain_id)
    return payload, grant712.sign(payload, SIGNER)


def test_round_trip_recovers_the_signer_and_the_fields() -> None:
    payload, signature = _signed()
    parsed = grant712.parse(payload, chain_id=31337, dao_id=DAO_ID)
    assert parsed == _grant()
    canonical, sig, signer = grant712.recover(parsed, signature, chain_id=31337)
    assert signer == SIGNER.address
    assert canonical == payload and sig == signature.lower()
    # uint256 fields travel as decimal strings: JavaScript numbers would round them.
    assert payload["message"]["nonce"] == str(2**200 + 7)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grantee", Account.from_key("0x" + "42" * 32).address),
        ("datasetId", "0x" + "ce" * 32),
        ("releaseCid", "bafkreiarixhwaaxb42h2sceueinbw7ztg2mnixmnqr3p5ruym5mkyosdtq"),
        ("scope", "query"),
        ("expiresAt", "2000000001"),
        ("nonce", "8"),
    ],
)
def test_a_tampered_field_recovers_to_another_address(field: str, value: str) -> None:
    payload, signature = _signed()
    tampered = deepcopy(payload)
    tampered["message"][field] = value
    parsed = grant712.parse(tampered, chain_id=31337, dao_id=DAO_ID)
    assert grant712.recover(parsed, signature, chain_id=31337)[2] != SIGNER.address


def test_submitted_types_are_never_trusted() -> None:
    """A payload whose types drop a field still recovers over the full canonical struct."""
    payload, signature = _signed()
    doctored = deepcopy(payload)
    doctored["types"]["AccessGrant"] = doctored["types"]["AccessGrant"][:3]
    parsed = grant712.parse(doctored, chain_id=31337, dao_id=DAO_ID)
    assert grant712.recover(parsed, signature, chain_id=31337)[2] == SIGNER.address


def test_another_chain_or_another_dao_is_refused() -> None:
    payload, _ = _signed(chain_id=1)
    with pytest.raises(GrantRefused) as chain:
        grant712.parse(payload, chain_id=31337, dao_id=DAO_ID)
    assert chain.value.code == "wrong_chain"
    payload, _ = _signed()
    with pytest.raises(GrantRefused) as dao:
        grant712.parse(payload, chain_id=31337, dao_id="0x" + "ef" * 32)
    assert dao.value.code == "wrong_dao" and "another DAO" in dao.value.message


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda p: p.update(primaryType="JoinTerms"), "primaryType must be AccessGrant"),
        (lambda p: p.pop("message"), "needs a domain and a message"),
        (lambda p: p["domain"].update(name="other"), 'name "datadao"'),
        (lambda p: p["message"].pop("nonce"), "message.nonce is missing"),
        (lambda p: p["message"].update(nonce="-1"), "nonce must be a whole number"),
        (lambda p: p["message"].update(nonce=True), "nonce must be a whole number"),
        (lambda p: p["message"].update(nonce=str(2**256)), "nonce must fit in uint256"),
        (lambda p: p["message"].update(expiresAt="1e9"), "expiresAt must be a whole number"),
        (lambda p: p["message"].update(grantee="0x12"), "grantee must be an Ethereum address"),
        (lambda p: p["message"].update(grantee=7), "grantee must be a string"),
        (lambda p: p["message"].update(datasetId="0x" + "00" * 32), "dataset_id must be"),
        (lambda p: p["message"].update(releaseCid="../etc"), "releaseCid must be a CID"),
        (lambda p: p["message"].update(scope="admin"), "scope must be one of download, query"),
    ],
)
def test_malformed_typed_data_is_refused_naming_the_problem(mutate: Any, words: str) -> None:
    payload, _ = _signed()
    payload = deepcopy(payload)
    mutate(payload)
    with pytest.raises(GrantRefused) as refused:
        grant712.parse(payload, chain_id=31337, dao_id=DAO_ID)
    assert refused.value.code == "bad_typed_data" and words in refused.value.message


@pytest.mark.parametrize(
    ("signature", "words"),
    [
        (None, "0x-hex"),
        ("0xzz", "0x-hex"),
        ("0x" + "11" * 64, "64 bytes, not 65"),
        # s above n/2 (EIP-2): the twin of a valid signature must not count as another one.
        ("0x" + "11" * 32 + "ff" * 32 + "1b", "high s value"),
    ],
)
def test_bad_signatures_are_refused(signature: Any, words: str) -> None:
    with pytest.raises(GrantRefused) as refused:
        grant712.recover(_grant(), signature, chain_id=31337)
    assert refused.value.code == "bad_signature" and words in refused.value.message


def test_a_checksum_typo_in_the_grantee_is_normalised_not_trusted() -> None:
    payload, signature = _signed()
    payload = deepcopy(payload)
    payload["message"]["grantee"] = GRANTEE.lower()
    parsed = grant712.parse(payload, chain_id=31337, dao_id=DAO_ID)
    assert parsed.grantee == GRANTEE
    assert grant712.recover(parsed, signature, chain_id=31337)[2] == SIGNER.address
