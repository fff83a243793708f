"""Content pinned sealed (encrypted at rest by the app that pinned it) is opened for a reader
that ``ipfs.access`` lets through: apps register an unsealer per pin-label prefix, as they
register read policies. The IPFS layer itself never holds a key."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

# ``unsealer(rest_of_label, cid, verified_stored_bytes) -> plaintext``: the stored handle itself
# when the content is not sealed. Raises ``Unopenable`` when sealed content does not open.
Unsealer = Callable[[str, str, IO[bytes]], IO[bytes]]
_UNSEALERS: dict[str, Unsealer] = {}


class Unopenable(Exception):
    """Sealed content that does not open (wrong key, another DAO's key, altered): never served.
    The message names the failure, never a key."""


def register(prefix: str, unsealer: Unsealer) -> None:
    _UNSEALERS[prefix] = unsealer


def plaintext(label: str, cid: str, stored: IO[bytes]) -> IO[bytes]:
    """What a reader of ``label``'s content receives: ``stored`` opened by its app's unsealer,
    or ``stored`` itself."""
    for prefix, unsealer in _UNSEALERS.items():
        if label.startswith(prefix):
            return unsealer(label[len(prefix) :], cid, stored)
    return stored
