"""One HTTP session with the platform: authentication, retries, and refusals as ``ApiError``.

Authentication is the session cookie Sign-In with Ethereum starts (writes then carry the CSRF
token and a same-origin Referer, as a browser's would), an API token, sent as
``Authorization: Bearer dd_…`` with no cookies at all, or a ``RequestSigner`` that signs each
request itself (a DAO validator's key: ``validators``): it is handed the exact method, path
with query and body bytes that go on the wire, and signed again on every attempt.

Retries: a request that is safe to repeat is repeated after a connection error or a 5xx
answer (not 501, which will not change), waiting as ``Retry-After`` asks or with exponential
backoff. Reads are safe to repeat; of the writes only the upload is, because the platform
refuses a second copy of a file (see ``uploads``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from datadao_client.errors import ApiError, DatadaoError
from datadao_client.routes import OPERATIONS

RETRY_STATUSES = frozenset({500, 502, 503, 504})
DOWNLOAD_CHUNK = 256 * 1024
#: (method, path with its query, body bytes) → the headers that authenticate that request.
RequestSigner = Callable[[str, str, bytes], Mapping[str, str]]
#: Called with the bytes received so far (the total is often unknown: streamed answers).
DownloadProgress = Callable[[int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to repeat a request that may succeed next time.

    ``attempts`` counts the first try; waits double from ``backoff`` seconds, capped at
    ``max_wait``, and a ``Retry-After`` of the platform's is honoured up to that cap.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 30.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_wait)


NO_RETRY = RetryPolicy(attempts=1)


def retry_after(response: requests.Response) -> float | None:
    """The ``Retry-After`` of an answer in seconds (an HTTP date is not sent by the platform
    and is read as no hint)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_of(response: requests.Response) -> ApiError:
    """The refusal an answer carries: the platform's ``{"error", "detail"}`` or, for a page
    that is not JSON (a proxy's, Django's CSRF page), its status and first words."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(response.text.split())[:300]
        return ApiError(response.status_code, "http_error", text or response.reason or "")
    return ApiError(
        response.status_code,
        str(body.get("error") or "http_error"),
        str(body.get("detail") or response.reason or ""),
    )


class Transport:
    """The client's one ``requests.Session`` and what every request needs."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        signer: RequestSigner | None = None,
        language: str | None = None,
    ) -> None:
        if token and signer is not None:
            raise DatadaoError("a request is signed or carries a token, not both")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.signer = signer
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.session = requests.Session()
        if language:
            self.session.headers["Accept-Language"] = language

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def url(self, operation: str, **path: object) -> str:
        """The URL of ``operation`` (an operationId of ``routes.OPERATIONS``)."""
        route = OPERATIONS[operation]
        values = {name: quote(str(value), safe="") for name, value in path.items()}
        return self.base_url + route.path.format(**values)

    def headers(self, method: str) -> dict[str, str]:
        if self.signer is not None:
            return {}  # added per attempt, over the request as sent (``_request``)
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if method in ("GET", "HEAD"):
            return {}
        # Django's CSRF check for a session write: the cookie's token in a header, and a
        # Referer from this origin (required over HTTPS).
        return {
            "X-CSRFToken": self.session.cookies.get("csrftoken", ""),
            "Referer": f"{self.base_url}/",
        }

    def send(
        self,
        operation: str,
        *,
        path: Mapping[str, object] | None = None,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one operation's request (repeated as ``retry`` allows: by default reads are
        repeated, writes are not) and return its successful answer; a refusal is ApiError."""
        method = OPERATIONS[operation].method
        policy = retry or (self.retry if method == "GET" else NO_RETRY)
        url = self.url(operation, **(path or {}))
        headers = self.headers(method) | kwargs.pop("headers", {})
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._request(method, url, headers, kwargs)
            except requests.RequestException as exc:
                if attempt >= policy.attempts:
                    raise ApiError(0, "connection_error", f"{self.base_url}: {exc}") from None
                self.sleep(policy.wait(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < policy.attempts:
                response.close()
                self.sleep(policy.wait(attempt, retry_after(response)))
                continue
            if response.status_code >= 400:
                raise error_of(response)
            return response

    def _request(
        self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> requests.Response:
        if self.signer is None:
            return self.session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
        # Prepared first, so the signature covers the path, query and body bytes as sent.
        stream = bool(kwargs.get("stream", False))
        fields = {name: value for name, value in kwargs.items() if name != "stream"}
        prepared = self.session.prepare_request(
            requests.Request(method, url, headers=headers, **fields)
        )
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, bytes):
            raise DatadaoError("a signed request needs its whole body in memory")
        prepared.headers.update(self.signer(method, prepared.path_url, body))
        settings = self.session.merge_environment_settings(prepared.url, {}, stream, None, None)
        return self.session.send(prepared, timeout=self.timeout, **settings)

    def json(self, operation: str, **kwargs: Any) -> Any:
        return self.send(operation, **kwargs).json()

    def download(
        self,
        operation: str,
        out: Path,
        *,
        path: Mapping[str, object] | None = None,
        progress: DownloadProgress | None = None,
    ) -> Path:
        """Stream an answer to the file ``out``; repeated from the start when the connection
        breaks mid-body (as often as the retry policy allows). Nothing is left at ``out``
        when it fails."""
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            response = self.send(operation, path=path, stream=True)
            received = 0
            try:
                with out.open("wb") as stream:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK):
                        stream.write(chunk)
                        received += len(chunk)
                        if progress is not None:
                            progress(received)
                return out
            except requests.RequestException as exc:
                if attempt == policy.attempts:
                    out.unlink(missing_ok=True)
                    raise ApiError(0, "connection_error", f"download cut off: {exc}") from None
                self.sleep(policy.wait(attempt, None))
            except BaseException:
                out.unlink(missing_ok=True)
                raise
            finally:
                response.close()
        raise AssertionError("unreachable: the last attempt returns or raises")
