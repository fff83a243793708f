"""Access grants end to end (issue #21 items 6 and 7), against PostgreSQL and the js-ipfs node:
an admin-signed EIP-712 grant lets a consumer who is no member read a members-only dataset's
bytes through /ipfs/<cid>, and every attack on a grant is refused."""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from eth_account import Account

from datadao.models import AuditEvent
from rights import grant712
from rights.models import AccessGrant, ReadEvent
from tests.rights.world import (
    World,
    build_world,
    content,
    grant_payload,
    post_json,
    signed_in,
    siwe_client,
)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


@pytest.fixture
def world(ipfs_node) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        yield build_world()


def _grants_url(w: World) -> str:
    return f"/api/daos/{w.dao.slug}/grants"


def _record(w: World, body: dict, client: Client | None = None):  # type: ignore[no-untyped-def]
    return post_json(client or signed_in(w.admin), _grants_url(w), body)


def test_a_consumer_with_a_grant_reads_the_plaintext_from_the_node_and_sees_it_listed(
    world: World,
) -> None:
    consumer = Account.create()
    browser = siwe_client(consumer)  # a wallet sign-in; no membership anywhere
    cid = world.in_release.cid
    assert browser.get(f"/ipfs/{cid}").status_code == 404

    response = _record(
        world, grant_payload(world.dao, world.admin, consumer.address, world.dataset)
    )
    assert response.status_code == 201, response.content
    grant = response.json()
    assert grant["grantee"] == consumer.address and grant["status"] == "active"
    assert grant["signer"] == world.admin.address and grant["release"] is None
    assert grant["download"] == f"/ipfs/{world.release.cid}"

    served = browser.get(f"/ipfs/{cid}")
    assert served.status_code == 200 and content(served) == world.plaintext
    assert served["Cache-Control"].startswith("private")
    assert browser.get(f"/ipfs/{world.release.cid}").status_code == 200
    # A dataset grant covers every contribution of it, released or not.
    assert browser.get(f"/ipfs/{world.not_in_release.cid}").status_code == 200

    listed = browser.get("/api/me/grants").json()
    assert [g["id"] for g in listed["grants"]] == [grant["id"]] and listed["purchases"] == []
    page = browser.get("/me/access")
    assert page.status_code == 200 and world.dataset.name.encode() in page.content
    assert f'href="/ipfs/{world.release.cid}"'.encode() in page.content

    reads = ReadEvent.objects.filter(grant_id=grant["id"]).order_by("pk")
    assert [(r.basis, r.cid, r.reader.address) for r in reads] == [
        ("grant", cid, consumer.address),
        ("grant", world.release.cid, consumer.address),
        ("grant", world.not_in_release.cid, consumer.address),
    ]
    event = AuditEvent.objects.get(verb="grant.issued")
    assert event.details["grantee"] == consumer.address and event.dao_id == world.dao.pk


def test_a_grantee_downloads_the_release_through_the_api_and_query_scope_does_not(
    world: World,
) -> None:
    downloader, querier = Account.create(), Account.create()
    for account, scope in ((downloader, "download"), (querier, "query")):
        body = grant_payload(world.dao, world.admin, account.address, world.dataset, scope=scope)
        assert _record(world, body).status_code == 201
    url = f"/api/releases/{world.release.cid}/manifest.json"
    served = signed_in(downloader).get(url)
    assert served.status_code == 200 and b'"contributions"' in content(served)
    assert signed_in(downloader).get(f"/releases/{world.release.cid}/").status_code == 200
    refused = signed_in(querier).get(url)
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    row = ReadEvent.objects.get(release=world.release)
    assert (row.reader.address, row.basis) == (downloader.address, "grant")


def test_a_release_grant_covers_the_release_and_what_it_lists_only(world: World) -> None:
    consumer = Account.create()
    body = grant_payload(
        world.dao, world.creator, consumer.address, world.dataset, release=world.release
    )
    assert _record(world, body).status_code == 201
    browser = signed_in(consumer)
    assert browser.get(f"/ipfs/{world.release.cid}").status_code == 200
    assert content(browser.get(f"/ipfs/{world.in_release.cid}")) == world.plaintext
    assert browser.get(f"/ipfs/{world.not_in_release.cid}").status_code == 404


