"""The one small interface every IPFS backend implements.

Pure: no Django imports. Django code picks a backend through ``ipfs.conf`` (settings),
so the algorithms and both backends stay testable without a configured project.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol


class IpfsError(Exception):
    """Base class for every error the IPFS layer raises."""


class IpfsUnavailable(IpfsError):
    """The backend could not be reached or timed out. Retryable: callers back off and retry."""


class IpfsNotFound(IpfsError):
    """The CID is not stored (embedded) or not retrievable (kubo). Not retryable as such."""


class IpfsCorrupt(IpfsError):
    """Stored bytes do not hash to the CID that names them. Never served."""


class IpfsBackend(Protocol):
    """add/pin/is_pinned/cat/unpin; CIDs are strings (base32 for v1, base58btc for v0)."""

    def add(self, stream: BinaryIO, *, cid_version: int = 1, pin: bool = True) -> str: ...

    def pin(self, cid: str) -> None: ...

    def is_pinned(self, cid: str) -> bool: ...

    def cat(self, cid: str) -> Iterator[bytes]: ...

    def unpin(self, cid: str) -> None: ...

    def pinned(self) -> Iterable[str]: ...
