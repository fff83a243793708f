"""One HTTP session with the platform: authentication, retries, and refusals as ``ApiError``.

Authentication is either the session cookie Sign-In with Ethereum starts (writes then carry
the CSRF token and a same-origin Referer, as a browser's would) or an API token, sent as
``Authorization: Bearer dd_…`` with no cookies at all.

Retries: a request that is safe to repeat is repeated after a connection error or a 5xx
answer (not 501, which will not change), waiting as ``Retry-After`` asks or with exponential
backoff. Reads are safe to repeat; of the writes only the upload is, because the platform
refuses a second copy of a file (see ``uploads``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from datadao_client.errors import ApiError
from datadao_client.routes import OPERATIONS

RETRY_STATUSES = frozenset({500, 502, 503, 504})


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
        language: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
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
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
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

    def json(self, operation: str, **kwargs: Any) -> Any:
        return self.send(operation, **kwargs).json()
