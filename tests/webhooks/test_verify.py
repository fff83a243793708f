"""The signature helper a receiver copies (``webhooks/verify.py``): Stripe's convention,
HMAC-SHA256 over "<t>.<body>", with a replay window."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhooks.verify import SignatureError, signature_header, verify

SECRET = "whsec_" + "ab" * 32
BODY = b'{"id":1,"type":"contribution.pinned"}'
NOW = 1_800_000_000


def test_a_signed_body_verifies_and_the_header_is_stripes_shape() -> None:
    header = signature_header(SECRET, NOW, BODY)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert verify(BODY, header, SECRET, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    ("body", "secret", "message"),
    [
        (BODY + b" ", SECRET, "no signature matches"),
        (BODY.replace(b"1", b"2"), SECRET, "no signature matches"),
        (BODY, "whsec_" + "cd" * 32, "no signature matches"),
    ],
    ids=["body-appended", "body-changed", "other-secret"],
)
def test_a_changed_body_or_another_secret_is_refused(
    body: bytes, secret: str, message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(body, signature_header(SECRET, NOW, BODY), secret, now=NOW)


def test_a_delivery_older_than_the_replay_window_is_refused() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert verify(BODY, header, SECRET, now=NOW + 300) == NOW  # the edge of the window
    with pytest.raises(SignatureError, match=r"301 s old or ahead, more than the 300 s allowed"):
        verify(BODY, header, SECRET, now=NOW + 301)
    with pytest.raises(SignatureError, match="more than the 60 s allowed"):
        verify(BODY, header, SECRET, now=NOW + 61, tolerance=60)
    # A timestamp from the future (a clock that is off, or a forged t=) is refused the same way.
    with pytest.raises(SignatureError, match="old or ahead"):
        verify(BODY, header, SECRET, now=NOW - 301)


def test_a_replayed_signature_with_a_fresh_timestamp_does_not_verify() -> None:
    """Changing t= to pass the window breaks the signature: the timestamp is signed."""
    old = signature_header(SECRET, NOW, BODY)
    forged = old.replace(f"t={NOW}", f"t={NOW + 3600}")
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(BODY, forged, SECRET, now=NOW + 3600)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "no X-Datadao-Signature header"),
        ("", "no X-Datadao-Signature header"),
        ("v1=abc", "no t= or no v1= part"),
        (f"t={NOW}", "no t= or no v1= part"),
        (f"t=soon,v1={'0' * 64}", "not an integer"),
        (f"t={NOW},v0={'0' * 64}", "no t= or no v1= part"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(header: str | None, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(BODY, header, SECRET, now=NOW)


def test_one_matching_signature_among_several_is_enough() -> None:
    """While a secret is rotated a sender may sign with both; the receiver needs one match."""
    good = signature_header(SECRET, NOW, BODY).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    assert verify(BODY, header, SECRET, now=NOW) == NOW
