"""Endpoint secrets: made, sealed for the database, opened to sign a delivery.

A secret is 32 random bytes, shown to the DAO's admin once as ``whsec_<64 hex>``; that whole
string is the HMAC key on both sides. It is stored as a data key wrapped under the platform's
key-encryption key ring (``datadao.sealing``, the KEKs from ``datadao.keys.load_kek_ring``,
never the database), bound to the DAO and to its use here, so a wrapped secret copied to
another DAO, or taken for a file's data key, does not open.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from datadao.keys import load_kek_ring
from datadao.models import DAO
from datadao.sealing import DataKey, KekRing, SealError, WrappedKey, rewrap, unwrap, wrap

PREFIX = "whsec_"


class SecretUnavailable(Exception):
    """No key-encryption key is configured, or a sealed secret does not open."""


def _ring() -> KekRing:
    try:
        return load_kek_ring()
    except ImproperlyConfigured as exc:
        raise SecretUnavailable(
            "Webhook secrets are stored encrypted, and this platform has no data "
            f"key-encryption key configured ({exc})"
        ) from None


def _binding(dao: DAO) -> str:
    return f"{dao.onchain_id}/webhook"


def secret_new(*, dao: DAO) -> tuple[str, str]:
    """A fresh secret: (the text to show once, its sealed form to store)."""
    key = DataKey.generate()
    sealed = wrap(key, _ring(), dao=_binding(dao)).to_text()
    return PREFIX + key.material.hex(), sealed


def secret_open(*, dao: DAO, sealed: str) -> tuple[str, str | None]:
    """The secret's text, and its sealed form re-wrapped under the ring's current KEK when it
    was wrapped under an older one (None when it is current): KEK rotation reaches a secret
    at its next delivery."""
    ring = _ring()
    try:
        wrapped = WrappedKey.from_text(sealed)
        key = unwrap(wrapped, ring, dao=_binding(dao))
        moved = None
        if wrapped.kek_id != ring.current.kek_id:
            moved = rewrap(wrapped, ring, dao=_binding(dao)).to_text()
    except SealError as exc:
        raise SecretUnavailable(f"the endpoint's secret does not open: {exc}") from None
    return PREFIX + key.material.hex(), moved
