"""Every HTTP call of the validator client: the platform's validator API, each request signed
by the validator's key. Only ``requests`` and eth-account, so it moves onto a client SDK as
it is.

Each request carries ``X-Datadao-Validator`` (the address), ``X-Datadao-Timestamp`` (Unix
seconds) and ``X-Datadao-Signature``: an EIP-191 ``personal_sign`` over ``request_text``,
which binds the platform's host, the method, the path with its query, the time and the body's
SHA-256 (the server's copy: ``contributions.quorum.signed_request``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from datadao_validator.i18n import _

TIMEOUT = (10, 120)  # connect, read
CHUNK = 1 << 16


class ApiError(Exception):
    """A refusal (4xx/5xx) or an unreachable server; ``status`` is None for the latter."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def request_text(*, host: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    """What the validator signs for one request (the server checks the same text)."""
    return (
        "datadao validator request\n"
        f"host: {host}\n"
        f"method: {method.upper()}\n"
        f"path: {path}\n"
        f"timestamp: {timestamp}\n"
        f"body-sha256: {hashlib.sha256(body).hexdigest()}"
    )


class ValidatorApi:
    """The platform at ``base_url``, called as ``account``."""

    def __init__(
        self, base_url: str, account: LocalAccount, *, language: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self.account = account
        self.session = requests.Session()
        if language:  # the platform's refusals in this language (their codes do not change)
            self.session.headers["Accept-Language"] = language

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        stamp = int(time.time())
        text = request_text(host=self.host, method=method, path=path, timestamp=stamp, body=body)
        signature = self.account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        return {
            "X-Datadao-Validator": self.account.address,
            "X-Datadao-Timestamp": str(stamp),
            "X-Datadao-Signature": signature,
        }

    def _send(self, method: str, path: str, body: bytes = b"", **kwargs: Any) -> requests.Response:
        headers = self._headers(method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                data=body or None,
                headers=headers,
                timeout=TIMEOUT,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ApiError(
                _("{url} cannot be reached: {error}").format(url=self.base_url, error=exc)
            ) from None
        if response.status_code >= 400:
            try:
                error = response.json()
                code, detail = str(error.get("error", "")), str(error.get("detail", ""))
            except ValueError:
                code, detail = "", response.text[:300]
            raise ApiError(
                f"{method} {path}: {response.status_code} {code}: {detail}",
                status=response.status_code,
                code=code,
            )
        return response

    def work(self) -> list[dict[str, Any]]:
        """The contributions waiting for this validator's attestation."""
        return list(self._send("GET", "/api/validators/work").json()["contributions"])

    @contextmanager
    def content(self, item: dict[str, Any], directory: Path) -> Iterator[Path]:
        """The contribution's bytes in a file under ``directory`` while the block runs."""
        path = directory / f"contribution-{int(item['id'])}"
        response = self._send("GET", item["content_url"], stream=True)
        try:
            with path.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
            yield path
        finally:
            response.close()
            path.unlink(missing_ok=True)

    def attest(self, item: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Post an attestation; the server's answer (outcome, status)."""
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return dict(self._send("POST", item["attestations_url"], data).json())
