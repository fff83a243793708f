"""The text a validator signs (EIP-191 ``personal_sign``) to authenticate one API request.
Pure: no Django imports.

A validator may run anywhere, with no account and no database of this platform: its key is
its identity. Each request carries three headers, ``X-Datadao-Validator`` (its address),
``X-Datadao-Timestamp`` (Unix seconds) and ``X-Datadao-Signature`` (over ``request_text``),
which bind the signature to this platform's host, the method, the path with its query, the
time and the body's SHA-256. A captured request cannot be sent to another platform, to another
path or with another body, and is refused once older than the allowed age; within that age a
replay can only repeat the same request, and every write of the validator API is idempotent.
The client (``datadao_client.validators``, the SDK ``datadao validator run`` speaks through)
builds the same text.
"""

from __future__ import annotations

import hashlib

HEADER_VALIDATOR = "X-Datadao-Validator"
HEADER_TIMESTAMP = "X-Datadao-Timestamp"
HEADER_SIGNATURE = "X-Datadao-Signature"


def request_text(*, host: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    """What the validator signs: one ``name: value`` line per bound part."""
    return (
        "datadao validator request\n"
        f"host: {host}\n"
        f"method: {method.upper()}\n"
        f"path: {path}\n"
        f"timestamp: {timestamp}\n"
        f"body-sha256: {hashlib.sha256(body).hexdigest()}"
    )
