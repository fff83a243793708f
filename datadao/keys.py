"""Signer keys and data key-encryption keys: read from the environment or an encrypted
keystore, at the moment of use.

Keys never enter settings, the database, logs or error pages: this module returns an
eth-account ``LocalAccount`` or a ``KekRing`` (whose repr shows key ids only), and nothing in
it formats a key into a string.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datadao.sealing import KekConfigError, KekRing, open_keystore, parse_ring, seal_keystore

# The key-encryption keys that wrap every sealed file's data key (datadao.sealing.envelope):
# DATA_KEK is the ring as "id:hexkey,id:hexkey" (the first wraps, all unwrap); otherwise
# DATA_KEK_KEYSTORE names a keystore written by datadao.sealing.seal_keystore, opened with
# DATA_KEK_PASSWORD.
KEK_VARIABLES = ("DATA_KEK", "DATA_KEK_KEYSTORE", "DATA_KEK_PASSWORD")

T = TypeVar("T")


def load_signer(role: str) -> LocalAccount:
    """The signer for ``role`` ("validator", "rewards").

    ``<ROLE>_KEY`` (hex private key) wins; otherwise ``<ROLE>_KEYSTORE`` (path to a Web3
    Secret Storage JSON file) decrypted with ``<ROLE>_PASSWORD``.
    """
    return _load(settings.SIGNER_KEY_VARIABLES[role], f"{role} signer", _from_key, _from_keystore)


def _load(
    variables: tuple[str, str, str],
    what: str,
    from_value: Callable[[str, str], T],
    from_keystore: Callable[[str, int, str, str, str], T],
) -> T:
    """A secret from the environment: the value variable wins; otherwise the keystore it names,
    opened with the password variable. The keystore's mtime joins the cache key of
    ``from_keystore``, so a replaced keystore takes effect at once."""
    value_var, keystore_var, password_var = variables
    raw = os.environ.get(value_var, "").strip()
    if raw:
        return from_value(raw, value_var)
    keystore = os.environ.get(keystore_var, "").strip()
    if not keystore:
        raise ImproperlyConfigured(
            f"No {what}: set {value_var}, or {keystore_var} and {password_var}."
        )
    try:
        mtime = Path(keystore).stat().st_mtime_ns
    except OSError:
        raise ImproperlyConfigured(
            f"{keystore_var}: cannot read a keystore at that path."
        ) from None
    password = os.environ.get(password_var, "")
    return from_keystore(keystore, mtime, password, keystore_var, password_var)


# Cached per process: parsing a key costs milliseconds of pure-Python curve arithmetic and a
# keystore's scrypt far more, on every signature otherwise. The cache keys on the variables'
# current values (and the keystore's mtime), so a rotated key takes effect at once.
@lru_cache(maxsize=8)
def _from_key(raw_key: str, key_var: str) -> LocalAccount:
    try:
        return Account.from_key(raw_key)
    except Exception:
        # Do not chain the exception: its text could echo the key.
        raise ImproperlyConfigured(f"{key_var} is not a valid private key.") from None


@lru_cache(maxsize=8)
def _from_keystore(
    path: str, mtime: int, password: str, keystore_var: str, password_var: str
) -> LocalAccount:
    del mtime  # part of the cache key only
    try:
        encrypted = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        raise ImproperlyConfigured(
            f"{keystore_var}: cannot read a keystore at that path."
        ) from None
    try:
        return Account.from_key(Account.decrypt(encrypted, password))
    except Exception:
        raise ImproperlyConfigured(
            f"{keystore_var}: cannot decrypt the keystore with {password_var}."
        ) from None


def load_kek_ring() -> KekRing:
    """The data key-encryption keys: ``DATA_KEK`` wins; otherwise ``DATA_KEK_KEYSTORE``
    opened with ``DATA_KEK_PASSWORD``."""
    return _load(KEK_VARIABLES, "data key-encryption key", _ring_from_text, _ring_from_keystore)


@lru_cache(maxsize=4)
def _ring_from_text(raw_ring: str, ring_var: str) -> KekRing:
    try:
        return parse_ring(raw_ring)
    except KekConfigError as exc:
        # The parser's messages name entries and ids, never key material.
        raise ImproperlyConfigured(f"{ring_var}: {exc}") from None


@lru_cache(maxsize=4)
def _ring_from_keystore(
    path: str, mtime: int, password: str, keystore_var: str, password_var: str
) -> KekRing:
    del mtime, password_var  # the mtime is part of the cache key only
    try:
        document = Path(path).read_text()
    except OSError:
        raise ImproperlyConfigured(
            f"{keystore_var}: cannot read a keystore at that path."
        ) from None
    try:
        return open_keystore(document, password)
    except KekConfigError as exc:
        raise ImproperlyConfigured(f"{keystore_var}: {exc}") from None


def kek_keystore_write(path: Path, ring: KekRing, password: str, *, replace: bool) -> None:
    """Write ``ring`` as a keystore at ``path``, readable by its owner only (mode 0600).

    A new keystore never overwrites a file; a replacement is written beside it, flushed to
    disk and renamed over it, so a crash leaves the old ring or the new one, never half of one.
    """
    document = json.dumps(seal_keystore(ring, password))
    target = path if not replace else path.with_name(f".{path.name}.new")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(document)
        out.flush()
        os.fsync(out.fileno())
    if replace:
        os.replace(target, path)


def new_kek_id(taken: list[str]) -> str:
    """A KEK id not in ``taken``: the date and a few random characters (``k20261207-3f9a``)."""
    while True:
        kek_id = f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
        if kek_id not in taken:
            return kek_id
