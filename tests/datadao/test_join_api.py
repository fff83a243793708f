"""Joining over HTTP: the terms, join and leave endpoints with real wallet signatures
(eth-account signs what GET …/terms returns), CSRF enforced as in a browser; the DAO page's
join controls and the invite page; the console's join requests and invite links."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from contributions.tokens import api_token_create
from datadao import joining
from datadao.models import (
    DAO,
    DatasetStatus,
    InviteLink,
    JoinPolicy,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
    TermsAcceptance,
)
from datadao.services import dataset_set_status, membership_add
from tests.datadao.joinkit import sign, signed_terms, wallet_user
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _dao(policy: str = JoinPolicy.OPEN) -> DAO:
    dao = DAOFactory(join_policy=policy, terms="Be kind to the data.", chain_id=10)
    dataset_set_status(
        dataset=DatasetFactory(dao=dao, license="CC0-1.0"), actor=None, status=DatasetStatus.OPEN
    )
    return dao


def _browser(user) -> Client:  # type: ignore[no-untyped-def]
    """A signed-in browser: CSRF checked, the cookie set by a GET as the page's script does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.get("/auth/nonce")
    return client


def _post(client: Client, url: str, body: object = None) -> object:
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    data = json.dumps(body) if body is not None else ""
    return client.post(url, data, content_type="application/json", headers={"X-CSRFToken": token})


def _sign_served_terms(client: Client, dao: DAO, user, account) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/daos/{dao.slug}/terms", {"address": user.address.lower()})
    assert response.status_code == 200, response.content
    served = response.json()
    return {"typedData": served["typedData"], "signature": sign(served["typedData"], account)}


# --- the API -------------------------------------------------------------------------------------


def test_terms_describe_what_to_sign() -> None:
    dao = _dao()
    user, _ = wallet_user()
    body = Client().get(f"/api/daos/{dao.slug}/terms", {"address": user.address}).json()
    assert body["joinPolicy"] == "open" and body["terms"] == "Be kind to the data."
    assert body["licenses"] == "CC0-1.0" and body["maxAgeSeconds"] == 600
    typed = body["typedData"]
    assert typed["primaryType"] == "JoinTerms"
    assert typed["domain"] == {"name": "datadao", "version": "1", "chainId": 10}
    assert typed["message"]["member"] == user.address
    assert typed["message"]["daoId"] == dao.onchain_id
    assert typed["message"]["termsHash"] == body["termsHash"]
    assert abs(int(typed["message"]["issuedAt"]) - timezone.now().timestamp()) < 5


@pytest.mark.parametrize("query", [{}, {"address": "0x123"}, {"address": "nobody"}])
def test_terms_need_an_address(query) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(f"/api/daos/{_dao().slug}/terms", query)
    assert response.status_code == 400 and response.json()["error"] == "bad_address"


def test_terms_of_an_unknown_dao_are_404() -> None:
    response = Client().get("/api/daos/no-such-dao/terms", {"address": "0x" + "1" * 40})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_join_an_open_dao_over_http() -> None:
    dao = _dao(JoinPolicy.OPEN)
    user, account = wallet_user()
    client = _browser(user)
    response = _post(
        client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["dao"] == dao.slug and body["address"] == user.address
    assert body["role"] == "contributor" and "joined_at" in body
    assert Membership.objects.filter(dao=dao, user=user, role=Role.CONTRIBUTOR).exists()


def test_request_to_join_over_http_then_approved() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    client = _browser(user)
    response = _post(
        client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account)
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["decided_at"] is None
    again = _post(
        client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account)
    )
    assert again.status_code == 409 and again.json()["error"] == "request_pending"
    joining.join_request_approve(
        join_request=JoinRequest.objects.get(pk=body["id"]), actor=dao.creator
    )
    assert Membership.objects.filter(dao=dao, user=user).exists()


def test_join_with_an_invite_over_http() -> None:
    dao = _dao(JoinPolicy.INVITE)
    _, token = joining.invite_link_create(dao=dao, actor=dao.creator)
    user, account = wallet_user()
    client = _browser(user)
    signed = _sign_served_terms(client, dao, user, account)
    refused = _post(client, f"/api/daos/{dao.slug}/join", signed)
    assert refused.status_code == 403 and refused.json()["error"] == "invite_required"
    response = _post(client, f"/api/daos/{dao.slug}/join", {**signed, "invite": token})
    assert response.status_code == 201, response.content


def test_a_signature_by_another_wallet_is_refused_over_http() -> None:
    dao = _dao()
    user, _ = wallet_user()
    _, attacker = wallet_user()
    client = _browser(user)
    response = _post(
        client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, attacker)
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "wrong_signer" and attacker.address in body["detail"]
    assert not Membership.objects.filter(dao=dao, user=user).exists()
    assert not TermsAcceptance.objects.exists()


