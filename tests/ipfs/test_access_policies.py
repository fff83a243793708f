"""ipfs.access with several policies per label prefix: any one allowing suffices, the first
matching prefix decides, content with no policy is public, and a repeated registration keeps
one copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ipfs import access


@pytest.fixture
def prefix() -> Iterator[str]:
    name = "test-policies:"
    yield name
    access._POLICIES.pop(name, None)


def test_any_policy_allowing_suffices(prefix: str) -> None:
    asked: list[str] = []

    def members(user: object, rest: str) -> bool:
        asked.append("members")
        return user == "member"

    def grants(user: object, rest: str) -> bool:
        asked.append("grants")
        return user == "grantee" and rest == "7"

    access.register(prefix, members)
    access.register(prefix, grants)
    access.register(prefix, members)  # an app's ready() run twice
    assert access._POLICIES[prefix] == [members, grants]
    assert access.may_read("member", f"{prefix}7")
    assert asked == ["members"]  # the first yes ends the asking
    assert access.may_read("grantee", f"{prefix}7")
    assert not access.may_read("grantee", f"{prefix}8")
    assert not access.may_read("stranger", f"{prefix}7")
    assert not access.is_public(f"{prefix}7")
    assert access.may_read("stranger", "unregistered:7") and access.is_public("unregistered:7")


def test_the_apps_register_membership_and_grants_for_both_content_labels() -> None:
    names = {
        prefix: [policy.__qualname__ for policy in policies]
        for prefix, policies in access._POLICIES.items()
        if prefix in ("contribution:", "release:")
    }
    assert names == {
        "contribution:": ["may_read_contribution_pin", "grant_allows_contribution_pin"],
        "release:": ["may_read_release_pin", "grant_allows_release_pin"],
    }
