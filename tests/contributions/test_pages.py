"""Contributor pages: the dataset page and "my contributions"."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.models import Contribution, Status
from datadao.models import Visibility
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(dataset) -> str:  # type: ignore[no-untyped-def]
    return f"/daos/{dataset.dao.slug}/{dataset.slug}/"


def test_dataset_page_shows_schema_rules_and_the_upload_widget_to_members(
    member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    body = member_client.get(_page(tabular)).content.decode()
    for text in ("<code>id</code>", "one of a, b", "combined score of <strong>5000</strong>"):
        assert text in body
    assert f'data-url="/api/datasets/{tabular.pk}/contributions"' in body
    anonymous = Client().get(_page(tabular)).content.decode()
    assert "Sign in with your wallet to contribute" in anonymous and 'id="upload"' not in anonymous


def test_members_only_dataset_is_invisible_to_outsiders(member_client: Client, dao) -> None:  # type: ignore[no-untyped-def]
    private = DatasetFactory(dao=dao, visibility=Visibility.MEMBERS)
    assert member_client.get(_page(private)).status_code == 200
    assert Client().get(_page(private)).status_code == 404
    assert Client().get("/daos/nope/nothing/").status_code == 404


def test_my_contributions_lists_only_mine_with_filters(
    member_client: Client, tabular, member
) -> None:  # type: ignore[no-untyped-def]
    def make(user, status, n):  # type: ignore[no-untyped-def]
        return Contribution.objects.create(
            dataset=tabular,
            contributor=user,
            sha256=f"{n:064x}",
            size=1,
            storage_name=f"s{n}",
            status=status,
            original_name=f"file{n}.csv",
            reasons=["row 1: bad"] if status == Status.REJECTED else [],
            cid=f"bafkreitest{n}" if status == Status.PINNED else "",
        )

    make(member, Status.PINNED, 1)
    make(member, Status.REJECTED, 2)
    make(UserFactory(), Status.PINNED, 3)
    body = member_client.get("/me/contributions").content.decode()
    assert "file1.csv" in body and "file2.csv" in body and "file3.csv" not in body
    assert "row 1: bad" in body
    rejected = member_client.get("/me/contributions?status=rejected").content.decode()
    assert "file2.csv" in rejected and "file1.csv" not in rejected
    empty = member_client.get("/me/contributions?status=failed").content.decode()
    assert "No contributions with this status yet" in empty
    assert Client().get("/me/contributions").status_code == 302


def test_ipfs_gateway_serves_members_only_content_to_members_only(
    member_client: Client, dao, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import io

    from django.test import override_settings

    from ipfs.services import content_add

    private = DatasetFactory(dao=dao, visibility=Visibility.MEMBERS)
    public = DatasetFactory(dao=dao)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        pins = {}
        for name, dataset in (("private", private), ("public", public)):
            row = Contribution.objects.create(
                dataset=dataset,
                contributor=UserFactory(),
                sha256=f"{len(pins):064x}",
                size=3,
                storage_name=name,
                status=Status.RECEIVED,
            )
            pins[name] = content_add(
                stream=io.BytesIO(name.encode()), label=f"contribution:{row.pk}"
            )
        outsider = Client()
        assert outsider.get(f"/ipfs/{pins['private'].cid}").status_code == 404
        assert outsider.get(f"/ipfs/{pins['public'].cid}").status_code == 200
        response = member_client.get(f"/ipfs/{pins['private'].cid}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"private"
