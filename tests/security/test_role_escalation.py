"""Attacks on a DAO's roles and on the four-eyes review, as the console's real POSTs.

The rules (``datadao.services.membership_change_refusal``): only a creator (or a superuser)
grants or takes the creator and admin roles; nobody raises their own role; a DAO may have
several creators but never none; nobody decides a review of their own contribution. Each
attack is made as an admin of the DAO, the role that could make them before; each test checks
the state afterwards, and that a creator doing the same legitimate thing succeeds.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from contributions.errors import ReviewByContributor
from contributions.models import Contribution, Review, Status
from contributions.services import contribution_override
from datadao import services
from datadao.models import AuditEvent, Membership, Role
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dao():  # type: ignore[no-untyped-def]
    return DAOFactory()


@pytest.fixture
def admin_user(dao):  # type: ignore[no-untyped-def]
    user = UserFactory()
    Membership.objects.create(dao=dao, user=user, role=Role.ADMIN)
    return user


def console(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def row(dao, user) -> Membership:  # type: ignore[no-untyped-def]
    return Membership.objects.get(dao=dao, user=user)


def change(client: Client, membership: Membership, role: str):  # type: ignore[no-untyped-def]
    return client.post(f"/admin/datadao/membership/{membership.pk}/change/", {"role": role})


def form_error(response) -> str:  # type: ignore[no-untyped-def]
    """The console's answer to a refused form: the page again (200) with the error."""
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the attack of the issue: an admin takes the DAO from its creator ----------------------------