def test_stale_and_wrong_chain_terms_are_refused_over_http() -> None:
    dao = _dao()
    user, account = wallet_user()
    client = _browser(user)
    typed, signature = signed_terms(
        dao, user, account, now=timezone.now() - timedelta(minutes=10, seconds=5)
    )
    stale = _post(
        client, f"/api/daos/{dao.slug}/join", {"typedData": typed, "signature": signature}
    )
    assert stale.status_code == 400 and stale.json()["error"] == "stale_terms"
    typed, _ = signed_terms(dao, user, account)
    typed["domain"]["chainId"] = 1
    wrong = _post(
        client,
        f"/api/daos/{dao.slug}/join",
        {"typedData": typed, "signature": sign(typed, account)},
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "wrong_chain"
    assert "this DAO is on chain 10" in wrong.json()["detail"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "bad_request"),
        (b"[1]", "bad_request"),
        (b'{"typedData": {}, "signature": "0x", "invite": 5}', "bad_request"),
        (b'{"signature": "0x00"}', "bad_typed_data"),
    ],
)
def test_malformed_bodies_are_400(body, code) -> None:  # type: ignore[no-untyped-def]
    dao = _dao()
    user, _ = wallet_user()
    client = _browser(user)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        f"/api/daos/{dao.slug}/join",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400 and response.json()["error"] == code


def test_join_and_leave_need_a_session_csrf_and_refuse_tokens() -> None:
    dao = _dao()
    user, account = wallet_user()
    assert Client().post(f"/api/daos/{dao.slug}/join").json()["error"] == "unauthenticated"
    assert Client().post(f"/api/daos/{dao.slug}/leave").status_code == 401
    client = _browser(user)
    signed = _sign_served_terms(client, dao, user, account)
    no_csrf = client.post(
        f"/api/daos/{dao.slug}/join", json.dumps(signed), content_type="application/json"
    )
    assert no_csrf.status_code == 403 and b"CSRF verification failed" in no_csrf.content
    _, plain = api_token_create(user=user, name="t", scopes=["upload", "label", "read"])
    with_token = Client().post(
        f"/api/daos/{dao.slug}/join",
        json.dumps(signed),
        content_type="application/json",
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert with_token.status_code == 403 and with_token.json()["error"] == "token_not_accepted"
    assert not Membership.objects.filter(dao=dao, user=user).exists()


def test_leave_over_http() -> None:
    dao = _dao()
    user, account = wallet_user()
    client = _browser(user)
    _post(client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account))
    response = _post(client, f"/api/daos/{dao.slug}/leave")
    assert response.status_code == 204
    assert not Membership.objects.filter(dao=dao, user=user).exists()
    again = _post(client, f"/api/daos/{dao.slug}/leave")
    assert again.status_code == 409 and again.json()["error"] == "not_member"
    last = _post(_browser(dao.creator), f"/api/daos/{dao.slug}/leave")
    assert last.status_code == 409 and last.json()["error"] == "last_creator"


# --- the pages ------------------------------------------------------------------------------------


def _page(client: Client, dao: DAO) -> str:
    response = client.get(f"/daos/{dao.slug}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("policy", "button"),
    [(JoinPolicy.OPEN, ">Join</button>"), (JoinPolicy.REQUEST, ">Request to join</button>")],
)
def test_the_dao_page_offers_the_policys_button(policy, button) -> None:  # type: ignore[no-untyped-def]
    dao = _dao(policy)
    user, _ = wallet_user()
    page = _page(_browser(user), dao)
    assert button in page and 'class="dao-join"' in page
    assert f'data-join-url="/api/daos/{dao.slug}/join"' in page
    assert "Be kind to the data." in page and "CC0-1.0" in page
    assert "datadao/join.js" in page


def test_invite_only_shows_no_join_button_and_anonymous_see_none() -> None:
    dao = _dao(JoinPolicy.INVITE)
    user, _ = wallet_user()
    assert 'class="dao-join"' not in _page(_browser(user), dao)
    assert 'class="dao-join"' not in _page(Client(), _dao(JoinPolicy.OPEN))


def test_the_dao_page_shows_a_pending_then_a_declined_request() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    client = _browser(user)
    _post(client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account))
    page = _page(client, dao)
    assert 'data-state="pending"' in page and 'class="dao-join"' not in page
    joining.join_request_decline(join_request=JoinRequest.objects.get(user=user), actor=dao.creator)
    page = _page(client, dao)
    assert 'data-state="declined"' in page and "<strong>declined</strong>" in page


def test_a_member_sees_the_terms_they_signed_and_a_leave_button() -> None:
    dao = _dao(JoinPolicy.OPEN)
    user, account = wallet_user()
    client = _browser(user)
    _post(client, f"/api/daos/{dao.slug}/join", _sign_served_terms(client, dao, user, account))
    acceptance = TermsAcceptance.objects.get(user=user)
    page = _page(client, dao)
    assert "Terms you signed" in page and acceptance.signature in page
    assert 'class="dao-leave"' in page and 'class="dao-join"' not in page
    # The last creator is told why there is no leave button.
    creator_page = _page(_browser(dao.creator), dao)
    assert 'class="dao-leave"' not in creator_page and "You are its last creator" in creator_page


