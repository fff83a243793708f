"""Outbound HTTP that cannot reach the platform's own network (no Django).

Used by every call to a URL a DAO admin typed: webhook deliveries (``webhooks``) and a
labeling dataset's model prediction endpoint (``labeling.services.predict``).

Such a URL must not become a way to make the platform call its own internal services (the
database, Redis, the IPFS API, a cloud metadata endpoint at 169.254.169.254).
``Policy.check_url`` refuses, at registration, URLs that are not http(s), carry credentials,
or name a host that resolves to a loopback, private, link-local, multicast, reserved or
unspecified address (any address that is not globally routable).

A check at registration is not enough: the name can later resolve elsewhere (DNS rebinding).
So ``post`` connects through ``GuardedConnection``, which resolves the name itself, checks
every address, and connects to the checked address; the TLS name check and SNI still use the
host name. No proxy from the environment is used and no redirect is followed.

``allow_private`` lifts the address check; ``allowed`` lifts it for named hosts, addresses or
networks only. Each use reads its own pair of settings (WEBHOOKS_ALLOW_PRIVATE and
WEBHOOKS_ALLOWED_HOSTS; PREDICTIONS_ALLOW_PRIVATE and PREDICTIONS_ALLOWED_HOSTS): a model
server on the operator's own network is no reason to let webhooks reach it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

SCHEMES = ("http", "https")
# Short, so a slow receiver holds one worker slot briefly: 3 s to connect, 10 s between
# bytes of the answer, 15 s in all.
TIMEOUT = Timeout(connect=3.0, read=10.0, total=15.0)
# Enough of an answer for the delivery log; the rest is never read.
RESPONSE_EXCERPT_BYTES = 1024


class EgressRefused(Exception):
    """The URL, or the address its host resolves to, is not one the platform may call."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not one to call, or None for a globally routable one."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for test, name in (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "the unspecified address"),
        ("is_link_local", "a link-local address (cloud metadata lives there)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return name
    if not address.is_global:
        return "an address that is not globally routable"
    return None


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False
    # Host names (lowercase) and networks that may be called whatever they resolve to.
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    resolver: Resolver = field(default=resolve, compare=False)
    # Who calls, for refusals ("webhooks may not call this platform's own network").
    purpose: str = "webhooks"

    @classmethod
    def from_settings(
        cls, *, allow_private: bool, allowed: Iterable[str], purpose: str = "webhooks"
    ) -> Policy:
        hosts, networks = set(), []
        for entry in (item.strip().lower() for item in allowed):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(allow_private, frozenset(hosts), tuple(networks), purpose=purpose)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: all of them checked, or EgressRefused."""
        host = host.strip("[]").rstrip(".").lower()
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = self.resolver(host, port)
            except (OSError, UnicodeError):
                raise EgressRefused(f"the host {host!r} does not resolve") from None
            if not found:
                raise EgressRefused(f"the host {host!r} does not resolve")
        if self.allow_private or host in self.allowed_hosts:
            return found
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if self._allowed(address):
                continue
            refusal = address_refusal(address)
            if refusal is not None:
                where = host if literal is not None else f"{host!r} resolves to {address}, which"
                raise EgressRefused(
                    f"{where} is {refusal}: {self.purpose} may not call this platform's own network"
                )
        return found

    def check_url(self, url: str) -> None:
        """Refuse (EgressRefused) a URL that is not one this policy's calls may go to."""
        if len(url) > 2000:
            raise EgressRefused("the URL is longer than 2000 characters")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise EgressRefused(f"not a valid URL: {exc}") from None
        if parts.scheme.lower() not in SCHEMES:
            raise EgressRefused(f"the scheme {parts.scheme or '(none)'!r} is not http or https")
        if parts.username is not None or parts.password is not None:
            raise EgressRefused(
                "the URL carries credentials (user:password@); they would be stored and "
                "shown in the clear"
            )
        if not parts.hostname:
            raise EgressRefused("the URL has no host")
        self.addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80))


# --- connections that connect only to checked addresses -----------------------------------------


class _Guarded:
    """Resolves and checks the host at connect time, then connects to the checked address."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def __init__(self, *args: Any, egress_policy: Policy, **kwargs: Any) -> None:
        self._egress_policy = egress_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        addresses = self._egress_policy.addresses(self.host, self.port)
        last: OSError | None = None
        for address in addresses:
            try:
                sock = socket.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"connecting to {self.host} timed out (after {self.timeout} s)"
                ) from exc
            except OSError as exc:
                last = exc
                continue
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            return sock
        raise NewConnectionError(self, f"could not connect to {self.host}: {last}")


class GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str  # the start of the body as text, for logs
    body: bytes = b""  # at most ``max_body`` bytes of it
    truncated: bool = False  # the body was longer than ``max_body``


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: Policy,
    timeout: Timeout = TIMEOUT,
    max_body: int = RESPONSE_EXCERPT_BYTES,
) -> Answer:
    """POST ``body`` to ``url`` once: no retry, no redirect, no proxy; connections only to
    addresses ``policy`` allows. Reads at most ``max_body`` bytes of the answer (one more to
    tell a longer one). Raises EgressRefused, or urllib3's HTTPError for a network failure or
    a timeout."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise EgressRefused(f"{url!r} is not an http(s) URL")
    pool_class = _GuardedHTTPSPool if parts.scheme == "https" else _GuardedHTTPPool
    pool = pool_class(
        parts.hostname,
        parts.port,
        timeout=timeout,
        retries=False,
        maxsize=1,
        block=False,
        egress_policy=policy,
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            read = response.read(max_body + 1, decode_content=False)
        finally:
            response.release_conn()
            response.close()
        excerpt = read[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")
        return Answer(response.status, excerpt, read[:max_body], len(read) > max_body)
    finally:
        pool.close()


__all__ = ["TIMEOUT", "Answer", "EgressRefused", "HTTPError", "Policy", "address_refusal", "post"]