def _stored() -> int:
    return AccessGrant.objects.count()


@pytest.mark.parametrize("signer", ["member", "other_admin"])
def test_a_grant_signed_by_no_admin_of_this_dao_is_refused(world: World, signer: str) -> None:
    """Attack: a contributor of the DAO, or the creator of another DAO, signs a grant for
    this DAO's dataset (and submits it themselves)."""
    consumer = Account.create()
    account = getattr(world, signer)
    body = grant_payload(world.dao, account, consumer.address, world.dataset)
    response = _record(world, body, client=signed_in(account))
    assert response.status_code == 403
    assert response.json()["error"] == "signer_not_admin"
    assert account.address in response.json()["detail"]
    assert _stored() == 0
    assert signed_in(consumer).get(f"/ipfs/{world.in_release.cid}").status_code == 404


def test_another_daos_grant_is_never_read_as_this_daos(world: World) -> None:
    """Attack: the other DAO's creator signs a grant for their own DAO naming this DAO's
    dataset id, and submits it here, or there."""
    consumer = Account.create()
    body = grant_payload(world.other, world.other_admin, consumer.address, world.dataset)
    here = _record(world, body)
    assert here.status_code == 400 and here.json()["error"] == "wrong_dao"
    there = post_json(signed_in(world.other_admin), f"/api/daos/{world.other.slug}/grants", body)
    assert there.status_code == 400 and there.json()["error"] == "unknown_dataset"
    assert _stored() == 0


def test_tampered_typed_data_is_refused(world: World) -> None:
    """Attack: a consumer takes a grant signed for someone else and puts their own address in
    it (or widens a release grant to the dataset)."""
    victim, thief = Account.create(), Account.create()
    body = grant_payload(world.dao, world.admin, victim.address, world.dataset, scope="query")
    for field, value in (("grantee", thief.address), ("scope", "download")):
        tampered = deepcopy(body)
        tampered["typedData"]["message"][field] = value
        response = _record(world, tampered, client=signed_in(thief))
        assert response.status_code == 403 and response.json()["error"] == "signer_not_admin"
    assert _stored() == 0


def test_a_replayed_grant_or_nonce_is_refused_by_the_database(world: World) -> None:
    consumer, second = Account.create(), Account.create()
    body = grant_payload(world.dao, world.admin, consumer.address, world.dataset, nonce=42)
    assert _record(world, body).status_code == 201
    replay = _record(world, body)
    assert replay.status_code == 409 and replay.json()["error"] == "nonce_used"
    same_nonce = grant_payload(world.dao, world.creator, second.address, world.dataset, nonce=42)
    assert _record(world, same_nonce).json()["error"] == "nonce_used"
    # The nonce is per DAO: the other DAO may use 42 for its own grant.
    assert _stored() == 1


