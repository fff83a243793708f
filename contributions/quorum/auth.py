"""Who is calling the validator API: the address whose key signed the request
(``signed_request``), checked against the clock and the exact request."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

from contributions.quorum.errors import ValidatorRequestUnauthenticated
from contributions.quorum.signed_request import (
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_VALIDATOR,
    request_text,
)
from datadao.errors import Detail


def request_validator(request: HttpRequest) -> str:
    """The checksummed address that signed ``request``, or ``ValidatorRequestUnauthenticated``
    (401) saying what is missing or wrong. Says nothing about membership of any set."""
    address = request.headers.get(HEADER_VALIDATOR, "").strip()
    stamp = request.headers.get(HEADER_TIMESTAMP, "").strip()
    signature = request.headers.get(HEADER_SIGNATURE, "").strip()
    if not (address and stamp and signature):
        raise ValidatorRequestUnauthenticated(
            Detail(
                "Sign the request with your validator key: headers "
                "%(header_validator)s (your address), %(header_timestamp)s "
                "(Unix seconds) and %(header_signature)s (EIP-191 "
                "personal_sign over the host, method, path, timestamp and "
                "body SHA-256).",
                header_validator=HEADER_VALIDATOR,
                header_timestamp=HEADER_TIMESTAMP,
                header_signature=HEADER_SIGNATURE,
            )
        )
    if not is_address(address):
        raise ValidatorRequestUnauthenticated(
            Detail(
                "%(header_validator)s is not an Ethereum address.",
                header_validator=HEADER_VALIDATOR,
            )
        )
    address = to_checksum_address(address)
    if not stamp.isdigit():
        raise ValidatorRequestUnauthenticated(
            Detail("%(header_timestamp)s must be Unix seconds.", header_timestamp=HEADER_TIMESTAMP)
        )
    skew = abs(time.time() - int(stamp))
    allowed = settings.VALIDATOR_REQUEST_MAX_AGE_SECONDS
    if skew > allowed:
        raise ValidatorRequestUnauthenticated(
            Detail(
                "The request was signed for a time %(skew)s s away from the "
                "server's clock; at most %(allowed)s s are allowed. Check "
                "your clock and sign a fresh request.",
                skew=format(skew, ".0f"),
                allowed=allowed,
            )
        )
    text = request_text(
        host=request.get_host(),
        method=request.method or "GET",
        path=request.get_full_path(),
        timestamp=int(stamp),
        body=request.body,
    )
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # eth-account raises a variety on a malformed signature
        signer = None
    if signer != address:
        raise ValidatorRequestUnauthenticated(
            Detail(
                "The request's signature does not recover to %(address)s "
                "over this request (host %(get_host)s, %(method)s "
                "%(get_full_path)s, its timestamp and body): sign exactly "
                "the request sent, with that address's key.",
                address=address,
                get_host=request.get_host(),
                method=request.method,
                get_full_path=request.get_full_path(),
            )
        )
    return address