def test_an_admin_cannot_make_themselves_creator(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    client = console(admin_user)
    own = row(dao, admin_user)
    page = client.get(f"/admin/datadao/membership/{own.pk}/change/").content.decode()
    assert 'value="creator"' not in page  # not offered
    body = form_error(change(client, own, Role.CREATOR))
    assert "Select a valid choice" in body
    own.refresh_from_db()
    assert own.role == Role.ADMIN
    assert not AuditEvent.objects.filter(verb="membership.role_changed").exists()


def test_an_admin_cannot_remove_or_demote_the_creator(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    client = console(admin_user)
    creator = row(dao, dao.creator)
    url = f"/admin/datadao/membership/{creator.pk}"
    assert client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    assert change(client, creator, Role.CONTRIBUTOR).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [creator.pk], "post": "yes"}
    assert client.post("/admin/datadao/membership/", bulk).status_code == 403
    creator.refresh_from_db()
    assert creator.role == Role.CREATOR


def test_the_two_step_takeover_fails_even_with_a_second_creator(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    """Before: the admin made themselves creator, then removed the founder. Neither step
    works, not even when a second creator exists (the last-creator rule is no defence)."""
    co_founder = UserFactory()
    services.membership_add(dao=dao, user=co_founder, role=Role.CREATOR, actor=dao.creator)
    client = console(admin_user)
    change(client, row(dao, admin_user), Role.CREATOR)
    response = client.post(
        f"/admin/datadao/membership/{row(dao, dao.creator).pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    roles = dict(Membership.objects.filter(dao=dao).values_list("user_id", "role"))
    assert roles == {
        dao.creator.pk: Role.CREATOR,
        co_founder.pk: Role.CREATOR,
        admin_user.pk: Role.ADMIN,
    }


def test_an_admin_cannot_grant_admin_or_creator(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    client = console(admin_user)
    accomplice = UserFactory()
    Membership.objects.create(dao=dao, user=accomplice, role=Role.CONTRIBUTOR)
    for role in (Role.ADMIN, Role.CREATOR):
        assert "Select a valid choice" in form_error(change(client, row(dao, accomplice), role))
        newcomer = UserFactory.build().address
        added = client.post(
            "/admin/datadao/membership/add/", {"dao": dao.pk, "role": role, "address": newcomer}
        )
        assert "Only a creator of the DAO may grant" in form_error(added)
        assert not Membership.objects.filter(user__address=newcomer).exists()
    assert row(dao, accomplice).role == Role.CONTRIBUTOR
    # Within their remit an admin still manages members: contributor -> reviewer.
    assert change(client, row(dao, accomplice), Role.REVIEWER).status_code == 302
    assert row(dao, accomplice).role == Role.REVIEWER


def test_an_admin_cannot_demote_or_remove_another_admin(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    rival = UserFactory()
    services.membership_add(dao=dao, user=rival, role=Role.ADMIN, actor=dao.creator)
    client = console(admin_user)
    target = row(dao, rival)
    assert change(client, target, Role.CONTRIBUTOR).status_code == 403
    assert (
        client.post(f"/admin/datadao/membership/{target.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert row(dao, rival).role == Role.ADMIN


def test_nobody_raises_their_own_role(dao) -> None:  # type: ignore[no-untyped-def]
    reviewer = UserFactory()
    Membership.objects.create(dao=dao, user=reviewer, role=Role.REVIEWER)
    with pytest.raises(services.MembershipRefused, match="Nobody may raise their own role"):
        services.membership_set_role(membership=row(dao, reviewer), role=Role.ADMIN, actor=reviewer)
    # A creator of one DAO joining another as its admin is raising their own role too.
    with pytest.raises(services.MembershipRefused, match="Nobody may raise their own role"):
        services.membership_add(
            dao=DAOFactory(), user=dao.creator, role=Role.ADMIN, actor=dao.creator
        )
    superuser = UserFactory(is_superuser=True, is_staff=True)
    other = DAOFactory()
    added = console(superuser).post(
        "/admin/datadao/membership/add/",
        {"dao": other.pk, "role": Role.CREATOR, "address": superuser.address},
    )
    assert "Nobody may raise their own role" in form_error(added)
    assert not Membership.objects.filter(user=superuser).exists()
    assert row(dao, reviewer).role == Role.REVIEWER


def test_a_creator_may_do_what_the_admin_could_not(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    client = console(dao.creator)
    assert change(client, row(dao, admin_user), Role.CREATOR).status_code == 302
    assert row(dao, admin_user).role == Role.CREATOR
    # Two creators now: the founder may step down, and the DAO still has one.
    assert change(client, row(dao, dao.creator), Role.ADMIN).status_code == 302
    assert row(dao, dao.creator).role == Role.ADMIN


def test_the_last_creator_can_neither_leave_nor_step_down(dao) -> None:  # type: ignore[no-untyped-def]
    client = console(dao.creator)
    own = row(dao, dao.creator)
    body = form_error(change(client, own, Role.ADMIN))
    assert "at least one member with role" in body
    response = client.post(f"/admin/datadao/membership/{own.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert row(dao, dao.creator).role == Role.CREATOR
    with pytest.raises(ValidationError, match="at least one member with role 'creator'"):
        services.membership_remove(membership=own, actor=dao.creator)


def test_the_refusal_names_the_problem_in_the_service(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    """What the console's forms show is what the service raises to any other caller."""
    creator = row(dao, dao.creator)
    with pytest.raises(services.MembershipRefused, match="not removed by an admin") as caught:
        services.membership_remove(membership=creator, actor=admin_user)
    assert caught.value.status_code == 403
    with pytest.raises(services.MembershipRefused, match="not demoted by an admin"):
        services.membership_set_role(membership=creator, role=Role.CONTRIBUTOR, actor=admin_user)
    assert row(dao, dao.creator).role == Role.CREATOR


# --- four eyes ------------------------------------------------------------------------------------


def _rejected(dataset, contributor, n: int, review: str = Review.PENDING) -> Contribution:  # type: ignore[no-untyped-def]
    return Contribution.objects.create(
        dataset=dataset,
        contributor=contributor,
        status=Status.REJECTED,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"four-eyes-{n}",
        score=100,
        review=review,
        reasons=["near-duplicate"],
    )


def test_an_admin_cannot_resolve_a_review_of_their_own_contribution(dao, admin_user) -> None:  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(dao=dao)
    own = _rejected(dataset, admin_user, 1)
    client = console(admin_user)
    for action in ("accept_override", "confirm_review", "reject_override"):
        data = {"action": action, "_selected_action": [own.pk], "index": 0}
        response = client.post("/admin/contributions/contribution/", data, follow=True)
        assert "is your own: another manager of the DAO must decide" in response.content.decode()
        own.refresh_from_db()
        assert (own.status, own.review) == (Status.REJECTED, Review.PENDING), action
    with pytest.raises(ReviewByContributor, match="four eyes") as caught:
        contribution_override(contribution=own, actor=admin_user, decision="accept")
    assert caught.value.status_code == 403
    # A second person decides: the creator accepts it.
    data = {"action": "accept_override", "_selected_action": [own.pk], "index": 0}
    assert console(dao.creator).post("/admin/contributions/contribution/", data).status_code == 302
    own.refresh_from_db()
    assert own.status == Status.ACCEPTED and own.review == Review.OVERRIDDEN


def test_a_creator_cannot_resolve_their_own_either(dao) -> None:  # type: ignore[no-untyped-def]
    own = _rejected(DatasetFactory(dao=dao), dao.creator, 2)
    data = {"action": "confirm_review", "_selected_action": [own.pk], "index": 0}
    console(dao.creator).post("/admin/contributions/contribution/", data)
    own.refresh_from_db()
    assert own.review == Review.PENDING
