"""A client of the IPFS Pinning Service API (https://ipfs.github.io/pinning-services-api-spec/),
the API Pinata, Filebase, web3.storage and others speak, plus block reads through the
provider's gateway.

Pure: no Django imports. The API can only *ask* a provider to pin a CID: the provider fetches
the blocks from the IPFS network itself (``origins`` are hints where to find them), and says
how far it got with ``queued``, ``pinning``, ``pinned`` or ``failed``. What it says is not
taken as proof: ``get_block`` retrieves the blocks through the provider's gateway (the
trustless gateway's ``?format=raw``, with ``Cache-Control: only-if-cached`` so that a
gateway does not go and fetch what its own store lacks), and the audit hashes them.

Errors: transport failures, timeouts and 5xx answers are ``IpfsUnavailable`` (retryable);
everything else the provider refuses is ``IpfsError`` carrying its ``error.reason`` and
``error.details``. The access token is sent in the ``Authorization`` header only and never
appears in a message.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import requests

from ipfs.backends import dag
from ipfs.backends.base import IpfsError, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid

#: Every status the spec defines; listing pins asks for all of them, because without a
#: ``status`` filter the API returns only the pinned ones.
STATUSES = ("queued", "pinning", "pinned", "failed")
PENDING = frozenset({"queued", "pinning"})

# The spec caps ``origins`` at 20 multiaddrs and ``name`` at 255 characters.
_MAX_ORIGINS = 20
_MAX_NAME = 255
# One CID has few pin requests; a page this long holds them all.
_LIST_LIMIT = 1000


@dataclass(frozen=True)
class PinRequest:
    """A provider's ``PinStatus``: one request to pin ``cid``, and how far it got."""

    requestid: str
    status: str
    cid: str
    name: str = ""
    delegates: list[str] = field(default_factory=list)
    details: str = ""

    @classmethod
    def from_json(cls, data: Any) -> PinRequest:
        try:
            status = data["status"]
            pin = data["pin"]
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}")
            info = data.get("info") or {}
            return cls(
                requestid=str(data["requestid"]),
                status=status,
                cid=str(pin["cid"]),
                name=str(pin.get("name") or ""),
                delegates=list(data.get("delegates") or []),
                details=str(info.get("status_details") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IpfsError(f"pinning service answered a malformed PinStatus: {exc}") from None


def _failure(response: requests.Response) -> str:
    """``reason: details`` of a spec ``Failure`` body, or the start of whatever came back."""
    try:
        error = response.json()["error"]
        reason = str(error["reason"])
        details = str(error.get("details") or "")
        return f"{reason}: {details}" if details else reason
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason


class PinningServiceClient:
    """The Pinning Service API at ``endpoint`` (the base URL the provider documents, e.g.
    ``https://api.pinata.cloud/psa``), with a bearer ``token``, and optionally the
    provider's ``gateway`` for reading blocks back."""

    def __init__(
        self, endpoint: str, *, token: str, gateway: str = "", timeout: float = 30.0
    ) -> None:
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"pinning service endpoint must be an http(s) URL: {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.gateway = gateway.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        # The gateway gets no token: it serves public content, and a token must not travel
        # to a host other than the API's.
        self._gateway_session = requests.Session()

    def __repr__(self) -> str:  # never the token
        return f"PinningServiceClient({self.endpoint!r})"

    # --- the API --------------------------------------------------------------------------

    def _call(self, method: str, path: str, action: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(
                method, self.endpoint + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise IpfsUnavailable(f"pinning service unreachable during {action}: {exc}") from exc
        if response.status_code >= 500:
            raise IpfsUnavailable(
                f"pinning service failed {action} (HTTP {response.status_code}): "
                f"{_failure(response)}"
            )
        if response.status_code >= 400:
            raise IpfsError(
                f"pinning service refused {action} (HTTP {response.status_code}): "
                f"{_failure(response)}"
            )
        return response

    def add(
        self,
        cid: str,
        *,
        name: str = "",
        origins: list[str] | None = None,
        meta: dict[str, str] | None = None,
    ) -> PinRequest:
        """``POST /pins``: ask the provider to pin ``cid``. Each call is a new request
        (a new ``requestid``), so callers look for an existing one first (``find``)."""
        body = _pin_body(cid, name, origins)
        if meta:
            body["meta"] = meta
        response = self._call("POST", "/pins", f"pin {cid}", json=body)
        return PinRequest.from_json(_json(response))

    def find(self, cid: str) -> list[PinRequest]:
        """``GET /pins?cid=…``: every request for ``cid``, whatever its status."""
        # Comma-separated, as Kubo's own client (``ipfs pin remote``) sends them.
        params = {"cid": cid, "status": ",".join(STATUSES), "limit": _LIST_LIMIT}
        response = self._call("GET", "/pins", f"list pins of {cid}", params=params)
        data = _json(response)
        try:
            results = data["results"]
        except (KeyError, TypeError):
            raise IpfsError("pinning service answered a malformed PinResults") from None
        return [PinRequest.from_json(item) for item in results]

    def get(self, requestid: str) -> PinRequest:
        """``GET /pins/{requestid}``."""
        path = "/pins/" + urllib.parse.quote(requestid, safe="")
        return PinRequest.from_json(_json(self._call("GET", path, f"get {requestid}")))

    def replace(
        self, requestid: str, cid: str, *, name: str = "", origins: list[str] | None = None
    ) -> PinRequest:
        """``POST /pins/{requestid}``: a new request in place of an old one (a failed one)."""
        body = _pin_body(cid, name, origins)
        path = "/pins/" + urllib.parse.quote(requestid, safe="")
        response = self._call("POST", path, f"replace {requestid}", json=body)
        return PinRequest.from_json(_json(response))

    def remove(self, requestid: str) -> None:
        """``DELETE /pins/{requestid}``; a request already gone is success."""
        path = "/pins/" + urllib.parse.quote(requestid, safe="")
        try:
            self._call("DELETE", path, f"remove {requestid}")
        except IpfsError as exc:
            if "HTTP 404" not in str(exc) or isinstance(exc, IpfsUnavailable):
                raise

    # --- reading blocks back ----------------------------------------------------------------

    def get_block(self, cid: Cid) -> bytes:
        """One block through the provider's gateway, checked against ``cid``."""
        if not self.gateway:
            raise IpfsError("no gateway configured: the provider's blocks cannot be read")
        url = f"{self.gateway}/ipfs/{cid}"
        try:
            response = self._gateway_session.get(
                url,
                params={"format": "raw"},
                headers={
                    "Accept": "application/vnd.ipld.raw",
                    "Cache-Control": "only-if-cached",
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise IpfsUnavailable(f"gateway unreachable for block {cid}: {exc}") from exc
        if response.status_code >= 500 and response.status_code != 504:
            raise IpfsUnavailable(f"gateway failed block {cid} (HTTP {response.status_code})")
        if response.status_code != 200:
            # 404/410, 412 (only-if-cached: not in the provider's store), 504 (gave up looking).
            raise IpfsNotFound(
                f"block {cid} not served by the gateway (HTTP {response.status_code})"
            )
        return dag.checked(cid, response.content)


def _pin_body(cid: str, name: str, origins: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"cid": cid}
    if name:
        body["name"] = name[:_MAX_NAME]
    if origins:
        body["origins"] = list(dict.fromkeys(origins))[:_MAX_ORIGINS]
    return body


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise IpfsError(
            f"pinning service answered HTTP {response.status_code} without JSON"
        ) from None
