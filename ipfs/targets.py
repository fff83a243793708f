"""Where replicas of a pin live: the embedded store, Kubo RPC endpoints, Pinning Service API
providers, each behind one small interface the replication services drive.

Pure: no Django imports (``ipfs.conf`` builds the targets from settings). A target is checked
by *retrieving* every block of the DAG from it and hashing each, never by taking its word;
it is filled either from a CAR of a healthy replica (embedded, Kubo) or, for a pinning
service, by asking it to pin and letting it fetch the blocks itself.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ipfs.backends import dag
from ipfs.backends.base import IpfsCorrupt, IpfsError
from ipfs.backends.embedded import EmbeddedBackend
from ipfs.backends.kubo import KuboBackend
from ipfs.backends.psa import PENDING, PinningServiceClient
from ipfs.cid import Cid

# Imports an embedded repair tries: enough for the depth of any UnixFS file DAG we make.
_REPAIR_ROUNDS = 4

# A target's name is stored with each replica and spelled into an environment variable
# (``IPFS_REPLICA_<NAME>_TOKEN``), so it is short and plain.
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: How a check or a fill left a replica: present and verified, missing (or corrupt), or
#: asked for from a pinning service that has not finished fetching it.
OK = "ok"
MISSING = "missing"
PINNING = "pinning"


@dataclass(frozen=True)
class Check:
    state: str  # OK, MISSING or PINNING
    problem: str = ""


class Target(Protocol):
    """One place a replica can live."""

    name: str
    kind: str

    def get_block(self, cid: Cid) -> bytes:
        """A verified block, or IpfsNotFound / IpfsCorrupt / IpfsUnavailable."""
        ...

    def check(self, cid: str) -> Check:
        """Whether this target holds ``cid`` pinned with every block present and intact."""
        ...

    def fill(self, cid: str, car: Callable[[], BinaryIO], *, origins: list[str], label: str) -> str:
        """Make this target hold ``cid``: OK when done, PINNING when a provider is fetching.
        ``car()`` opens a CAR of the whole DAG from a healthy replica (only read if needed)."""
        ...

    def unpin(self, cid: str) -> None:
        """Drop the pin; not pinned is success."""
        ...

    def origins(self) -> list[str]:
        """Multiaddrs a pinning service could fetch this target's content from."""
        ...


def _walk_check(cid: str, get_block: dag.BlockGetter) -> Check:
    problems = dag.walk(Cid.parse(cid), get_block, lambda c, b: None)
    if not problems:
        return Check(OK)
    shown = "; ".join(text for _, text in problems[:5])
    more = len(problems) - 5
    return Check(MISSING, shown + (f"; and {more} more" if more > 0 else ""))


class EmbeddedTarget:
    kind = "embedded"

    def __init__(self, name: str, backend: EmbeddedBackend) -> None:
        self.name = name
        self.backend = backend

    def get_block(self, cid: Cid) -> bytes:
        return self.backend.get_block(cid)

    def check(self, cid: str) -> Check:
        if not self.backend.is_pinned(cid):
            return Check(MISSING, "not pinned in the embedded store")
        return _walk_check(cid, self.get_block)

    def fill(self, cid: str, car: Callable[[], BinaryIO], *, origins: list[str], label: str) -> str:
        # A corrupt block is deleted first (the store keeps a file of the right length), and
        # one round per level of the DAG reaches corrupt blocks below corrupt parents.
        for _ in range(_REPAIR_ROUNDS):
            self.backend.discard_corrupt(cid)
            with car() as stream:
                self.backend.import_car(stream, pin=False)
            problems = self.backend.verify(cid)
            if not problems:
                self.backend.pin(cid)
                return OK
        raise IpfsCorrupt(f"{cid} is still not whole after {_REPAIR_ROUNDS} imports: {problems[0]}")

    def unpin(self, cid: str) -> None:
        self.backend.unpin(cid)

    def origins(self) -> list[str]:
        return []


class KuboTarget:
    kind = "kubo"

    def __init__(self, name: str, backend: KuboBackend) -> None:
        self.name = name
        self.backend = backend

    def get_block(self, cid: Cid) -> bytes:
        return self.backend.get_block(cid)

    def check(self, cid: str) -> Check:
        # Pinned first: cheap, and blocks that are there but unpinned go at the next GC.
        if not self.backend.is_pinned(cid):
            return Check(MISSING, "not pinned on the node")
        return _walk_check(cid, self.get_block)

    def fill(self, cid: str, car: Callable[[], BinaryIO], *, origins: list[str], label: str) -> str:
        with car() as stream:
            roots = self.backend.dag_import(stream)
        if Cid.parse(cid).to_v1() not in {Cid.parse(root).to_v1() for root in roots}:
            raise IpfsError(f"the node imported {roots}, not {cid}")
        # dag import pins the roots; pinning again is a no-op that says so if it did not.
        self.backend.pin(cid)
        return OK

    def unpin(self, cid: str) -> None:
        self.backend.unpin(cid)

    def origins(self) -> list[str]:
        return self.backend.swarm_addresses()


