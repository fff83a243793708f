"""IpfsBackend over the Kubo RPC (``/api/v0``) of Kubo or any compatible daemon (js-ipfs).

Pure: no Django imports. Every call carries a timeout, because a daemon asked for content it
cannot find (``pin/add``, ``cat``) waits for the network forever. Connection failures and
timeouts become ``IpfsUnavailable`` (retryable); anything the daemon refuses becomes
``IpfsError`` with the daemon's own message.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import ipfshttpclient
import requests
import urllib3.exceptions
from ipfshttpclient import exceptions as ipfs_exc

from ipfs.backends import dag
from ipfs.backends.base import IpfsError, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid, b32encode, b58decode

# Pinned rather than left to the daemon's config (Kubo's Import.UnixFSChunker), so the CIDs
# the daemon computes always equal those of ipfs.unixfs.
_CHUNKER = "size-262144"

# The daemon's own timeout fires first, with a clear message; ours is the backstop.
_CLIENT_GRACE_S = 5.0

# Transport failures: the request may not have reached the daemon, or its answer was lost.
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    ipfs_exc.ConnectionError,
    ipfs_exc.TimeoutError,
    ipfs_exc.ProtocolError,
    requests.RequestException,  # raised while streaming a body, past ipfshttpclient's mapping
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)

# A proxy in front of the daemon answers these while the daemon is down or restarting.
_RETRYABLE_STATUS = frozenset({502, 503, 504})


def to_multiaddr(api_addr: str) -> str:
    """Accept a multiaddr (``/ip4/127.0.0.1/tcp/5001/http``) or an http(s) URL."""
    if api_addr.startswith("/"):
        return api_addr
    url = urllib.parse.urlsplit(api_addr)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"IPFS API address must be a multiaddr or http(s) URL: {api_addr!r}")
    if url.path.rstrip("/") not in ("", "/api/v0"):
        raise ValueError(f"IPFS API URL must not carry a path other than /api/v0: {api_addr!r}")
    try:
        host = ipaddress.ip_address(url.hostname)
        proto = "ip4" if host.version == 4 else "ip6"
    except ValueError:
        proto = "dns"
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"/{proto}/{url.hostname}/tcp/{port}/{url.scheme}"


def canonical_cid(cid: str) -> str:
    """CIDv1 in base32, CIDv0 unchanged: daemons answer v1 in base58btc unless told otherwise."""
    if cid.startswith("z"):
        return "b" + b32encode(b58decode(cid[1:]))
    return cid


def _status(exc: ipfs_exc.StatusError) -> int | None:
    response = getattr(exc.original, "response", None)
    return getattr(response, "status_code", None)


@contextmanager
def _mapped(action: str) -> Iterator[None]:
    try:
        yield
    except _TRANSPORT_ERRORS as exc:
        raise IpfsUnavailable(f"IPFS daemon unavailable during {action}: {exc}") from exc
    except ipfs_exc.ErrorResponse as exc:
        raise IpfsError(f"IPFS daemon refused {action}: {exc}") from exc
    except ipfs_exc.StatusError as exc:
        if _status(exc) in _RETRYABLE_STATUS:
            raise IpfsUnavailable(f"IPFS daemon unavailable during {action}: {exc}") from exc
        raise IpfsError(f"IPFS daemon failed {action}: {exc}") from exc
    except ipfs_exc.Error as exc:
        raise IpfsError(f"IPFS client error during {action}: {exc}") from exc


def _is_daemon_timeout(message: str) -> bool:
    # js-ipfs says "request timed out", Kubo "context deadline exceeded".
    lowered = message.lower()
    return "timed out" in lowered or "deadline exceeded" in lowered


def _is_not_pinned(message: str) -> bool:
    # js-ipfs: "<cid> is not pinned"; Kubo: "not pinned or pinned indirectly".
    return "not pinned" in message.lower()


class _Unnamed:
    """A stream without its ``name``: ipfshttpclient sends a file's name (its local path) and
    fails on a name that is not a path (a temporary file's descriptor, a spooled file's None)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