def test_an_expired_grant_is_refused_and_one_that_expires_stops_working(world: World) -> None:
    consumer = Account.create()
    stale = grant_payload(world.dao, world.admin, consumer.address, world.dataset, expires_in=-1)
    response = _record(world, stale)
    assert response.status_code == 400 and response.json()["error"] == "grant_expired"
    grant = _record(world, grant_payload(world.dao, world.admin, consumer.address, world.dataset))
    browser = signed_in(consumer)
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 200
    # Time passes: the row's expiry is what every read checks.
    AccessGrant.objects.filter(pk=grant.json()["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 404
    assert browser.get("/api/me/grants").json()["grants"][0]["status"] == "expired"


def test_a_revoked_grant_stops_at_once_and_only_an_admin_revokes(world: World) -> None:
    consumer = Account.create()
    grant = _record(
        world, grant_payload(world.dao, world.admin, consumer.address, world.dataset)
    ).json()
    browser = signed_in(consumer)
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 200
    url = f"/api/daos/{world.dao.slug}/grants/{grant['id']}/revoke"
    for outsider in (consumer, world.member, world.other_admin):
        refused = signed_in(outsider).post(url)
        assert refused.status_code == 403 and refused.json()["error"] == "not_admin"
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 200
    revoked = signed_in(world.creator).post(url)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 404
    assert browser.get(f"/ipfs/{world.release.cid}").status_code == 404
    again = signed_in(world.creator).post(url)
    assert again.status_code == 409 and again.json()["error"] == "already_revoked"
    assert AuditEvent.objects.filter(verb="grant.revoked", object_id=str(grant["id"])).count() == 1


def test_a_query_scope_grant_does_not_allow_download(world: World) -> None:
    consumer = Account.create()
    body = grant_payload(world.dao, world.admin, consumer.address, world.dataset, scope="query")
    grant = _record(world, body).json()
    assert grant["scope"] == "query" and grant["download"] is None
    browser = signed_in(consumer)
    assert browser.get(f"/ipfs/{world.in_release.cid}").status_code == 404
    assert browser.get(f"/ipfs/{world.release.cid}").status_code == 404


def test_grantee_as_grant_does_not_let_b_in(world: World) -> None:
    """Attack: B, signed in with their own wallet, uses A's grant."""
    a, b = Account.create(), Account.create()
    assert (
        _record(world, grant_payload(world.dao, world.admin, a.address, world.dataset)).status_code
        == 201
    )
    assert signed_in(b).get(f"/ipfs/{world.in_release.cid}").status_code == 404
    assert Client().get(f"/ipfs/{world.in_release.cid}").status_code == 404
    assert signed_in(b).get("/api/me/grants").json()["grants"] == []


def test_drafting_gives_the_typed_data_an_admin_signs(world: World) -> None:
    consumer = Account.create()
    admin = signed_in(world.admin)
    url = f"/api/daos/{world.dao.slug}/grants/draft"
    drafted = admin.get(
        url,
        {
            "grantee": consumer.address.lower(),
            "dataset": world.dataset.pk,
            "scope": "query",
            "days": 7,
            "release": world.release.cid,
        },
    )
    assert drafted.status_code == 200, drafted.content
    typed = drafted.json()["typedData"]
    assert typed["domain"]["chainId"] == world.dao.chain_id
    assert typed["message"]["grantee"] == consumer.address
    assert typed["message"]["releaseCid"] == world.release.cid
    body = {"typedData": typed, "signature": grant712.sign(typed, world.admin)}
    assert _record(world, body).status_code == 201
    for params, code in (
        ({"grantee": "0x12", "dataset": world.dataset.pk}, "bad_address"),
        ({"grantee": consumer.address, "dataset": 2_000_000_000}, "unknown_dataset"),
        ({"grantee": consumer.address, "dataset": world.dataset.pk, "scope": "x"}, "bad_scope"),
        ({"grantee": consumer.address, "dataset": world.dataset.pk, "days": "0"}, "bad_days"),
        (
            {"grantee": consumer.address, "dataset": world.dataset.pk, "release": "bafy"},
            "unknown_release",
        ),
    ):
        refused = admin.get(url, params)
        assert refused.status_code == 400 and refused.json()["error"] == code
    assert signed_in(world.member).get(url, {"grantee": consumer.address}).status_code == 403


def test_the_console_page_lists_grants_for_managers_only(world: World) -> None:
    consumer = Account.create()
    _record(world, grant_payload(world.dao, world.admin, consumer.address, world.dataset))
    page = signed_in(world.admin).get(f"/admin/data-rights/{world.dao.slug}/")
    assert page.status_code == 200 and consumer.address.encode() in page.content
    assert b"rights/rights.js" in page.content
    # The other DAO's creator may enter the console, but sees no page of this DAO.
    assert (
        signed_in(world.other_admin).get(f"/admin/data-rights/{world.dao.slug}/").status_code == 404
    )
    listed = signed_in(world.admin).get(_grants_url(world)).json()["results"]
    assert [g["grantee"] for g in listed] == [consumer.address]
    assert signed_in(world.member).get(_grants_url(world)).status_code == 403
