"""Who may run aggregate queries on a release (``services.queries``).

A member of the release's DAO may. Apps above contributions register more policies in their
``AppConfig.ready()`` (access grants with the "query" scope): each answers with the basis it
allows on (e.g. "grant:12"), or None. Kept free of Django imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# ``policy(user, release) -> basis or None``.
Policy = Callable[[Any, Any], str | None]
_POLICIES: dict[str, Policy] = {}


def register(name: str, policy: Policy) -> None:
    _POLICIES[name] = policy


def basis_for(user: Any, release: Any) -> str | None:
    for policy in _POLICIES.values():
        basis = policy(user, release)
        if basis:
            return basis
    return None