class PinningServiceTarget:
    """A Pinning Service API provider. Filled by a pin request (the provider fetches the
    blocks from the network, ``origins`` first); checked through its gateway."""

    kind = "psa"

    def __init__(self, name: str, client: PinningServiceClient) -> None:
        self.name = name
        self.client = client

    def get_block(self, cid: Cid) -> bytes:
        return self.client.get_block(cid)

    def check(self, cid: str) -> Check:
        requests = self.client.find(cid)
        if any(r.status == "pinned" for r in requests):
            return _walk_check(cid, self.get_block)
        if any(r.status in PENDING for r in requests):
            return Check(PINNING, "the pinning service is still fetching it")
        failed = [r for r in requests if r.status == "failed"]
        if failed:
            detail = failed[0].details or "no details given"
            return Check(MISSING, f"the pinning service failed to pin it: {detail}")
        return Check(MISSING, "no pin request at the pinning service")

    def fill(self, cid: str, car: Callable[[], BinaryIO], *, origins: list[str], label: str) -> str:
        # Idempotent: a request already there is followed, not doubled.
        requests = self.client.find(cid)
        if any(r.status == "pinned" for r in requests):
            return OK
        if any(r.status in PENDING for r in requests):
            return PINNING
        failed = [r for r in requests if r.status == "failed"]
        if failed:
            request = self.client.replace(failed[0].requestid, cid, name=label, origins=origins)
        else:
            request = self.client.add(cid, name=label, origins=origins)
        return OK if request.status == "pinned" else PINNING

    def unpin(self, cid: str) -> None:
        for request in self.client.find(cid):
            self.client.remove(request.requestid)

    def origins(self) -> list[str]:
        return []


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetSpec:
    """One entry of ``IPFS_REPLICAS``, parsed: ``name=embedded``, ``name=kubo+http://host:5001``
    or ``name=psa+https://api.example/psa#gateway=https://gw.example``."""

    name: str
    kind: str  # embedded | kubo | psa
    url: str = ""
    gateway: str = ""

    @property
    def token_variable(self) -> str:
        return f"IPFS_REPLICA_{self.name.upper()}_TOKEN"


def parse_spec(entry: str) -> TargetSpec:
    """One ``IPFS_REPLICAS`` entry; ValueError with what to write instead."""
    entry = entry.strip()
    if entry == "embedded":
        return TargetSpec(name="embedded", kind="embedded")
    name, sep, spec = entry.partition("=")
    if not sep:
        raise ValueError(
            f"IPFS_REPLICAS entry {entry!r} needs a name: name=kubo+http://host:5001, "
            "name=psa+https://api.example/psa#gateway=https://gateway.example or embedded"
        )
    name = name.strip()
    if not NAME_RE.match(name):
        raise ValueError(
            f"IPFS_REPLICAS name {name!r}: lowercase letters, digits and _, starting with a "
            "letter, at most 32 characters"
        )
    if spec == "embedded":
        return TargetSpec(name=name, kind="embedded")
    kind, plus, url = spec.partition("+")
    if not plus or kind not in ("kubo", "psa"):
        raise ValueError(
            f"IPFS_REPLICAS entry {name!r}: {spec!r} is not embedded, kubo+<RPC URL> or "
            "psa+<pinning service URL>"
        )
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"IPFS_REPLICAS entry {name!r}: {url!r} is not an http(s) URL")
    fragment = urllib.parse.parse_qs(parts.fragment)
    bare = urllib.parse.urlunsplit(parts._replace(fragment=""))
    if kind == "kubo":
        if parts.fragment:
            raise ValueError(f"IPFS_REPLICAS entry {name!r}: a Kubo URL takes no #fragment")
        return TargetSpec(name=name, kind="kubo", url=bare)
    gateway = (fragment.get("gateway") or [""])[0]
    gateway_parts = urllib.parse.urlsplit(gateway)
    if gateway_parts.scheme not in ("http", "https") or not gateway_parts.hostname:
        raise ValueError(
            f"IPFS_REPLICAS entry {name!r}: a pinning service needs its gateway "
            "(psa+https://api.example/psa#gateway=https://gateway.example), so the audit can "
            "retrieve the blocks it holds instead of taking its word"
        )
    return TargetSpec(name=name, kind="psa", url=bare, gateway=gateway)


def parse_specs(entries: list[str], *, primary: str) -> list[TargetSpec]:
    """All entries, refusing duplicates and the primary backend's own name."""
    specs = [parse_spec(entry) for entry in entries if entry.strip()]
    seen = {primary}
    for spec in specs:
        if spec.name in seen:
            raise ValueError(
                f"IPFS_REPLICAS: the name {spec.name!r} is used twice (the primary backend "
                f"is called {primary!r})"
            )
        seen.add(spec.name)
    return specs


def build(spec: TargetSpec, *, embedded_root: str, timeout: float, token: str | None) -> Target:
    """The target ``spec`` names; ``token`` is the pinning service's (from the environment)."""
    if spec.kind == "embedded":
        return EmbeddedTarget(spec.name, EmbeddedBackend(embedded_root))
    if spec.kind == "kubo":
        return KuboTarget(spec.name, KuboBackend(spec.url, timeout=timeout))
    if not token:
        raise ValueError(
            f"IPFS_REPLICAS entry {spec.name!r} is a pinning service: set its access token "
            f"in {spec.token_variable}"
        )
    client = PinningServiceClient(spec.url, token=token, gateway=spec.gateway, timeout=timeout)
    return PinningServiceTarget(spec.name, client)


def primary_target(name: str, backend: object) -> Target:
    """The configured backend (``IPFS_BACKEND``) as the first replica of every pin."""
    if isinstance(backend, EmbeddedBackend):
        return EmbeddedTarget(name, backend)
    if isinstance(backend, KuboBackend):
        return KuboTarget(name, backend)
    raise TypeError(f"backend {backend!r} cannot hold replicas")
