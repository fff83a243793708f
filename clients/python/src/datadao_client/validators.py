"""The validator API, for a DAO's validator running anywhere on its own key: the contributions
waiting for its attestation, their bytes, and posting its signed verdict.

No session and no API token: each request is signed by the validator's key. It carries
``X-Datadao-Validator`` (the address), ``X-Datadao-Timestamp`` (Unix seconds) and
``X-Datadao-Signature``, an EIP-191 ``personal_sign`` over ``request_text``, which binds the
platform's host, the method, the path with its query, the time and the body's SHA-256 (the
platform checks the same text: ``contributions.quorum.signed_request``). A captured request
cannot be replayed elsewhere, on another path or with another body; each attempt of a retried
request is signed anew, at its own time.

    validator = ValidatorClient("https://data.example.org", account)
    for item in validator.work()["contributions"]:
        validator.download_content(item["id"], Path("work") / str(item["id"]))
        ...  # validate and score, sign a ValidatorAttestation
        validator.attest(item["id"], {"attestation": ..., "signature": ..., "reasons": []})

Judging a contribution and signing the attestation is the validator's own code
(``datadao validator run``); this module only speaks the API.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from datadao_client.transport import RetryPolicy, Transport
from datadao_client.types import ValidatorAttested, ValidatorWork

HEADER_VALIDATOR = "X-Datadao-Validator"
HEADER_TIMESTAMP = "X-Datadao-Timestamp"
HEADER_SIGNATURE = "X-Datadao-Signature"


def request_text(*, host: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    """What the validator signs for one request: one ``name: value`` line per bound part."""
    return (
        "datadao validator request\n"
        f"host: {host}\n"
        f"method: {method.upper()}\n"
        f"path: {path}\n"
        f"timestamp: {timestamp}\n"
        f"body-sha256: {hashlib.sha256(body).hexdigest()}"
    )


class ValidatorSigner:
    """Signs requests to the platform at ``host`` with ``account``'s key (a
    ``transport.RequestSigner``); ``clock`` gives the Unix time a signature is made at."""

    def __init__(
        self, account: LocalAccount, host: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.account = account
        self.host = host
        self.clock = clock

    def __call__(self, method: str, path: str, body: bytes) -> dict[str, str]:
        stamp = int(self.clock())
        text = request_text(host=self.host, method=method, path=path, timestamp=stamp, body=body)
        signature = self.account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        return {
            HEADER_VALIDATOR: self.account.address,
            HEADER_TIMESTAMP: str(stamp),
            HEADER_SIGNATURE: signature,
        }


class ValidatorClient:
    """The validator API of the platform at ``base_url``, every request signed by ``account``.

    Refusals are ``ApiError`` as everywhere in the SDK: 401 for a signature the platform does
    not accept (a clock too far from its own, another host), 403 for an address in no DAO's
    validator set, status 0 for a platform that cannot be reached. Reads are retried after a
    lost connection or a 5xx (``retry``); so is posting an attestation, which the platform
    records once (the same attestation again answers 200).
    """

    def __init__(
        self,
        base_url: str,
        account: LocalAccount,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        language: str | None = None,
    ) -> None:
        self.account = account
        signer = ValidatorSigner(account, urlsplit(base_url).netloc, clock=clock)
        self._http = Transport(
            base_url, timeout=timeout, retry=retry, sleep=sleep, signer=signer, language=language
        )

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def work(self) -> ValidatorWork:
        """The contributions waiting for this validator's attestation in every DAO whose
        validator set lists it (oldest first, at most 50), each with what judging it needs."""
        return cast(ValidatorWork, self._http.json("validator_work"))

    def download_content(self, contribution_id: int, out: Path) -> Path:
        """Write a contribution's bytes, as its contributor sent them, to the file ``out``
        (nothing is left there when it fails)."""
        return self._http.download(
            "validator_content", out, path={"contribution_id": contribution_id}
        )

    def download_ciphertext(self, contribution_id: int, out: Path) -> Path:
        """Write a sealed contribution's stored bytes, the ones its CID addresses, to the file
        ``out``, so the validator can recompute that CID before signing it (404 for a
        contribution that is not sealed)."""
        return self._http.download(
            "validator_ciphertext", out, path={"contribution_id": contribution_id}
        )

    def attest(self, contribution_id: int, attestation: Mapping[str, Any]) -> ValidatorAttested:
        """Post this validator's signed attestation (``attestation``, ``signature``,
        ``reasons``); the platform's answer: whether it was recorded or a repeat, and the
        contribution's status after the quorum's decision."""
        body = json.dumps(dict(attestation), sort_keys=True, separators=(",", ":")).encode()
        return cast(
            ValidatorAttested,
            self._http.json(
                "validator_attest",
                path={"contribution_id": contribution_id},
                data=body,
                headers={"Content-Type": "application/json"},
                retry=self._http.retry,
            ),
        )
