"""Sign-In with Ethereum over HTTP: the happy path and every refusal, against PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from datadao.models import AuditEvent, SiweNonce, User
from datadao.siwe import SECP256K1_N, parse_message

pytestmark = pytest.mark.django_db


def _nonce(client: Client, address: str, chain_id: int = 1) -> dict[str, Any]:
    response = client.get("/auth/nonce", {"address": address, "chain_id": chain_id})
    assert response.status_code == 200, response.content
    return response.json()


def _sign(text: str, account) -> str:  # type: ignore[no-untyped-def]
    return account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()


def _verify(client: Client, message: str, signature: str) -> Any:
    return client.post(
        "/auth/verify",
        data=json.dumps({"message": message, "signature": signature}),
        content_type="application/json",
    )


def test_nonce_is_single_use_random_and_expires_in_five_minutes(client: Client) -> None:
    address = Account.create().address
    first = _nonce(client, address.lower(), chain_id=11155111)
    second = _nonce(client, address)
    assert first["nonce"] != second["nonce"]
    assert len(first["nonce"]) == 32 and int(first["nonce"], 16) >= 0  # 128 bits of hex
    row = SiweNonce.objects.get(nonce=first["nonce"])
    assert timedelta(seconds=299) < row.expires_at - row.created_at <= timedelta(seconds=300)
    assert row.consumed_at is None
    assert first["domain"] == "testserver"
    # Issued for the checksummed address and the chain asked for (the first allowed by default).
    assert (row.address, row.chain_id) == (address, 11155111)
    assert (first["address"], first["chain_id"]) == (address, 11155111)
    assert SiweNonce.objects.get(nonce=second["nonce"]).chain_id == 1


def test_nonce_needs_the_address_it_is_for(client: Client) -> None:
    response = client.get("/auth/nonce")
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_address",
        "detail": "address: required; a nonce is issued for one address (0x + 40 hex) and "
        "one chain.",
    }
    assert not SiweNonce.objects.exists()
    assert "csrftoken" in client.cookies  # the page can still read its CSRF cookie from here


def test_a_nonce_issued_for_one_address_does_not_sign_in_another(client: Client) -> None:
    """Attack: take a nonce issued for someone else's address and sign in with it as yourself."""
    victim, attacker = Account.create(), Account.create()
    issued = parse_message(_nonce(client, victim.address)["message"])
    text = replace(issued, address=attacker.address).to_text()
    response = _verify(client, text, _sign(text, attacker))
    assert response.status_code == 401
    assert response.json() == {
        "error": "nonce_address_mismatch",
        "detail": "The nonce was issued for another address; ask for a nonce for "
        f"{attacker.address}.",
    }
    assert not User.objects.filter(address=attacker.address).exists()
    assert "_auth_user_id" not in client.session
    # The refusal burns nothing: the address the nonce is for can still use it.
    message = issued.to_text()
    assert _verify(client, message, _sign(message, victim)).status_code == 200


def test_a_nonce_issued_for_one_chain_does_not_sign_in_on_another(client: Client) -> None:
    account = Account.create()
    issued = parse_message(_nonce(client, account.address, chain_id=1)["message"])
    text = replace(issued, chain_id=11155111).to_text()  # allowed here, but not the nonce's
    response = _verify(client, text, _sign(text, account))
    assert response.status_code == 401
    assert response.json() == {
        "error": "nonce_chain_mismatch",
        "detail": "The nonce was issued for chain 1, not chain 11155111; ask for a nonce for "
        "this chain.",
    }
    assert not SiweNonce.objects.filter(consumed_at__isnull=False).exists()


