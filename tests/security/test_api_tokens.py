"""Attacks with API tokens, through the real HTTP paths against PostgreSQL.

A token acts for its user only within its scopes (upload, label, read), until it expires or
is revoked, and never for account-level things (minting, listing or revoking tokens, pages,
the console). ``contributions.token_auth`` decides all of it before a view runs; each test
below is one way to try to get past it, and checks the refusal's code and message and that
nothing was written.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contributions.models import ApiToken, Contribution
from contributions.tokens import LAST_USED_RESOLUTION, api_token_create
from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from labeling.models import Assignment, LabelTask
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

CSRF_SECRET = "apiTokensCsrfSecret0123456789abc"


@pytest.fixture
def member():  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def dao(member):  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    return dao


@pytest.fixture
def tabular(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA)
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


@pytest.fixture
def labeling(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=dao,
        kind="labeling",
        schema={"labels": ["cat", "dog"], "overlap": 3, "item_kind": "text"},
    )
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    LabelTask.objects.create(dataset=dataset, source_key="t0", kind="text", payload={"text": "x"})
    return dataset


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: Client, dataset, token: str, n: int = 0):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/datasets/{dataset.pk}/contributions",
        {"file": SimpleUploadedFile("d.csv", good_csv(3, start=n), "text/csv")},
        headers=bearer(token),
    )


def session(user) -> Client:  # type: ignore[no-untyped-def]
    """A signed-in browser that passes Django's CSRF check (the secret in cookie and header)."""
    client = Client(enforce_csrf_checks=True, headers={"X-CSRFToken": CSRF_SECRET})
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


def refused(response, status: int, code: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["detail"], body


# --- scopes -------------------------------------------------------------------------------------


def test_a_read_token_cannot_upload(member, tabular) -> None:  # type: ignore[no-untyped-def]
    _, token = api_token_create(user=member, name="reader", scopes=["read"])
    response = upload(Client(), tabular, token)
    refused(response, 403, "insufficient_scope", "'upload'")
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="upload"'
    assert not Contribution.objects.exists()
    # The same user's session may: the refusal was the token's scope, not the member.
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    ok = client.post(
        f"/api/datasets/{tabular.pk}/contributions",
        {"file": SimpleUploadedFile("d.csv", good_csv(3), "text/csv")},
    )
    assert ok.status_code == 201, ok.content


def test_an_upload_token_can_neither_read_nor_label(member, tabular, labeling) -> None:  # type: ignore[no-untyped-def]
    _, token = api_token_create(user=member, name="uploader", scopes=["upload"])
    client = Client()
    assert upload(client, tabular, token).status_code == 201
    refused(
        client.get("/api/contributions", headers=bearer(token)), 403, "insufficient_scope", "'read'"
    )
    refused(
        client.get(f"/api/labeling/{labeling.pk}/next", headers=bearer(token)),
        403,
        "insufficient_scope",
        "'label'",
    )
    assert not Assignment.objects.exists()


def test_a_label_token_cannot_upload_or_import(member, tabular, labeling) -> None:  # type: ignore[no-untyped-def]
    _, token = api_token_create(user=member, name="labeler", scopes=["label"])
    client = Client()
    assert client.get(f"/api/labeling/{labeling.pk}/next", headers=bearer(token)).status_code == 200
    refused(upload(client, tabular, token), 403, "insufficient_scope", "'upload'")
    refused(
        client.post(
            f"/api/labeling/{labeling.pk}/imports",
            {"file": SimpleUploadedFile("i.csv", b"text\nhi\n")},
            headers=bearer(token),
        ),
        403,
        "insufficient_scope",
        "'upload'",
    )
    # A method the endpoint does not take with a token is refused before the view.
    response = client.delete(f"/api/labeling/{labeling.pk}/consensus", headers=bearer(token))
    assert response.status_code == 405
    assert not Contribution.objects.exists()


# --- revoked, expired, deactivated, forged ------------------------------------------------------


def test_a_revoked_token_is_refused_at_once(member, tabular) -> None:  # type: ignore[no-untyped-def]
    token, plain = api_token_create(user=member, name="leaked", scopes=["upload", "read"])
    client = Client()
    assert client.get("/api/contributions", headers=bearer(plain)).status_code == 200
    owner = session(member)
    assert owner.delete(f"/api/tokens/{token.pk}").status_code == 204
    response = client.get("/api/contributions", headers=bearer(plain))
    refused(response, 401, "token_revoked", token.prefix)
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    refused(upload(client, tabular, plain), 401, "token_revoked")
    assert not Contribution.objects.exists()
    # Revoking again changes nothing and says so the same way.
    assert owner.delete(f"/api/tokens/{token.pk}").status_code == 204


def test_an_expired_token_is_refused(member, tabular) -> None:  # type: ignore[no-untyped-def]
    token, plain = api_token_create(user=member, name="old", lifetime=timedelta(days=1))
    # Two days on: moved back in time rather than waiting for it.
    back = timedelta(days=2)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=token.created_at - back, expires_at=token.expires_at - back
    )
    client = Client()
    refused(
        client.get("/api/contributions", headers=bearer(plain)), 401, "token_expired", "expired"
    )
    refused(upload(client, tabular, plain), 401, "token_expired")
    assert not Contribution.objects.exists()


