"""Webhook signatures: how the platform signs a delivery and how a receiver checks it.

Standard library only, so a receiver can copy this file as it is. The convention is Stripe's:

    X-Datadao-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The key is the endpoint's secret exactly as shown once when the endpoint was made (the whole
``whsec_...`` string, as UTF-8). The timestamp is signed with the body, so a captured delivery
cannot be replayed later than ``tolerance`` seconds after it was signed; a receiver that also
remembers the ``X-Datadao-Delivery`` ids it has handled refuses replays inside the window too.
Several ``v1=`` values may appear (while a secret is rotated); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Datadao-Signature"
EVENT_HEADER = "X-Datadao-Event"
DELIVERY_HEADER = "X-Datadao-Delivery"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The delivery is not authentic, or too old: refuse it (answer 400)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``X-Datadao-Signature`` for ``body`` sent at ``timestamp``."""
    return f"t={int(timestamp)},{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``header`` (the ``X-Datadao-Signature`` value) against the raw request ``body``;
    returns the signed timestamp. Raises ``SignatureError`` when the header is missing or
    malformed, no signature matches, or the timestamp is more than ``tolerance`` seconds
    away from ``now``. Pass the body exactly as received, before any JSON parsing."""
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the signature's timestamp is not an integer") from None
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"the {SIGNATURE_HEADER} header has no t= or no {SCHEME}= part")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"the signature is {abs(current - timestamp):.0f} s old or ahead, more than the "
            f"{tolerance} s allowed: a replay, or a clock that is off"
        )
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("no signature matches this body and secret")
    return timestamp
