"""Pick the configured IPFS backend (the only module of the layer that reads settings)."""

from __future__ import annotations

import os
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ipfs import targets
from ipfs.backends.base import IpfsBackend
from ipfs.targets import Target


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


def get_targets() -> list[Target]:
    """Every place a pin may have a replica, in the order replicas are made: the configured
    backend first (where content is added), then ``IPFS_REPLICAS``."""
    entries = tuple(settings.IPFS_REPLICAS)
    try:
        specs = targets.parse_specs(list(entries), primary=settings.IPFS_BACKEND)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    # Tokens are read from the environment here, at use, and are part of the cache key so a
    # changed token gets a new client.
    tokens = tuple(os.environ.get(spec.token_variable, "") for spec in specs)
    return _targets(
        settings.IPFS_BACKEND,
        str(settings.IPFS_EMBEDDED_ROOT),
        settings.IPFS_API_URL,
        settings.IPFS_TIMEOUT_SECONDS,
        tuple(specs),
        tokens,
    )


def replica_specs() -> list[targets.TargetSpec]:
    """``IPFS_REPLICAS`` parsed, each pinning service's token present; ImproperlyConfigured
    with what to fix otherwise. Builds nothing (the system check calls it)."""
    try:
        specs = targets.parse_specs(list(settings.IPFS_REPLICAS), primary=settings.IPFS_BACKEND)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    for spec in specs:
        if spec.kind == "psa" and not os.environ.get(spec.token_variable):
            raise ImproperlyConfigured(
                f"IPFS_REPLICAS entry {spec.name!r} is a pinning service: set its access token "
                f"in {spec.token_variable}"
            )
    return specs


@cache
def _targets(
    kind: str,
    root: str,
    api_url: str,
    timeout: float,
    specs: tuple[targets.TargetSpec, ...],
    tokens: tuple[str, ...],
) -> list[Target]:
    try:
        extra = [
            targets.build(spec, embedded_root=root, timeout=timeout, token=token or None)
            for spec, token in zip(specs, tokens, strict=True)
        ]
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return [targets.primary_target(kind, _build(kind, root, api_url, timeout)), *extra]
