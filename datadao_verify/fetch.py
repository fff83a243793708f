"""Content by CID from any IPFS node, every block checked against its CID here.

Trust nothing about the source: a block whose bytes do not hash to its CID is reported as
corrupt, whichever node served it. Three kinds of source, chosen by the ``--ipfs`` value:

* ``http(s)://host:port``: a Kubo-compatible RPC API (Kubo, js-ipfs), ``/api/v0/block/get``;
* ``http(s)://host[:port]/ipfs/``: a trustless gateway (``?format=raw``);
* a folder: this platform's embedded store (``DATA_DIR/ipfs``), read in place.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import requests

from datadao.errors import Detail
from datadao_verify.i18n import _
from ipfs.backends.base import IpfsCorrupt, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid, b32encode
from ipfs.unixfs import UnixfsError, iter_file

__all__ = [
    "BlockSource",
    "Fetched",
    "IpfsCorrupt",
    "IpfsNotFound",
    "IpfsUnavailable",
    "fetch_bytes",
    "fetch_to",
    "source_for",
]


class BlockSource(Protocol):
    """Where blocks come from. ``get_block`` returns the raw bytes the source holds for a CID
    (unchecked: ``checked`` does that) or raises IpfsNotFound / IpfsUnavailable."""

    name: str

    def get_block(self, cid: Cid) -> bytes: ...


class KuboRpc:
    """A Kubo-compatible RPC API (``/api/v0``)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.base = url.rstrip("/")
        self.name = Detail("IPFS node %(url)s", url=self.base)
        self.timeout = timeout
        self._session = requests.Session()

    def get_block(self, cid: Cid) -> bytes:
        try:
            # The daemon's own timeout first: js-ipfs waits for a block it lacks instead of
            # failing, so a missing block must not hold the verifier for ever.
            response = self._session.post(
                f"{self.base}/api/v0/block/get",
                params={"arg": str(cid), "offline": "true", "timeout": f"{self.timeout:g}s"},
                timeout=self.timeout + 5,
            )
        except requests.RequestException as exc:
            raise IpfsUnavailable(
                Detail("%(name)s cannot be reached: %(error)s", name=self.name, error=exc)
            ) from None
        return _block(response, cid, self.name)


def _block(response: requests.Response, cid: Cid, name: str) -> bytes:
    """The block an HTTP source answered, or IpfsNotFound naming the source and its status."""
    if response.status_code != 200:
        raise IpfsNotFound(
            Detail(
                "block %(cid)s is not on %(name)s (%(status_code)s)",
                cid=cid,
                name=name,
                status_code=response.status_code,
            )
        )
    return response.content


class Gateway:
    """A trustless HTTP gateway: ``GET /ipfs/<cid>?format=raw`` answers one raw block."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.base = url.rstrip("/")
        self.name = Detail("gateway %(url)s", url=self.base)
        self.timeout = timeout
        self._session = requests.Session()

    def get_block(self, cid: Cid) -> bytes:
        try:
            response = self._session.get(
                f"{self.base}/{cid}",
                params={"format": "raw"},
                headers={"Accept": "application/vnd.ipld.raw"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise IpfsUnavailable(
                Detail("%(name)s cannot be reached: %(error)s", name=self.name, error=exc)
            ) from None
        return _block(response, cid, self.name)


class Embedded:
    """This platform's embedded store, read in place (its blocks are files named by hash)."""

    def __init__(self, root: Path) -> None:
        self.name = Detail("store %(root)s", root=root)
        self._blocks = root / "blocks"

    def get_block(self, cid: Cid) -> bytes:
        # The store's layout (``ipfs.backends.embedded``): blocks/<xy>/<key>, key the base32
        # of the multihash and xy its next-to-last two characters.
        key = b32encode(cid.multihash)
        path = self._blocks / key[-3:-1] / key
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise IpfsNotFound(
                Detail("block %(cid)s is not in the %(name)s", cid=cid, name=self.name)
            ) from None


def source_for(value: str, *, timeout: float = 30.0) -> BlockSource:
    """The source an ``--ipfs`` value names; ValueError when it names none."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme in ("http", "https"):
        if parsed.path.rstrip("/").endswith("/ipfs"):
            return Gateway(value, timeout=timeout)
        return KuboRpc(value, timeout=timeout)
    root = Path(value)
    if not (root / "blocks").is_dir():
        raise ValueError(
            _(
                "--ipfs {value} is neither an http(s) URL (a node's RPC API, or a gateway "
                "ending in /ipfs/) nor an embedded store (a folder with blocks/)"
            ).format(value=repr(value))
        )
    return Embedded(root)


def checked_getter(source: BlockSource) -> Callable[[Cid], bytes]:
    """``source.get_block`` with every block checked against its CID (IpfsCorrupt if not)."""

    def get(cid: Cid) -> bytes:
        block = source.get_block(cid)
        if not cid.verify(block):
            raise IpfsCorrupt(
                Detail(
                    "block %(cid)s from the %(name)s does not hash to its CID",
                    cid=cid,
                    name=source.name,
                )
            )
        return block

    return get


@dataclass(frozen=True)
class Fetched:
    """A file fetched by CID: its size and SHA-256, and its first bytes (to tell sealed files)."""

    size: int
    sha256: str
    head: bytes


def _chunks(cid: str, source: BlockSource) -> Iterator[bytes]:
    try:
        root = Cid.parse(cid)
    except ValueError as exc:
        raise IpfsCorrupt(
            Detail("%(cid)s is not a CID: %(error)s", cid=repr(cid), error=exc)
        ) from None
    try:
        yield from iter_file(root, checked_getter(source))
    except UnixfsError as exc:
        raise IpfsCorrupt(
            Detail("%(cid)s is not a well-formed UnixFS file: %(error)s", cid=cid, error=exc)
        ) from None


def fetch_to(cid: str, source: BlockSource, out: BinaryIO) -> Fetched:
    """Write the file ``cid`` names to ``out``; every block is checked before it is written.
    Raises IpfsNotFound, IpfsCorrupt, IpfsUnavailable."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in _chunks(cid, source):
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        digest.update(chunk)
        size += len(chunk)
        out.write(chunk)
    return Fetched(size=size, sha256=digest.hexdigest(), head=head)


def fetch_bytes(cid: str, source: BlockSource, *, limit: int = 1 << 30) -> bytes:
    """The whole file ``cid`` names, in memory (manifests, epoch inputs, dumps)."""
    parts: list[bytes] = []
    size = 0
    for chunk in _chunks(cid, source):
        size += len(chunk)
        if size > limit:
            raise IpfsCorrupt(
                Detail("%(cid)s is larger than %(limit)s bytes", cid=cid, limit=limit)
            )
        parts.append(chunk)
    return b"".join(parts)
