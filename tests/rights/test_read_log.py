"""The read log (issue #21 item 9): every read of a contribution's or a release's content
through /ipfs/<cid> and the release downloads is one INSERT naming who, what, when and on
which basis; the DAO pages through it in the console, each contributor sees their counts;
and a read that cannot be logged is refused, never served."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account

from datadao.models import Visibility
from rights import services
from rights.models import ReadEvent
from tests.factories import DatasetFactory
from tests.rights.world import (
    World,
    build_world,
    content,
    grant_payload,
    pinned,
    post_json,
    signed_in,
    user,
)

pytestmark = [pytest.mark.timeout(120)]


@pytest.fixture
def world(ipfs_node, db) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        yield build_world()


@pytest.mark.django_db
def test_members_and_grantees_reads_are_logged_with_their_basis(world: World) -> None:
    consumer = Account.create()
    grant = post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        grant_payload(world.dao, world.admin, consumer.address, world.dataset),
    ).json()
    member = signed_in(world.member)
    assert content(member.get(f"/ipfs/{world.in_release.cid}")) == world.plaintext
    assert signed_in(consumer).get(f"/ipfs/{world.in_release.cid}").status_code == 200
    # A release download through the API is logged too.
    manifest = member.get(f"/api/releases/{world.release.cid}/manifest.json")
    assert manifest.status_code == 200
    # A refused read is not a read.
    assert signed_in(Account.create()).get(f"/ipfs/{world.in_release.cid}").status_code == 404

    rows = list(ReadEvent.objects.order_by("pk"))
    assert [
        (r.reader.address, r.basis, r.grant_id, r.contribution_id, r.release_id) for r in rows
    ] == [
        (world.member.address, "membership", None, world.in_release.pk, None),
        (consumer.address, "grant", grant["id"], world.in_release.pk, None),
        (world.member.address, "membership", None, None, world.release.pk),
    ]
    assert all(r.dao_id == world.dao.pk and r.dataset_id == world.dataset.pk for r in rows)

    # The contributor sees how often their data was read, and by how many readers.
    counts = member.get("/api/me/reads").json()["results"]
    assert counts == [
        {
            "contribution": world.in_release.pk,
            "cid": world.in_release.cid,
            "dataset": world.dataset.name,
            "dao": world.dao.name,
            "reads": 2,
            "readers": 2,
        }
    ]
    # The manifest download used their data too: the release lists one of theirs.
    assert member.get("/api/me/reads").json()["releases"] == [
        {
            "release": world.release.cid,
            "version": 1,
            "dataset": world.dataset.name,
            "dao": world.dao.name,
            "yours": 1,
            "reads": 1,
            "readers": 1,
        }
    ]
    page = member.get("/me/access")
    assert page.status_code == 200 and f"#{world.in_release.pk}".encode() in page.content
    assert signed_in(consumer).get("/api/me/reads").json() == {"results": [], "releases": []}


@pytest.mark.django_db
def test_a_public_read_is_logged_without_touching_the_session(world: World) -> None:
    public = DatasetFactory(dao=world.dao, visibility=Visibility.PUBLIC)
    contribution = pinned(public, user(world.member), b"open,data\n1,2\n")
    response = signed_in(world.member).get(f"/ipfs/{contribution.cid}")
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")
    assert "Cookie" not in response.get("Vary", "")
    row = ReadEvent.objects.get(contribution=contribution)
    assert (row.reader, row.basis) == (None, "public")


def _statements(read: Callable[[], None]) -> list[str]:
    # Read at once: a request in between resets Django's query log under a capture.
    with CaptureQueriesContext(connection) as captured:
        read()
    return [q["sql"].split()[0].upper() for q in captured.captured_queries]


@pytest.mark.django_db
def test_logging_a_read_is_one_insert(world: World) -> None:
    label = f"contribution:{world.in_release.pk}"
    member = user(world.member)
    by_member = _statements(lambda: services.read_record(member, label, world.in_release.cid))
    consumer = Account.create()
    post_json(
        signed_in(world.admin),
        f"/api/daos/{world.dao.slug}/grants",
        grant_payload(world.dao, world.admin, consumer.address, world.dataset),
    )
    grantee = user(consumer)
    by_grantee = _statements(lambda: services.read_record(grantee, label, world.in_release.cid))
    # The target, the membership (and the grant): small reads by key, then one INSERT.
    assert by_member == ["SELECT", "SELECT", "INSERT"]
    assert by_grantee == ["SELECT", "SELECT", "SELECT", "INSERT"]
    assert list(ReadEvent.objects.order_by("pk").values_list("basis", flat=True)) == [
        "membership",
        "grant",
    ]


@pytest.mark.django_db
def test_the_console_pages_through_the_log_for_managers_only(world: World) -> None:
    now = timezone.now()
    ReadEvent.objects.bulk_create(
        ReadEvent(
            dao=world.dao,
            dataset=world.dataset,
            contribution=world.in_release,
            cid=world.in_release.cid,
            reader=user(world.member),
            basis="membership",
            created_at=now - timedelta(seconds=i),
        )
        for i in range(60)
    )
    admin = signed_in(world.admin)
    first = admin.get(f"/admin/data-rights/{world.dao.slug}/reads")
    assert first.status_code == 200
    assert b"60 reads" in first.content and b"Page 1 of 2" in first.content
    assert first.content.count(world.member.address.encode()) == 50
    second = admin.get(f"/admin/data-rights/{world.dao.slug}/reads", {"page": "2"})
    assert second.content.count(world.member.address.encode()) == 10
    assert admin.get(f"/admin/data-rights/{world.dao.slug}/reads", {"page": "x"}).status_code == 200
    assert (
        signed_in(world.other_admin).get(f"/admin/data-rights/{world.dao.slug}/reads").status_code
        == 404
    )


@pytest.mark.django_db(transaction=True)
def test_a_read_that_cannot_be_logged_is_refused_not_served(world: World) -> None:
    """Fail closed: the log's table refuses every row (a constraint no row meets), and the
    member's read is a 503 with nothing of the content in it."""
    member = signed_in(world.member)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE rights_readevent ADD CONSTRAINT refuse_all CHECK (false) NOT VALID"
        )
    try:
        response = member.get(f"/ipfs/{world.in_release.cid}")
        download = member.get(f"/api/releases/{world.release.cid}/manifest.json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE rights_readevent DROP CONSTRAINT refuse_all")
    assert response.status_code == 503
    assert world.plaintext not in response.content
    assert download.status_code == 503 and download.json()["error"] == "read_not_logged"
    assert not ReadEvent.objects.exists()
    # With the log writable again, the same read is served and logged.
    assert content(member.get(f"/ipfs/{world.in_release.cid}")) == world.plaintext
    assert ReadEvent.objects.count() == 1
    assert Client().get(f"/ipfs/{world.in_release.cid}").status_code == 404


def test_the_console_pages_in_chinese(world: World) -> None:
    ReadEvent.objects.create(
        dao=world.dao,
        dataset=world.dataset,
        contribution=world.in_release,
        cid=world.in_release.cid,
        reader=user(world.member),
        basis="membership",
    )
    admin = signed_in(world.admin)
    zh = {"accept-language": "zh-hans"}
    reads = admin.get(f"/admin/data-rights/{world.dao.slug}/reads", headers=zh).content.decode()
    assert "次读取，最新的在前" in reads and "第 1 页，共 1 页。" in reads
    assert f"贡献 #{world.in_release.pk}" in reads
    rights = admin.get(f"/admin/data-rights/{world.dao.slug}/", headers=zh).content.decode()
    assert "<h2>价格</h2>" in rights and "签署授权" in rights and "/jsi18n/" in rights
    for html in (reads, rights):
        at = html.find("%(")
        assert at < 0, html[at - 200 : at + 100]
        assert "Read log" not in html
