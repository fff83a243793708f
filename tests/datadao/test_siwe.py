"""EIP-4361 parser, builder and signature checks (pure), against the siwe npm package's vectors."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given
from hypothesis import strategies as st

from datadao.siwe import (
    SECP256K1_N,
    SiweError,
    SiweMessage,
    check_times,
    parse_message,
    verify_signature,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors/siwe/vectors.json").read_text())
FIELD_MAP = {
    "scheme": "scheme",
    "domain": "domain",
    "address": "address",
    "statement": "statement",
    "uri": "uri",
    "version": "version",
    "chainId": "chain_id",
    "nonce": "nonce",
    "issuedAt": "issued_at",
    "expirationTime": "expiration_time",
    "notBefore": "not_before",
    "requestId": "request_id",
}


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_npm_vectors_parse_to_the_same_fields(vector: dict) -> None:
    parsed = parse_message(vector["message"])
    for js_key, py_key in FIELD_MAP.items():
        assert getattr(parsed, py_key) == vector["fields"][js_key], js_key
    assert list(parsed.resources) == vector["fields"]["resources"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_our_builder_reproduces_the_npm_text_byte_for_byte(vector: dict) -> None:
    assert parse_message(vector["message"]).to_text() == vector["message"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_npm_signatures_verify(vector: dict) -> None:
    verify_signature(vector["message"], vector["signature"], vector["fields"]["address"])


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_texts_the_npm_parser_refuses_are_refused(case: dict) -> None:
    assert case["npmRefused"]
    with pytest.raises(SiweError) as excinfo:
        parse_message(case["message"])
    assert excinfo.value.code == "malformed"


GOOD = VECTORS["vectors"][1]["message"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        (GOOD.replace("example.org wants", "exаmple.org wants"), "ASCII domain"),  # Cyrillic а
        (GOOD.replace("\n\nURI", "\nURI"), "followed by an empty line"),
        (GOOD.replace("Chain ID: 1", "Chain ID: one"), "'Chain ID' field is not valid"),
        (GOOD.replace("Version: 1", "Version: 2"), "'Version' field is not valid"),
        (GOOD + "\nExtra: line", "Unexpected content on line"),
        (
            GOOD + "\nResources:\n" + "\n".join(f"- https://e.org/{i}" for i in range(40)),
            "At most 32",
        ),
        (GOOD + "\nResources:\n- not a uri", "Resource line 1"),
        (GOOD.replace("Sign in", "Sign <script> in"), "statement may only hold"),
        (GOOD + "x" * 9000, "longer than 8192 bytes"),
    ],
)
def test_malformed_messages_name_the_fault(text: str, expected: str) -> None:
    with pytest.raises(SiweError) as excinfo:
        parse_message(text)
    assert expected in str(excinfo.value)


def _message(**changes: object) -> SiweMessage:
    base = parse_message(GOOD)
    return replace(base, **changes)


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=60)
MAX_AGE = timedelta(seconds=300)


def test_times_accept_a_current_message() -> None:
    check_times(
        _message(expiration_time="2026-11-28T12:05:00Z"), now=NOW, skew=SKEW, max_age=MAX_AGE
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"expiration_time": "2026-11-28T11:58:00Z"}, "expired"),
        ({"not_before": "2026-11-28T12:10:00.123456789Z"}, "not_yet_valid"),
        ({"issued_at": "2026-11-28T13:00:00+01:00"}, None),  # same instant as NOW: fine
        ({"issued_at": "2026-11-28T12:30:00Z"}, "not_yet_valid"),
        ({"issued_at": "2026-11-28T12:01:00Z"}, None),  # ahead, within the skew
        ({"issued_at": "2026-11-28T11:54:00Z"}, None),  # max_age + skew ago: the oldest taken
        ({"issued_at": "2026-11-28T11:53:59.999Z"}, "stale_message"),
        ({"issued_at": "2016-11-28T12:00:00Z"}, "stale_message"),
    ],
)
def test_time_refusals(changes: dict, code: str | None) -> None:
    message = _message(**changes)
    if code is None:
        check_times(message, now=NOW, skew=SKEW, max_age=MAX_AGE)
        return
    with pytest.raises(SiweError) as excinfo:
        check_times(message, now=NOW, skew=SKEW, max_age=MAX_AGE)
    assert excinfo.value.code == code
    if code == "stale_message":
        assert str(excinfo.value) == (
            "The message's 'Issued At' is more than 300 seconds ago; ask for a new nonce and "
            "sign again."
        )


def _sign(text: str, account) -> str:  # type: ignore[no-untyped-def]
    return account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()


def test_signature_refusals() -> None:
    account, other = Account.create(), Account.create()
    text = _message(address=account.address).to_text()
    good = _sign(text, account)
    verify_signature(text, good, account.address)

    with pytest.raises(SiweError, match="65 bytes"):
        verify_signature(text, "0xdeadbeef", account.address)
    with pytest.raises(SiweError) as excinfo:
        verify_signature(text, _sign(text, other), account.address)
    assert excinfo.value.code == "wrong_signer"
    with pytest.raises(SiweError):  # signature over another text
        verify_signature(text + " ", good, account.address)

    # The malleable twin: s' = n - s with v flipped recovers the same key, and must be refused.
    raw = bytes.fromhex(good[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    high = "0x" + (r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])).hex()
    with pytest.raises(SiweError, match="high s"):
        verify_signature(text, high, account.address)

    garbage = "0x" + "ff" * 65
    with pytest.raises(SiweError) as excinfo:
        verify_signature(text, garbage, account.address)
    assert excinfo.value.code == "bad_signature"


@given(st.text(max_size=600))
def test_parser_never_raises_anything_but_siwe_error(text: str) -> None:
    with contextlib.suppress(SiweError):
        parse_message(text)


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=200))
def test_mutated_statement_lines_are_parsed_or_refused_cleanly(statement: str) -> None:
    text = GOOD.replace("Sign in to datadao to contribute.", statement)
    try:
        parsed = parse_message(text)
    except SiweError:
        return
    assert parsed.to_text() == text
