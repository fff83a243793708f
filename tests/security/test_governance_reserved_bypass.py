"""Attack: a DAO reserves role changes for governance, and a creator takes the roles away in the
console anyway, by removing the members who hold them (a demotion to nothing; adding them back
as contributors is open to any manager). Refused for creators, admins and reviewers unless
they leave themselves; contributors are removed as before."""

from __future__ import annotations

import pytest

from datadao import services as dao_services
from datadao.governed import ChangeKind, ReservedForGovernance
from datadao.models import Membership, Role
from tests.governance.conftest import Gov, gov  # noqa: F401  (fixture)
from tests.governance.test_reserved import RESERVED, _console, _reserve

pytestmark = pytest.mark.django_db


def _member(world: Gov, who: str) -> Membership:
    return Membership.objects.get(dao=world.dao, user=world.users[who])


@pytest.fixture
def reserved(gov: Gov) -> Gov:  # noqa: F811
    """Bob is a second creator, carol a reviewer; then role changes are reserved."""
    dao_services.membership_set_role(membership=_member(gov, "bob"), role=Role.CREATOR, actor=None)
    dao_services.membership_set_role(
        membership=_member(gov, "carol"), role=Role.REVIEWER, actor=None
    )
    _reserve(gov, ChangeKind.MEMBERSHIP_ROLE)
    return gov


def test_the_console_cannot_remove_an_admin_when_roles_are_reserved(reserved: Gov) -> None:
    admin = _member(reserved, "admin")
    page = _console(reserved).post(f"/admin/datadao/membership/{admin.pk}/delete/", {"post": "yes"})
    assert page.status_code == 403
    assert Membership.objects.filter(pk=admin.pk, role=Role.ADMIN).exists()


def test_the_bulk_delete_action_removes_no_privileged_member(reserved: Gov) -> None:
    ids = [_member(reserved, w).pk for w in ("admin", "bob", "carol", "alice")]
    data = {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    page = _console(reserved).post("/admin/datadao/membership/", data, follow=True)
    assert page.status_code in (200, 403)
    # The admin, the other creator and the reviewer stay; the contributor may go.
    left = set(Membership.objects.filter(pk__in=ids).values_list("role", flat=True))
    assert {Role.ADMIN, Role.CREATOR, Role.REVIEWER} <= left


def test_a_creator_cannot_remove_another_creator_or_a_reviewer(reserved: Gov) -> None:
    for who in ("bob", "carol"):
        with pytest.raises(ReservedForGovernance) as refusal:
            dao_services.membership_remove(
                membership=_member(reserved, who), actor=reserved.users["creator"]
            )
        assert RESERVED in " ".join(refusal.value.messages)
        assert refusal.value.code == "reserved_for_governance"
    assert _member(reserved, "bob").role == Role.CREATOR
    assert _member(reserved, "carol").role == Role.REVIEWER


def test_members_still_leave_and_contributors_are_still_removed(reserved: Gov) -> None:
    dao_services.membership_remove(
        membership=_member(reserved, "carol"), actor=reserved.users["carol"]
    )
    dao_services.membership_remove(
        membership=_member(reserved, "alice"), actor=reserved.users["creator"]
    )
    users = set(Membership.objects.filter(dao=reserved.dao).values_list("user_id", flat=True))
    assert reserved.users["carol"].pk not in users and reserved.users["alice"].pk not in users
