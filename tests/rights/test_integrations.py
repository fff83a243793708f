"""What rights plugs into besides /ipfs: aggregate queries for grantees
(``contributions.query_access``) and the personal export (``datadao.personal``)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest
from django.test import override_settings
from eth_account import Account

from contributions.models import ReleaseQuery
from contributions.services.queries import release_query_submit
from datadao.errors import ApplicationError
from rights.models import AccessGrant
from rights.services import grant_revoke
from tests.rights.world import (
    World,
    build_world,
    content,
    grant_payload,
    post_json,
    signed_in,
    user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
SQL = "select count(*) from data"


@pytest.fixture
def world(ipfs_node) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        yield build_world()


def _grant(w: World, grantee: str, **kwargs: object) -> dict:
    response = post_json(
        signed_in(w.admin),
        f"/api/daos/{w.dao.slug}/grants",
        grant_payload(w.dao, w.admin, grantee, w.dataset, **kwargs),  # type: ignore[arg-type]
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_query_grant_lets_its_grantee_query_and_nothing_once_revoked(world: World) -> None:
    querier, stranger = Account.create(), Account.create()
    grant = _grant(world, querier.address, scope="query")
    queued = release_query_submit(release=world.release, user=user(querier), sql=SQL)
    assert queued.basis == f"grant:{grant['id']}"
    with pytest.raises(ApplicationError) as refused:
        release_query_submit(release=world.release, user=user(stranger), sql=SQL)
    assert refused.value.status_code == 404
    # The same through the API: the grantee's query is queued, a stranger's release is unknown.
    url = f"/api/releases/{world.release.cid}/queries"
    assert post_json(signed_in(querier), url, {"sql": SQL}).status_code == 202
    assert post_json(signed_in(stranger), url, {"sql": SQL}).status_code == 404
    grant_revoke(grant=AccessGrant.objects.get(pk=grant["id"]), actor=user(world.admin))
    with pytest.raises(ApplicationError):
        release_query_submit(release=world.release, user=user(querier), sql=SQL)
    assert ReleaseQuery.objects.filter(basis=f"grant:{grant['id']}").count() == 2


def test_the_export_holds_grants_purchases_and_the_use_of_my_data(world: World) -> None:
    consumer = Account.create()
    grant = _grant(world, consumer.address)
    assert content(signed_in(consumer).get(f"/ipfs/{world.in_release.cid}")) == world.plaintext

    def archive(account: object) -> zipfile.ZipFile:
        response = signed_in(account).get("/api/me/export.zip")  # type: ignore[arg-type]
        assert response.status_code == 200
        return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    mine = archive(consumer)
    held = json.loads(mine.read("rights/my_grants.json"))
    assert [g["id"] for g in held["grants"]] == [grant["id"]]
    assert held["grants"][0]["typed_data"]["primaryType"] == "AccessGrant"
    assert json.loads(mine.read("rights/my_reads.json"))[0]["cid"] == world.in_release.cid
    assert json.loads(mine.read("rights/grants_over_my_data.json")) == []

    contributor = archive(world.member)
    covering = json.loads(contributor.read("rights/grants_over_my_data.json"))
    assert [g["id"] for g in covering] == [grant["id"]]
    reads = json.loads(contributor.read("rights/reads_of_my_data.json"))
    assert [(r["contribution"], r["basis"], r["grant"]) for r in reads] == [
        (world.in_release.pk, "grant", grant["id"])
    ]
    # The use of their data, not the identity of its user.
    assert consumer.address not in contributor.read("rights/reads_of_my_data.json").decode()
    assert b"rights/:" in contributor.read("README.txt")
