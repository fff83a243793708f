"""A small HTTP client for the datadao API. No Django: the contributor's machine has none of
the server's settings.

Signs in with Sign-In with Ethereum using a local key, then uploads files with an ownership
signature, streaming each file (constant memory, explicit Content-Length: Django needs one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

CHUNK = 1024 * 1024


def ownership_message(site: str, dataset_pk: int, sha256_hex: str) -> str:
    """The EIP-191 text a contributor signs to prove they own an upload to dataset
    ``dataset_pk`` of the platform at ``site`` (its host[:port], as in sign-in messages).

    The server checks the same text (``contributions.attestation.ownership_message``; a test
    holds the two equal): the client carries its own copy so that it imports nothing of the
    server.
    """
    return f"datadao-contribution:{site}:{dataset_pk}:{sha256_hex}"


class ClientError(Exception):
    """A request that did not succeed: the server's refusal (HTTP status, its stable error
    code and its own explanation) or a connection that failed (status 0)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}" if status else f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Multipart:
    """A streamed multipart body: small parts in memory, the file read chunk by chunk."""

    path: Path
    fields: dict[str, str]
    boundary: str
    # Called with (bytes of the file sent, file size) after each chunk.
    progress: Callable[[int, int], None] | None = None

    def _head(self) -> bytes:
        parts = []
        for name, value in self.fields.items():
            parts.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n"
            )
        safe_name = self.path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{safe_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        return "".join(parts).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head()) + self.path.stat().st_size + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        yield self._head()
        size, sent = self.path.stat().st_size, 0
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
                sent += len(chunk)
                if self.progress is not None:
                    self.progress(sent, size)
        yield self._tail()


class DatadaoClient:
    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        # The host ownership signatures name: the server's sign-in domain once signed in
        # (it may differ from the URL behind a proxy), until then the URL's host.
        self.site = urlsplit(self.base_url).netloc
        self.timeout = timeout
        self.session = requests.Session()

    def _check(self, response: requests.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:300]}
        if response.status_code >= 400:
            if not isinstance(body, dict):
                body = {"detail": str(body)[:300]}
            raise ClientError(
                response.status_code,
                str(body.get("error") or "http_error"),
                str(body.get("detail") or response.reason),
            )
        return body

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; a connection that fails is a ClientError like a refusal."""
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise ClientError(0, "connection_error", f"{self.base_url}: {exc}") from None
        return self._check(response)

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.session.cookies.get("csrftoken", "")}

    def sign_in(self, account: LocalAccount, chain_id: int | None = None) -> str:
        # The nonce is issued for this address (and chain: the site's first allowed one unless
        # given), so only this account's signature can use it.
        params: dict[str, str | int] = {"address": account.address}
        if chain_id:
            params["chain_id"] = chain_id
        body = self._send("GET", "/auth/nonce", params=params)
        message = body["message"]
        # EIP-4361's first line: "[scheme://]<domain> wants you to sign in with your
        # Ethereum account:"; the domain is the site the server checks ownership texts for.
        self.site = message.split(" ", 1)[0].split("://", 1)[-1]
        signature = account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
        result = self._send(
            "POST",
            "/auth/verify",
            json={"message": message, "signature": signature},
            headers=self._csrf() | {"Referer": f"{self.base_url}/"},
        )
        return str(result["address"])

    def upload(
        self,
        dataset_id: int,
        path: Path,
        account: LocalAccount | None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, str] = {}
        if account is not None:
            text = ownership_message(self.site, dataset_id, sha256_file(path))
            fields["signature"] = account.sign_message(
                encode_defunct(text=text)
            ).signature.to_0x_hex()
        body = _Multipart(
            path=path, fields=fields, boundary=secrets.token_hex(16), progress=progress
        )
        headers = self._csrf() | {
            "Content-Type": f"multipart/form-data; boundary={body.boundary}",
            "Content-Length": str(len(body)),
            "Referer": f"{self.base_url}/",
        }
        return self._send(
            "POST", f"/api/datasets/{dataset_id}/contributions", data=body, headers=headers
        )

    def contribution(self, contribution_id: int) -> dict[str, Any]:
        return self._send("GET", f"/api/contributions/{contribution_id}")
