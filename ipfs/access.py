"""Who may read pinned content through this site's ``/ipfs/<cid>``.

The IPFS layer knows nothing about datasets, so apps register a policy per pin-label prefix
("contribution:", "release:"); content without a policy is public. A refusal is answered 404,
so the existence of members-only content does not leak.

A policy is called with ``user=None`` to ask whether content is public: readable with no
session at all. Only public content may be kept by shared caches; anything else is answered
for one session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Policy = Callable[[Any, str], bool]
_POLICIES: dict[str, Policy] = {}


def register(prefix: str, policy: Policy) -> None:
    """``policy(user, rest_of_label) -> bool`` decides for pins whose label starts with prefix;
    ``user`` is None for "anyone, signed in or not"."""
    _POLICIES[prefix] = policy


def may_read(user: Any, label: str) -> bool:
    for prefix, policy in _POLICIES.items():
        if label.startswith(prefix):
            return policy(user, label[len(prefix) :])
    return True


def is_public(label: str) -> bool:
    """Whether anyone may read content with this label, with no session."""
    return may_read(None, label)