def test_a_message_issued_long_ago_is_refused_even_with_a_fresh_nonce(client: Client) -> None:
    """Attack: a message whose 'Issued At' is a year old (signed and kept, or back-dated) and
    has no 'Expiration Time'; only its nonce is fresh."""
    account = Account.create()
    issued = parse_message(_nonce(client, account.address)["message"])
    old = (timezone.now() - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = replace(issued, issued_at=old).to_text()
    response = _verify(client, text, _sign(text, account))
    assert response.status_code == 401
    assert response.json() == {
        "error": "stale_message",
        "detail": "The message's 'Issued At' is more than 300 seconds ago; ask for a new nonce "
        "and sign again.",
    }
    assert not SiweNonce.objects.filter(consumed_at__isnull=False).exists()
    # Within the nonce's lifetime (plus the clock skew) it is still accepted.
    recent = (timezone.now() - timedelta(seconds=330)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = replace(issued, issued_at=recent).to_text()
    assert _verify(client, text, _sign(text, account)).status_code == 200


def test_sign_in_happy_path_rotates_the_session_and_logout_kills_it(client: Client) -> None:
    account = Account.create()
    client.get("/")  # an anonymous session exists before sign-in
    client.session.save()
    before = client.cookies.get("sessionid")
    body = _nonce(client, account.address)
    message = body["message"]
    assert parse_message(message).domain == "testserver"
    response = _verify(client, message, _sign(message, account))
    assert response.status_code == 200, response.content
    assert response.json()["address"] == account.address
    session_key = client.cookies["sessionid"].value
    assert before is None or before.value != session_key
    user = User.objects.get(address=account.address)
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(verb="user.signed_in", actor=user).count() == 1
    assert client.get("/auth/me").json() == {
        "authenticated": True,
        "address": account.address,
        "console": False,
    }

    assert client.post("/auth/logout").status_code == 200
    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get("/auth/me").json() == {"authenticated": False}


def test_replayed_message_is_refused(client: Client) -> None:
    account = Account.create()
    message = _nonce(client, account.address)["message"]
    signature = _sign(message, account)
    assert _verify(client, message, signature).status_code == 200
    replay = _verify(Client(), message, signature)
    assert replay.status_code == 401
    assert replay.json()["error"] == "replayed_nonce"


def _custom(client: Client, account, **fields: Any) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    base = parse_message(_nonce(client, account.address)["message"])
    text = replace(base, **fields).to_text()
    return text, _sign(text, account)


@pytest.mark.parametrize(
    ("fields", "status", "code", "words"),
    [
        ({"domain": "evil.example"}, 400, "wrong_domain", "not this site"),
        ({"domain": "testserver:8443"}, 400, "wrong_domain", "not this site"),
        ({"scheme": "https"}, 400, "wrong_domain", "scheme"),
        ({"uri": "http://evil.example/"}, 400, "wrong_uri", "URI must be on"),
        ({"chain_id": 56}, 400, "wrong_chain", "Chain 56 is not allowed"),
        ({"expiration_time": "2020-01-01T00:00:00Z"}, 401, "expired", "expired"),
        ({"not_before": "2099-01-01T00:00:00Z"}, 401, "not_yet_valid", "Not Before"),
        ({"issued_at": "2099-01-01T00:00:00Z"}, 401, "not_yet_valid", "future"),
        ({"issued_at": "2020-01-01T00:00:00Z"}, 401, "stale_message", "more than 300 seconds"),
        ({"nonce": "abcdefgh12345678"}, 401, "unknown_nonce", "not issued by this site"),
    ],
)
def test_refusals(client: Client, fields: dict, status: int, code: str, words: str) -> None:
    account = Account.create()
    text, signature = _custom(client, account, **fields)
    response = _verify(client, text, signature)
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert words in response.json()["detail"]
    assert not User.objects.filter(address=account.address).exists()
    assert "_auth_user_id" not in client.session


def test_expired_nonce_is_refused(client: Client) -> None:
    account = Account.create()
    message = _nonce(client, account.address)["message"]
    SiweNonce.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _verify(client, message, _sign(message, account))
    assert response.status_code == 401
    assert response.json()["error"] == "expired_nonce"


def test_refused_message_does_not_burn_the_nonce(client: Client) -> None:
    account = Account.create()
    message = _nonce(client, account.address)["message"]
    assert _verify(client, message, "0x" + "00" * 65).status_code == 401
    assert _verify(client, message, _sign(message, account)).status_code == 200


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda m, s, a, o: ("not a siwe message", s), 400, "malformed"),
        (lambda m, s, a, o: (m.replace("\n", "\r\n"), s), 400, "malformed"),
        (lambda m, s, a, o: (m, "0x1234"), 401, "bad_signature"),
        (lambda m, s, a, o: (m, "0x" + "ff" * 65), 401, "bad_signature"),
        (lambda m, s, a, o: (m, _sign(m, o)), 401, "wrong_signer"),
    ],
    ids=["malformed", "crlf", "short-signature", "garbage-signature", "other-key"],
)
def test_message_and_signature_refusals(client: Client, mutate, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    account, other = Account.create(), Account.create()
    message = _nonce(client, account.address)["message"]
    text, signature = mutate(message, _sign(message, account), account, other)
    response = _verify(client, text, signature)
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert response.json()["detail"]


def test_high_s_signature_is_refused(client: Client) -> None:
    account = Account.create()
    message = _nonce(client, account.address)["message"]
    raw = bytes.fromhex(_sign(message, account)[2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    response = _verify(client, message, "0x" + twin.hex())
    assert response.status_code == 401
    assert "high s" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "must be JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": 1, "signature": null}', "must be strings"),
    ],
)
def test_bad_bodies_get_400(client: Client, body: bytes, detail: str) -> None:
    response = client.post("/auth/verify", data=body, content_type="application/json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_oversized_body_gets_413(client: Client) -> None:
    response = client.post(
        "/auth/verify",
        data=b'{"message": "' + b"a" * 20000 + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413


def test_nonce_endpoint_refuses_bad_address_and_chain(client: Client) -> None:
    assert client.get("/auth/nonce", {"address": "0x12"}).status_code == 400
    response = client.get("/auth/nonce", {"address": Account.create().address, "chain_id": 56})
    assert response.status_code == 400
    assert "56 is not allowed" in response.json()["detail"]
    assert response.json()["chain_ids"] == [1, 11155111, 31337]  # for the page to name them


def test_verify_requires_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    account = Account.create()
    message = _nonce(client, account.address)["message"]
    response = _verify(client, message, _sign(message, account))
    assert response.status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/auth/verify",
        data=json.dumps({"message": message, "signature": _sign(message, account)}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_get_on_verify_is_405(client: Client) -> None:
    assert client.get("/auth/verify").status_code == 405