def test_a_deactivated_accounts_token_and_forged_tokens_are_refused(member) -> None:  # type: ignore[no-untyped-def]
    _, plain = api_token_create(user=member, name="t")
    member.is_active = False
    member.save(update_fields=["is_active"])
    client = Client()
    refused(
        client.get("/api/contributions", headers=bearer(plain)),
        401,
        "unauthenticated",
        "deactivated",
    )
    for forged in ("dd_" + "A" * 43, plain[:-1], "not-a-token", "dd_" + "x" * 300):
        refused(client.get("/api/contributions", headers=bearer(forged)), 401, "unauthenticated")
    # The scheme is case-insensitive (RFC 7235): "bearer" is no way around the checks.
    response = client.get("/api/contributions", headers={"Authorization": f"bearer {plain}"})
    refused(response, 401, "unauthenticated", "deactivated")


# --- account-level things -----------------------------------------------------------------------


def test_a_token_cannot_mint_list_or_revoke_tokens(member) -> None:  # type: ignore[no-untyped-def]
    _, plain = api_token_create(user=member, name="all scopes")
    other, _ = api_token_create(user=member, name="other")
    client = Client()
    attempts = [
        client.post(
            "/api/tokens", {"name": "minted", "scopes": "upload,label,read"}, headers=bearer(plain)
        ),
        client.get("/api/tokens", headers=bearer(plain)),
        client.delete(f"/api/tokens/{other.pk}", headers=bearer(plain)),
        client.get("/me/tokens", headers=bearer(plain)),
        client.post("/me/tokens/new", {"name": "minted"}, headers=bearer(plain)),
        client.post(f"/me/tokens/{other.pk}/revoke", headers=bearer(plain)),
    ]
    for response in attempts:
        refused(response, 403, "token_not_accepted", "session only")
    assert ApiToken.objects.filter(user=member).count() == 2
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    # Not even alongside the owner's session cookie: the header is what is checked.
    owner = session(member)
    response = owner.post("/api/tokens", {"name": "minted"}, headers=bearer(plain))
    refused(response, 403, "token_not_accepted")
    assert ApiToken.objects.filter(user=member).count() == 2


def test_a_token_is_no_key_to_pages_the_console_or_rewards(member) -> None:  # type: ignore[no-untyped-def]
    member.is_staff = member.is_superuser = True
    member.save(update_fields=["is_staff", "is_superuser"])
    _, plain = api_token_create(user=member, name="t")
    client = Client()
    for url in ("/admin/", "/admin/datadao/user/", "/me/contributions", "/me/rewards", "/auth/me"):
        refused(client.get(url, headers=bearer(plain)), 403, "token_not_accepted")
    refused(client.get("/api/rewards/vouchers/1", headers=bearer(plain)), 403, "token_not_accepted")
    refused(client.post("/auth/logout", headers=bearer(plain)), 403, "token_not_accepted")


def test_a_token_with_someone_elses_session_acts_only_as_the_token(member, tabular) -> None:  # type: ignore[no-untyped-def]
    """A read-only token sent with a cookie of a member who may upload: the token decides."""
    stranger = UserFactory()
    _, plain = api_token_create(user=stranger, name="reader", scopes=["read"])
    browser = Client()
    browser.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    refused(upload(browser, tabular, plain), 403, "insufficient_scope")
    listed = browser.get("/api/contributions", headers=bearer(plain)).json()
    assert listed["count"] == 0  # the stranger's, not the member's
    assert not Contribution.objects.exists()


# --- managing tokens with the session -----------------------------------------------------------


def test_another_users_token_cannot_be_revoked_or_seen(member) -> None:  # type: ignore[no-untyped-def]
    victim = UserFactory()
    token, plain = api_token_create(user=victim, name="victim's")
    attacker = session(member)
    refused(attacker.delete(f"/api/tokens/{token.pk}"), 404, "not_found", str(token.pk))
    missing = attacker.delete("/api/tokens/2147483000")
    assert missing.status_code == 404
    page = attacker.post(f"/me/tokens/{token.pk}/revoke")
    assert page.status_code == 404
    assert attacker.get("/api/tokens").json() == {"count": 0, "results": []}
    token.refresh_from_db()
    assert token.revoked_at is None
    assert Client().get("/api/contributions", headers=bearer(plain)).status_code == 200