def test_the_invite_page() -> None:
    dao = _dao(JoinPolicy.INVITE)
    link, token = joining.invite_link_create(dao=dao, actor=dao.creator)
    user, _ = wallet_user()
    valid = _browser(user).get(f"/daos/{dao.slug}/invite/{token}")
    assert valid.status_code == 200
    assert f'data-invite="{token}"' in valid.content.decode()
    # Joined from the invite, the page goes on to the DAO's page (the link may be spent).
    assert f'data-joined-url="/daos/{dao.slug}/"' in valid.content.decode()
    anonymous = Client().get(f"/daos/{dao.slug}/invite/{token}")
    assert anonymous.status_code == 200 and b"Sign in with your wallet" in anonymous.content
    assert Client().get(f"/daos/{dao.slug}/invite/wrong-token").status_code == 404
    joining.invite_link_revoke(invite=link, actor=dao.creator)
    revoked = Client().get(f"/daos/{dao.slug}/invite/{token}")
    assert revoked.status_code == 410 and b"revoked" in revoked.content


# --- the console ----------------------------------------------------------------------------------


def _console(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _pending(dao: DAO) -> JoinRequest:
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    return joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature)  # type: ignore[return-value]


def test_console_approve_and_decline_by_the_daos_admin() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    admin = UserFactory()
    membership_add(dao=dao, user=admin, role=Role.ADMIN, actor=None)
    approve, decline = _pending(dao), _pending(dao)
    client = _console(admin)
    listing = client.get("/admin/datadao/joinrequest/")
    assert listing.status_code == 200 and approve.user.address in listing.content.decode()
    url = "/admin/datadao/joinrequest/"
    client.post(url, {"action": "approve", "_selected_action": [approve.pk]})
    client.post(url, {"action": "decline", "_selected_action": [decline.pk]})
    approve.refresh_from_db()
    decline.refresh_from_db()
    assert (
        approve.status == JoinRequestStatus.APPROVED
        and decline.status == JoinRequestStatus.DECLINED
    )
    assert Membership.objects.filter(dao=dao, user=approve.user).exists()
    assert not Membership.objects.filter(dao=dao, user=decline.user).exists()
    # Deciding again is refused with the service's message.
    response = client.post(
        url, {"action": "approve", "_selected_action": [decline.pk]}, follow=True
    )
    assert "This request was declined already" in response.content.decode()


def test_console_decisions_are_refused_to_contributors_and_other_daos_admins() -> None:
    dao, elsewhere = _dao(JoinPolicy.REQUEST), _dao(JoinPolicy.REQUEST)
    contributor, foreign_admin = UserFactory(), UserFactory()
    membership_add(dao=dao, user=contributor, role=Role.CONTRIBUTOR, actor=None)
    membership_add(dao=elsewhere, user=foreign_admin, role=Role.ADMIN, actor=None)
    request = _pending(dao)
    for user in (contributor, foreign_admin):
        _console(user).post(
            "/admin/datadao/joinrequest/", {"action": "approve", "_selected_action": [request.pk]}
        )
    request.refresh_from_db()
    assert request.status == JoinRequestStatus.PENDING
    assert not Membership.objects.filter(dao=dao, user=request.user).exists()


def test_console_creates_an_invite_shown_once_and_revokes_it() -> None:
    dao = _dao(JoinPolicy.INVITE)
    client = _console(dao.creator)
    response = client.post(
        "/admin/datadao/invitelink/add/",
        {"dao": dao.pk, "note": "for Ada", "max_uses": 2, "valid_for_days": 3},
        follow=True,
    )
    page = response.content.decode()
    match = re.search(rf"/daos/{dao.slug}/invite/([A-Za-z0-9_-]+)", page)
    assert match, page[:2000]
    link = InviteLink.objects.get(dao=dao)
    assert link.token_hash == joining.token_hash(match.group(1)) and link.max_uses == 2
    assert timedelta(days=2, hours=23) < link.expires_at - timezone.now() <= timedelta(days=3)
    # Not shown again.
    assert (
        match.group(1)
        not in client.get(f"/admin/datadao/invitelink/{link.pk}/change/").content.decode()
    )
    client.post("/admin/datadao/invitelink/", {"action": "revoke", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == dao.creator


def test_console_dao_form_edits_the_join_policy_and_terms() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    client = _console(dao.creator)
    page = client.get(f"/admin/datadao/dao/{dao.pk}/change/").content.decode()
    assert 'name="join_policy"' in page and 'name="terms"' in page


def test_founding_page_sets_the_policy_and_terms() -> None:
    user = UserFactory()
    client = _console(user)
    assert b'name="join_policy"' in client.get("/daos/new").content
    response = client.post(
        "/daos/new",
        {
            "name": "Open Air",
            "slug": "open-air",
            "token_symbol": "AIR",
            "chain_id": 1,
            "join_policy": "open",
            "terms": "Share alike.",
        },
    )
    assert response.status_code == 302
    dao = DAO.objects.get(slug="open-air")
    assert (dao.join_policy, dao.terms) == ("open", "Share alike.")
