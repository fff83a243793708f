"""Pick the configured IPFS backend (the only module of the layer that reads settings)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ipfs.backends.base import IpfsBackend


def get_backend() -> IpfsBackend:
    """The backend named by ``IPFS_BACKEND``: ``embedded`` (default) or ``kubo``."""
    return _build(
        settings.IPFS_BACKEND,
        str(settings.IPFS_EMBEDDED_ROOT),
        settings.IPFS_API_URL,
        settings.IPFS_TIMEOUT_SECONDS,
    )


@cache
def _build(kind: str, root: str, api_url: str, timeout: float) -> IpfsBackend:
    # Cached per configuration: the Kubo client keeps an HTTP session worth reusing, and a
    # test that overrides settings gets its own backend instead of a stale one.
    if kind == "embedded":
        from ipfs.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(root)
    if kind == "kubo":
        if not api_url:
            raise ImproperlyConfigured(
                "IPFS_BACKEND=kubo needs IPFS_API_URL (e.g. http://127.0.0.1:5001)."
            )
        from ipfs.backends.kubo import KuboBackend

        return KuboBackend(api_url, timeout=timeout)
    raise ImproperlyConfigured(f"IPFS_BACKEND must be 'embedded' or 'kubo', not {kind!r}.")
