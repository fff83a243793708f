"""Contributor pages: the dataset page and "my contributions"."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.models import Contribution, Status
from datadao.models import Visibility
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

RELEASE_CID = "bafkreiarixhwaaxb42h2sceueinbw7ztg2mnixmnqr3p5ruym5mkyosdtq"  # any valid CID


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
    assert "No contributions that match these filters yet" in empty
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


def test_dataset_page_offers_an_example_file_that_downloads(
    member_client: Client, tabular, images
) -> None:  # type: ignore[no-untyped-def]
    body = Client().get(_page(tabular)).content.decode()
    url = f"/daos/{tabular.dao.slug}/{tabular.slug}/example.csv"
    assert f'href="{url}"' in body and "3 rows that pass this schema" in body
    response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{tabular.slug}-example.csv"'
    assert response.content.decode().splitlines()[0] == "id,value,kind"
    assert Client().get(f"/daos/{images.dao.slug}/{images.slug}/example.csv").status_code == 404
    private = DatasetFactory(dao=tabular.dao, visibility=Visibility.MEMBERS)
    hidden = f"/daos/{private.dao.slug}/{private.slug}/example.csv"
    assert Client().get(hidden).status_code == 404
    assert member_client.get(hidden).status_code == 200


def test_dataset_page_lists_releases_with_cids_downloads_and_rewards(tabular) -> None:  # type: ignore[no-untyped-def]
    from contributions.models import Release
    from rewards.models import RewardPolicy

    Release.objects.create(
        dataset=tabular,
        version=1,
        cid="bafyreleaseone",
        manifest={"contributions": []},
        contributions_count=4,
        total_bytes=10,
    )
    RewardPolicy.objects.create(dataset=tabular, per_contribution=5 * 10**17)
    body = Client().get(_page(tabular)).content.decode()
    assert '<a href="/releases/bafyreleaseone/">v1</a>' in body
    assert (
        '<a href="/ipfs/bafyreleaseone"><code class="cid">bafyreleaseone</code></a>'
        " (4 contributions)" in body
    )
    for path in ("manifest.json", "release.car", "data.csv", "data.parquet"):
        assert f'href="/api/releases/bafyreleaseone/{path}"' in body
    assert "earns up to <strong>0.5 TOK</strong> at a full score" in body
    assert "Rewards are paid out when the DAO closes an epoch." in body


def test_labeling_release_links_its_label_files(dao) -> None:  # type: ignore[no-untyped-def]
    from contributions.models import Release

    dataset = DatasetFactory(dao=dao, kind="labeling", schema={"labels": ["a", "b"]})
    labels = {"settled_tasks": 7, "csv": {"cid": "bafylabelscsv"}, "jsonl": {"cid": "bafyjl"}}
    Release.objects.create(
        dataset=dataset,
        version=2,
        cid=RELEASE_CID,
        manifest={"contributions": [], "labels": labels},
        contributions_count=0,
        total_bytes=0,
    )
    body = Client().get(_page(dataset)).content.decode()
    assert f'href="/ipfs/bafylabelscsv" download="{dataset.slug}-v2-labels.csv"' in body
    assert 'href="/ipfs/bafyjl"' in body and "data.parquet" not in body
    release = Client().get(f"/releases/{RELEASE_CID}/").content.decode()
    assert "Settled labels (CSV)</a> — 7 items" in release and "bafyjl" in release


def test_my_contributions_filter_by_dataset_and_keep_filters_across_pages(
    member_client: Client, tabular, images, member
) -> None:  # type: ignore[no-untyped-def]
    for n, dataset in enumerate([tabular] * 26 + [images]):
        Contribution.objects.create(
            dataset=dataset,
            contributor=member,
            sha256=f"{n:064x}",
            size=1,
            storage_name=f"f{n}",
            status=Status.REJECTED,
            original_name=f"{dataset.kind}-{n}.bin",
        )
    only_images = member_client.get(f"/me/contributions?dataset={images.pk}").content.decode()
    assert "files-26.bin" in only_images and "tabular-" not in only_images
    assert f'<option value="{images.pk}" selected>' in only_images
    tables = member_client.get(f"/me/contributions?status=rejected&dataset={tabular.pk}")
    body = tables.content.decode()
    assert f'href="?status=rejected&amp;dataset={tabular.pk}&amp;page=2"' in body
    assert f'href="/daos/{tabular.dao.slug}/{tabular.slug}/"' in body
    other = DatasetFactory()  # not one of mine: the filter ignores it
    unfiltered = member_client.get(f"/me/contributions?dataset={other.pk}").content.decode()
    assert "files-26.bin" in unfiltered


def test_dataset_counts_are_served_alone_to_the_pages_poll(
    member_client: Client,
    tabular,
    member,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    body = member_client.get(_page(tabular)).content.decode()
    assert f'id="dataset-counts" class="counts" data-poll-url="{_page(tabular)}"' in body
    assert "contributions/live" in body
    Contribution.objects.create(
        dataset=tabular, contributor=member, sha256="e" * 64, size=1, storage_name="counted",
        status=Status.REJECTED,
    )  # fmt: skip
    # Session, user, the dataset, the tallies: the counts without the rest of the page.
    with django_assert_num_queries(4):
        response = member_client.get(_page(tabular), HTTP_HX_REQUEST="true")
    part = response.content.decode()
    assert part.lstrip().startswith('<ul id="dataset-counts"')
    assert '<li>Rejected: <span class="n">1</span></li>' in part and "<html" not in part
    assert "HX-Request" in response["Vary"]
    # A members-only dataset's counts are as hidden as its page.
    private = DatasetFactory(dao=tabular.dao, visibility=Visibility.MEMBERS)
    assert Client().get(_page(private), HTTP_HX_REQUEST="true").status_code == 404