class KuboBackend:
    """IpfsBackend against a Kubo-compatible RPC endpoint.

    ``timeout`` bounds every call: the connect and each read of the reply, and for
    ``pin`` also the time the daemon may spend looking for the content.
    """

    def __init__(self, api_addr: str, *, timeout: float = 30.0) -> None:
        self.api_addr = to_multiaddr(api_addr)
        self.timeout = timeout
        # Client(), not connect(): connect() refuses every daemon newer than 0.7, i.e. all.
        self._client = ipfshttpclient.Client(self.api_addr, timeout=timeout)

    def _daemon_timeout(self) -> dict[str, str]:
        # Kubo's global --timeout and js-ipfs's per-route timeout share this spelling.
        return {"timeout": f"{int(self.timeout * 1000)}ms"}

    def _add(self, stream: BinaryIO, *, cid_version: int, pin: bool, only_hash: bool) -> str:
        if cid_version not in (0, 1):
            raise ValueError(f"unsupported CID version {cid_version}")
        options: dict[str, Any] = {"chunker": _CHUNKER, "pin": pin, "only_hash": only_hash}
        if cid_version == 1:
            # ipfshttpclient sends raw-leaves=false unless told, unlike `ipfs add
            # --cid-version=1`; and daemons answer v1 in base58btc unless asked for base32.
            options.update(cid_version=1, raw_leaves=True, opts={"cid-base": "base32"})
        else:
            # Explicit, so a daemon configured for CIDv1 by default still answers v0.
            options.update(cid_version=0)
        with _mapped("add"):
            reply = self._client.add(_Unnamed(stream), **options)
        return canonical_cid(reply["Hash"])

    def add(self, stream: BinaryIO, *, cid_version: int = 1, pin: bool = True) -> str:
        return self._add(stream, cid_version=cid_version, pin=pin, only_hash=False)

    def add_only_hash(self, stream: BinaryIO, cid_version: int = 1) -> str:
        """The CID the daemon would give ``stream``, storing nothing."""
        return self._add(stream, cid_version=cid_version, pin=False, only_hash=True)

    def pin(self, cid: str) -> None:
        """Pin recursively; already pinned is success. Content not found in time: retryable."""
        try:
            with _mapped(f"pin {cid}"):
                self._client.pin.add(
                    cid,
                    recursive=True,
                    opts=self._daemon_timeout(),
                    timeout=self.timeout + _CLIENT_GRACE_S,
                )
        except IpfsUnavailable:
            raise
        except IpfsError as exc:
            if _is_daemon_timeout(str(exc)):
                raise IpfsUnavailable(
                    f"IPFS daemon could not find {cid} within {self.timeout:g}s: {exc.__cause__}"
                ) from exc
            raise

    def is_pinned(self, cid: str) -> bool:
        try:
            with _mapped(f"pin ls {cid}"):
                reply = self._client.pin.ls(cid, type="recursive", opts=self._daemon_timeout())
        except IpfsError as exc:
            if not isinstance(exc, IpfsUnavailable) and _is_not_pinned(str(exc)):
                return False
            raise
        return bool(reply.get("Keys"))

    def unpin(self, cid: str) -> None:
        """Remove the recursive pin; not pinned is success, so retries are harmless."""
        try:
            with _mapped(f"unpin {cid}"):
                self._client.pin.rm(cid, recursive=True, opts=self._daemon_timeout())
        except IpfsError as exc:
            if not isinstance(exc, IpfsUnavailable) and _is_not_pinned(str(exc)):
                return
            raise

    def pinned(self) -> list[str]:
        """Recursively pinned CIDs, v1 in base32."""
        # Not cid-base=base32: js-ipfs then fails on any v0 pin ("Cannot string encode V0
        # in base32 encoding"); canonical_cid converts v1 on our side instead.
        with _mapped("pin ls"):
            reply = self._client.pin.ls(type="recursive", opts=self._daemon_timeout())
        return [canonical_cid(cid) for cid in reply.get("Keys") or {}]

    def cat(self, cid: str) -> Iterator[bytes]:
        """Stream the file's bytes; a stall longer than ``timeout`` raises IpfsUnavailable."""
        # No daemon-side timeout here: it would cap the whole transfer, not a stall.
        try:
            with _mapped(f"cat {cid}"):
                chunks = self._client.cat(cid, stream=True)
                try:
                    yield from chunks
                finally:
                    chunks.close()
        except IpfsError as exc:
            if not isinstance(exc, IpfsUnavailable) and "not found" in str(exc).lower():
                raise IpfsNotFound(f"{cid} is not retrievable: {exc}") from exc
            raise

    def get_block(self, cid: Cid) -> bytes:
        """One block, from the node's own store only, checked against ``cid``.

        ``offline=true`` keeps Kubo from fetching a block it lacks from the network, which
        would hide that this node lost it (js-ipfs ignores the flag and waits instead). A
        block the daemon cannot produce within ``timeout`` is missing here: the daemon
        answered, so it is up. IpfsUnavailable only when the daemon itself is unreachable.
        """
        try:
            with _mapped(f"block get {cid}"):
                block = self._client.block.get(
                    str(cid),
                    opts={"offline": "true", **self._daemon_timeout()},
                    timeout=self.timeout + _CLIENT_GRACE_S,
                )
        except IpfsUnavailable:
            raise
        except IpfsError as exc:
            raise IpfsNotFound(f"block {cid} is not on the node: {exc.__cause__}") from exc
        return dag.checked(cid, block)

    def swarm_addresses(self) -> list[str]:
        """The node's own multiaddrs with its peer id (``/p2p/…``): the origins a pinning
        service can fetch from. Empty for a node with no swarm listener."""
        with _mapped("id"):
            reply = self._client.id(timeout=self.timeout)
        return list(reply.get("Addresses") or [])

    def dag_import(self, stream: BinaryIO) -> list[str]:
        """Import a CAR; return its root CIDs (which the daemon pins, as Kubo does)."""
        with _mapped("dag import"):
            replies = list(self._client.dag.imprt(stream, stream=True))
        return [canonical_cid(reply["Root"]["Cid"]["/"]) for reply in replies]
