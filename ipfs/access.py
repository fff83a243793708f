"""Who may read pinned content through this site's ``/ipfs/<cid>``.

The IPFS layer knows nothing about datasets, so apps register policies per pin-label prefix
("contribution:", "release:"); content without a policy is public. Several apps may register
for one prefix (membership, and access grants): any one policy allowing suffices. A refusal
is answered 404, so the existence of members-only content does not leak.

A policy is called with ``user=None`` to ask whether content is public: readable with no
session at all. Only public content may be kept by shared caches; anything else is answered
for one session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Policy = Callable[[Any, str], bool]
_POLICIES: dict[str, list[Policy]] = {}


def register(prefix: str, policy: Policy) -> None:
    """``policy(user, rest_of_label) -> bool`` decides for pins whose label starts with prefix;
    ``user`` is None for "anyone, signed in or not". Registering the same policy twice (an
    app's ``ready()`` run again) keeps one copy."""
    policies = _POLICIES.setdefault(prefix, [])
    if policy not in policies:
        policies.append(policy)


def may_read(user: Any, label: str) -> bool:
    """Whether ``user`` may read content labelled ``label``: the policies of the first
    registered prefix the label starts with are asked in turn, and one yes is enough."""
    for prefix, policies in _POLICIES.items():
        if label.startswith(prefix):
            rest = label[len(prefix) :]
            return any(policy(user, rest) for policy in policies)
    return True


def is_public(label: str) -> bool:
    """Whether anyone may read content with this label, with no session."""
    return may_read(None, label)