def test_the_list_shows_everything_but_the_secret(member) -> None:  # type: ignore[no-untyped-def]
    client = session(member)
    created = client.post(
        "/api/tokens",
        json.dumps({"name": "labeling script", "scopes": ["label", "read"], "expires_in_days": 7}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    plain = body["token"]
    assert body["name"] == "labeling script" and body["scopes"] == ["label", "read"]
    assert body["status"] == "active" and body["last_used_at"] is None
    Client().get("/api/contributions", headers=bearer(plain))
    listed = client.get("/api/tokens")
    assert plain not in listed.content.decode()
    [item] = listed.json()["results"]
    assert "token" not in item and item["prefix"] == plain[:8]
    assert item["last_used_at"] is not None and item["revoked_at"] is None
    expires = timezone.datetime.fromisoformat(item["expires_at"])
    assert timedelta(days=6) < expires - timezone.now() <= timedelta(days=7)
    assert plain not in client.get("/me/tokens").content.decode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"scopes": ["admin"]}, ("'admin'", "upload, label, read")),
        ({"scopes": []}, ("at least one scope",)),
        ({"expires_in_days": 0}, ("1 to 365",)),
        ({"expires_in_days": 366}, ("365",)),
        ({"expires_in_days": "soon"}, ("expires_in_days",)),
        ({"name": "a\x00b"}, ("NUL",)),
        ({"scopes": "read"}, ("list",)),
    ],
)
def test_a_token_request_out_of_bounds_is_refused(member, body, words) -> None:  # type: ignore[no-untyped-def]
    client = session(member)
    response = client.post("/api/tokens", json.dumps(body), content_type="application/json")
    refused(response, 400, "bad_request", *words)
    assert not ApiToken.objects.exists()


def test_a_token_without_scopes_asked_may_only_read(member, tabular) -> None:  # type: ignore[no-untyped-def]
    created = session(member).post("/api/tokens", {"name": "ci"})
    assert created.status_code == 201
    assert created.json()["scopes"] == ["read"] and created.json()["name"] == "ci"
    refused(upload(Client(), tabular, created.json()["token"]), 403, "insufficient_scope")


def test_the_page_creates_and_revokes_with_csrf_only(member) -> None:  # type: ignore[no-untyped-def]
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    assert forged.post("/me/tokens/new", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert not ApiToken.objects.exists()
    client = session(member)
    page = client.post("/me/tokens/new", {"name": "page", "scopes": ["read", "label"]})
    assert page.status_code == 201
    token = ApiToken.objects.get(user=member)
    assert token.name == "page" and token.scopes == ["label", "read"]
    html = page.content.decode()
    assert "shown only once" in html and token.prefix in html
    assert forged.post(f"/me/tokens/{token.pk}/revoke").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.post(f"/me/tokens/{token.pk}/revoke").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_last_used_is_written_at_most_once_a_minute(member) -> None:  # type: ignore[no-untyped-def]
    token, plain = api_token_create(user=member, name="busy")
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/api/contributions", headers=bearer(plain)).status_code == 200
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "contributions_apitoken"')]
    assert len(updates) == 1, updates
    # A minute later, the next use moves it again.
    earlier = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    client.get("/api/contributions", headers=bearer(plain))
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > earlier


def test_the_api_revoke_and_create_need_the_csrf_token(member) -> None:  # type: ignore[no-untyped-def]
    """A page elsewhere cannot revoke or mint tokens with the victim's cookie."""
    token, _ = api_token_create(user=member, name="t")
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    for response in (
        forged.delete(f"/api/tokens/{token.pk}"),
        forged.post("/api/tokens", {"name": "minted", "scopes": "upload"}),
    ):
        assert response.status_code == 403 and b"CSRF verification failed" in response.content
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.filter(user=member).count() == 1


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "form"])
def test_a_created_token_keeps_the_name_it_was_given(member, as_json) -> None:  # type: ignore[no-untyped-def]
    """``POST /api/tokens`` stores the name asked for (outer whitespace trimmed), shows it on
    the list and the page; only a missing or blank name gets the one default name."""
    client = session(member)
    names = ["nightly upload job", "  backfill 2024  ", "", "   "]
    for name in names:
        body = {"name": name, "scopes": ["upload"]}
        response = (
            client.post("/api/tokens", json.dumps(body), content_type="application/json")
            if as_json
            else client.post("/api/tokens", {"name": name, "scopes": "upload"})
        )
        assert response.status_code == 201, response.content
    stored = list(
        ApiToken.objects.filter(user=member).order_by("id").values_list("name", flat=True)
    )
    assert stored == ["nightly upload job", "backfill 2024", "token", "token"]
    listed = [item["name"] for item in client.get("/api/tokens").json()["results"]]
    assert sorted(listed) == sorted(stored)
    assert "nightly upload job" in client.get("/me/tokens").content.decode()
    without = client.post("/api/tokens", json.dumps({}), content_type="application/json")
    assert without.json()["name"] == "token"
