"""Dataset releases: publishing, the manifest's CID, downloads, visibility, the console.

Contributions are made pinned by the real pipeline run in this process (upload API, then each
stage's code and service) against the embedded IPFS store; the CAR is checked against the
real IPFS node.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from PIL import Image

from contributions import messages, services
from contributions.attestation import ProofFields, recover, typed_data
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, ContributionProof, Release, Status
from contributions.releases import instant, manifest_bytes, release_publish
from datadao import blobs
from datadao.models import AuditEvent, DatasetStatus, Membership, Role, User
from datadao.schema import scoring_policy
from datadao.services import dataset_set_status, dataset_update
from ipfs.backends.kubo import KuboBackend
from ipfs.models import Pin
from ipfs.unixfs import cid_of_bytes
from tests.contributions.conftest import IMAGE_SCHEMA
from tests.factories import DatasetFactory, UserFactory
from tests.ipfsnode import IpfsNode

pytestmark = pytest.mark.django_db

SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True},
        {"name": "value", "type": "float"},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
        {"name": "note", "type": "string"},
        {"name": "when", "type": "datetime"},
        {"name": "flag", "type": "bool"},
    ],
    "max_size": 1_000_000,
}
COMMA = (
    b"id,value,kind,note,when,flag\n"
    b"1,1.5,a,=1+1,2024-01-01T00:00:00Z,true\n"
    b"2,2.5,b,+x,2024-01-02T12:30:00+02:00,no\n"
    b"3,-3.25,a,plain,2024-01-03T00:00:00,1\n"
)
SEMICOLON = (
    b"id;value;kind;note;when;flag\r\n"
    b"4;4;b;-x;2024-02-01T00:00:00Z;false\r\n"
    b"5;5.5;a;@x;2024-02-02T00:00:00Z;yes\r\n"
)
STAGES = (
    ("validate", stage_lane.run_validation),
    ("score", stage_lane.run_scoring),
    ("attest", stage_lane.run_attestation),
    ("pin", stage_lane.run_pin),
)


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path) -> Iterator[None]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


@pytest.fixture
def table(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=SCHEMA, name="Readings")
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def contribute(client: Client, dataset, data: bytes, name: str = "d.csv") -> Contribution:  # type: ignore[no-untyped-def]
    """Upload through the API, then run every stage in this process, as the worker would."""
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, run in STAGES:
        contribution = services.contribution_begin(contribution_id=pk, stage=stage)
        if contribution is None:  # rejected before this stage
            break
        run(contribution)
    return Contribution.objects.get(pk=pk)


def pinned(client: Client, dataset, data: bytes, name: str = "d.csv") -> Contribution:  # type: ignore[no-untyped-def]
    contribution = contribute(client, dataset, data, name)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def assert_attachment(response, filename: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.streaming


def png(seed: int, size: int = 32) -> bytes:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    for x in range(size):
        for y in range(size):
            if (x * seed + y * (seed + 3)) % 5 == 0:
                image.putpixel((x, y), (seed * 37 % 255, 20, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- publishing -----------------------------------------------------------------------------------


def test_manifest_lists_every_pinned_contribution_and_its_cid_is_the_manifest(
    member_client: Client, member: User, table
) -> None:  # type: ignore[no-untyped-def]
    first = pinned(member_client, table, COMMA)
    second = pinned(member_client, table, SEMICOLON)
    rejected = contribute(member_client, table, b"id,value\nx,1\n")
    assert rejected.status == Status.REJECTED
    creator = table.dao.creator

    release = release_publish(dataset=table, actor=creator)

    manifest = release.manifest
    assert manifest["datadao_release"] == 5 and manifest["version"] == release.version == 1
    assert manifest["dataset"] == {
        "id": table.pk,
        "dao": table.dao.slug,
        "dao_id": table.dao.onchain_id,
        "chain_id": table.dao.chain_id,
        "slug": table.slug,
        "name": "Readings",
        "kind": "tabular",
        "license": "CC-BY-4.0",
        "schema": SCHEMA,
        "scoring": scoring_policy(table.scoring),
    }
    assert [entry["id"] for entry in manifest["contributions"]] == [first.pk, second.pk]
    entry = manifest["contributions"][0]
    proof = ContributionProof.objects.get(contribution=first)
    assert entry == {
        "id": first.pk,
        "cid": first.cid,
        "contributor": member.address,
        "sha256": first.sha256,
        "size": len(COMMA),
        "media_type": "text/csv",
        "scores": {
            "authenticity": first.authenticity,
            "ownership": first.ownership,
            "quality": first.quality,
            "uniqueness": first.uniqueness,
            "score": first.score,
        },
        "validator_version": first.validator_version,
        "signed": False,
        "proof": {"signature": proof.signature, "signer": proof.signer},
        "attested_at": instant(proof.created_at),
    }
    # The manifest alone rebuilds each proof's signed payload, bound to this DAO and chain.
    described = manifest["dataset"]
    for entry in manifest["contributions"]:
        rebuilt = typed_data(
            ProofFields(
                dao_id=described["dao_id"],
                dataset_pk=described["id"],
                contributor=entry["contributor"],
                cid=entry["cid"],
                sha256=entry["sha256"],
                score=entry["scores"]["score"],
                quality=entry["scores"]["quality"],
                uniqueness=entry["scores"]["uniqueness"],
                validator_version=entry["validator_version"],
            ),
            chain_id=described["chain_id"],
        )
        assert recover(rebuilt, entry["proof"]["signature"]) == entry["proof"]["signer"]
    size = len(COMMA) + len(SEMICOLON)
    assert manifest["totals"] == {
        "contributions": 2,
        "bytes": size,
        "by_media_type": {"text/csv": {"contributions": 2, "bytes": size}},
    }
    assert (release.contributions_count, release.total_bytes) == (2, size)
    assert release.created_by == creator
    assert manifest["created_at"].endswith("Z")
    # The release id is the CID of the canonical manifest bytes, pinned like a contribution.
    canonical = manifest_bytes(manifest)
    assert release.cid == cid_of_bytes(canonical)
    pin = Pin.objects.get(cid=release.cid)
    assert (pin.content_type, pin.size) == ("application/json", len(canonical))
    event = AuditEvent.objects.get(verb="release.published")
    assert event.actor == creator and event.dao == table.dao
    assert event.details == {"cid": release.cid, "version": 1, "contributions": 2, "bytes": size}

    # The download is exactly the pinned bytes.
    response = Client().get(f"/api/releases/{release.cid}/manifest.json")
    slug = f"{table.dao.slug}-{table.slug}-v1"
    assert_attachment(response, f"{slug}-manifest.json")
    assert response["Content-Type"] == "application/json"
    served = body(response)
    assert served == canonical and cid_of_bytes(served) == release.cid


def test_versions_increment_and_an_unchanged_dataset_is_not_republished(
    member_client: Client, table
) -> None:  # type: ignore[no-untyped-def]
    pinned(member_client, table, COMMA)
    v1 = release_publish(dataset=table, actor=None)
    # A double submit: same contributions, same dataset description → the same release.
    assert release_publish(dataset=table, actor=None).pk == v1.pk
    assert Release.objects.count() == 1
    assert AuditEvent.objects.filter(verb="release.published").count() == 1

    pinned(member_client, table, SEMICOLON)
    v2 = release_publish(dataset=table, actor=None)
    assert (v2.version, v2.contributions_count) == (2, 2)
    assert v2.cid != v1.cid
    # A new license is a new release, even with the same contributions.
    dataset_update(dataset=table, actor=None, license="MIT")
    v3 = release_publish(dataset=table, actor=None)
    assert (v3.version, v3.manifest["dataset"]["license"]) == (3, "MIT")
    assert release_publish(dataset=table, actor=None).pk == v3.pk
    assert list(Release.objects.filter(dataset=table).values_list("version", flat=True)) == [
        3,
        2,
        1,
    ]


def test_refusals_name_the_problem(member_client: Client, table, dao) -> None:  # type: ignore[no-untyped-def]
    contribute(member_client, table, b"id,value\nx,1\n")  # rejected: nothing pinned
    with pytest.raises(ValidationError) as refused:
        release_publish(dataset=table, actor=None)
    assert refused.value.messages == [
        "The dataset 'Readings' has no pinned contributions yet; a release lists pinned "
        "contributions only."
    ]
    draft = DatasetFactory(dao=dao, name="Draft set")
    with pytest.raises(ValidationError) as refused:
        release_publish(dataset=draft, actor=None)
    assert refused.value.messages == [
        "The dataset 'Draft set' is still a draft; open it before publishing a release."
    ]
    assert not Release.objects.exists() and not Pin.objects.filter(content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_make_one_release(
    member_client: Client, table, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Committed for real here: keep the pipeline's tasks off the broker (no worker runs).
    monkeypatch.setattr(messages, "send_stage", lambda stage, pk, **_: None)
    pinned(member_client, table, COMMA)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            barrier.wait()
            results.append(release_publish(dataset=table, actor=None).pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == 2 and len(set(results)) == 1
    assert list(Release.objects.values_list("version", flat=True)) == [1]


# --- downloads ------------------------------------------------------------------------------------


def _published(client: Client, table):  # type: ignore[no-untyped-def]
    first = pinned(client, table, COMMA)
    second = pinned(client, table, SEMICOLON, "semi.csv")
    return release_publish(dataset=table, actor=None), first, second


def test_csv_merges_files_with_different_delimiters_and_escapes_formulas(
    member_client: Client, member: User, table
) -> None:  # type: ignore[no-untyped-def]
    release, first, second = _published(member_client, table)
    assert first.report["validation"]["tabular"]["delimiter"] == ","
    assert second.report["validation"]["tabular"]["delimiter"] == ";"

    response = Client().get(f"/api/releases/{release.cid}/data.csv")
    assert_attachment(response, f"{table.dao.slug}-{table.slug}-v1.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8"), newline="")))
    assert rows[0] == [
        "id",
        "value",
        "kind",
        "note",
        "when",
        "flag",
        "_contribution",
        "_contributor",
    ]
    a, b = str(first.pk), str(second.pk)
    assert rows[1:] == [
        ["1", "1.5", "a", "'=1+1", "2024-01-01T00:00:00Z", "true", a, member.address],
        ["2", "2.5", "b", "'+x", "2024-01-02T10:30:00Z", "false", a, member.address],
        ["3", "-3.25", "a", "plain", "2024-01-03T00:00:00Z", "true", a, member.address],
        ["4", "4.0", "b", "'-x", "2024-02-01T00:00:00Z", "false", b, member.address],
        ["5", "5.5", "a", "'@x", "2024-02-02T00:00:00Z", "true", b, member.address],
    ]


def test_parquet_reads_back_typed_with_every_row(
    member_client: Client, member: User, table
) -> None:  # type: ignore[no-untyped-def]
    release, first, second = _published(member_client, table)
    response = Client().get(f"/api/releases/{release.cid}/data.parquet")
    assert_attachment(response, f"{table.dao.slug}-{table.slug}-v1.parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    parquet = pq.ParquetFile(io.BytesIO(body(response)))
    schema = parquet.schema_arrow
    assert [(field.name, field.type) for field in schema] == [
        ("id", pa.int64()),
        ("value", pa.float64()),
        ("kind", pa.string()),
        ("note", pa.string()),
        ("when", pa.timestamp("us", tz="UTC")),
        ("flag", pa.bool_()),
        ("_contribution", pa.int64()),
        ("_contributor", pa.string()),
    ]
    assert schema.metadata[b"datadao.release"] == release.cid.encode()
    assert parquet.metadata.num_rows == 5
    table_ = parquet.read()
    assert table_.column("id").to_pylist() == [1, 2, 3, 4, 5]
    assert table_.column("value").to_pylist() == [1.5, 2.5, -3.25, 4.0, 5.5]
    assert table_.column("note").to_pylist() == ["=1+1", "+x", "plain", "-x", "@x"]
    assert table_.column("flag").to_pylist() == [True, False, True, False, True]
    assert table_.column("_contribution").to_pylist() == [first.pk] * 3 + [second.pk] * 2
    assert set(table_.column("_contributor").to_pylist()) == {member.address}
    assert str(table_.column("when")[1].as_py()) == "2024-01-02 10:30:00+00:00"


def test_car_holds_the_manifest_and_every_contribution_for_a_real_node(
    member_client: Client, table, ipfs_node: IpfsNode, kubo_backend: KuboBackend
) -> None:  # type: ignore[no-untyped-def]
    release, first, second = _published(member_client, table)
    response = Client().get(f"/api/releases/{release.cid}/release.car")
    assert_attachment(response, f"{table.dao.slug}-{table.slug}-v1.car")
    assert response["Content-Type"] == "application/vnd.ipld.car"
    roots = kubo_backend.dag_import(io.BytesIO(body(response)))
    assert roots[0] == release.cid
    # The files pinned for Hugging Face and Croissant ride along (contributions.hf_release).
    loads_anywhere = {entry["cid"] for entry in release.manifest["huggingface"]}
    assert len(loads_anywhere) == 3
    assert set(roots) == {release.cid, first.cid, second.cid} | loads_anywhere
    assert b"".join(kubo_backend.cat(release.cid)) == manifest_bytes(release.manifest)
    assert b"".join(kubo_backend.cat(second.cid)) == SEMICOLON

    # A server whose content lives on a node exports there, not here.
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        refused = Client().get(f"/api/releases/{release.cid}/release.car")
    assert refused.status_code == 501
    assert refused.json()["error"] == "not_implemented"
    assert f"ipfs dag export {release.cid}" in refused.json()["detail"]


def test_files_datasets_have_no_merged_data(member_client: Client, dao) -> None:  # type: ignore[no-untyped-def]
    images = DatasetFactory(dao=dao, kind="files", schema=IMAGE_SCHEMA, name="Photos")
    dataset_set_status(dataset=images, actor=None, status=DatasetStatus.OPEN)
    pinned(member_client, images, png(3), "a.png")
    release = release_publish(dataset=images, actor=None)
    assert release.manifest["totals"]["by_media_type"].keys() == {"image/png"}
    for name in ("data.csv", "data.parquet"):
        response = Client().get(f"/api/releases/{release.cid}/{name}")
        assert response.status_code == 404
        assert response.json() == {
            "error": "not_tabular",
            "detail": "'Photos' is a files dataset; merged CSV and Parquet exist only for "
            "tabular datasets. Download release.car for its files.",
        }
    assert Client().get(f"/api/releases/{release.cid}/release.car").status_code == 200
    page = Client().get(f"/releases/{release.cid}/").content.decode()
    assert "release.car" in page and "data.csv" not in page


def test_the_release_page_reads_only_the_parts_of_the_manifest_it_shows(
    member_client: Client, table
) -> None:  # type: ignore[no-untyped-def]
    # A manifest lists every contribution (megabytes at a million): the page shows the totals
    # and the downloads, read from the manifest in the database, never the whole document.
    release, _, _ = _published(member_client, table)
    assert release.summary["totals"] == release.manifest["totals"]
    assert "contributions" not in release.summary
    with CaptureQueriesContext(connection) as ctx:
        page = Client().get(f"/releases/{release.cid}/").content.decode()
    assert "text/csv" in page and "release.car" in page
    read = [q["sql"] for q in ctx.captured_queries if '"manifest"' in q["sql"]]
    assert not read, read
    # A release without its parts kept apart: those keys of the manifest, not all of it.
    Release.objects.filter(pk=release.pk).update(summary={})
    with CaptureQueriesContext(connection) as ctx:
        page = Client().get(f"/releases/{release.cid}/").content.decode()
    assert "text/csv" in page
    whole = [
        q["sql"]
        for q in ctx.captured_queries
        if re.search(r'"contributions_release"\."manifest"(?! ->)', q["sql"])
    ]
    assert not whole, whole


def test_missing_stored_files_are_refused_not_half_exported(member_client: Client, table) -> None:  # type: ignore[no-untyped-def]
    release, first, _ = _published(member_client, table)
    blobs.store().delete(services.upload_key(first))
    response = Client().get(f"/api/releases/{release.cid}/data.csv")
    assert response.status_code == 503
    assert response.json()["error"] == "data_unavailable"
    assert str(first.pk) in response.json()["detail"]


# --- visibility and pages -------------------------------------------------------------------------


def test_members_only_releases_are_invisible_to_everyone_else(
    member_client: Client, table, dao
) -> None:  # type: ignore[no-untyped-def]
    release, _, _ = _published(member_client, table)
    dataset_update(dataset=table, actor=None, visibility="members")
    outsider = Client()
    outsider.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    urls = [f"/api/releases/{release.cid}/{name}" for name in ("manifest.json", "data.csv")]
    urls += [f"/api/releases/{release.cid}/{name}" for name in ("release.car", "data.parquet")]
    unknown = Client().get("/api/releases/bafkreiunknownunknown/manifest.json")
    for client in (Client(), outsider):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, url
            # The same answer as for a CID that is no release, so nothing leaks.
            assert response.json()["error"] == unknown.json()["error"] == "not_found"
            assert response.json()["detail"].startswith("There is no release ")
        assert client.get(f"/releases/{release.cid}/").status_code == 404
    for url in urls:
        assert member_client.get(url).status_code == 200, url
    assert member_client.get(f"/releases/{release.cid}/").status_code == 200
    # The DAO page lists the release only where the dataset itself is listed.
    assert release.cid not in Client().get(f"/daos/{dao.slug}/").content.decode()
    assert release.cid in member_client.get(f"/daos/{dao.slug}/").content.decode()


def test_release_page_shows_cid_version_counts_and_downloads(member_client: Client, table) -> None:  # type: ignore[no-untyped-def]
    release, _, _ = _published(member_client, table)
    page = Client().get(f"/releases/{release.cid}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert release.cid in html and "release 1" in html
    assert "<dt>Contributions</dt><dd>2</dd>" in html
    assert f"({release.total_bytes} bytes)" in html
    for name in ("manifest.json", "release.car", "data.csv", "data.parquet"):
        assert f"/api/releases/{release.cid}/{name}" in html
    dao_page = Client().get(f"/daos/{table.dao.slug}/").content.decode()
    assert f'href="/releases/{release.cid}/">v1</a>' in dao_page


# --- console --------------------------------------------------------------------------------------


def _console(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_dao_managers_publish_from_the_console(member_client: Client, table) -> None:  # type: ignore[no-untyped-def]
    pinned(member_client, table, COMMA)
    creator = _console(table.dao.creator)
    action = {"action": "publish_release", "_selected_action": [table.pk]}
    response = creator.post("/admin/datadao/dataset/", action, follow=True)
    release = Release.objects.get(dataset=table)
    assert release.created_by == table.dao.creator
    link = f"<a href='/releases/{release.cid}/'>v1</a>"
    assert f"published {link}." in response.content.decode()
    again = creator.post("/admin/datadao/dataset/", action, follow=True)
    assert f"nothing changed since {link}; no new release." in again.content.decode()
    assert Release.objects.count() == 1

    listing = creator.get("/admin/contributions/release/").content.decode()
    assert release.cid in listing
    detail = creator.get(f"/admin/contributions/release/{release.pk}/change/")
    assert detail.status_code == 200 and f"/releases/{release.cid}/" in detail.content.decode()
    # Another DAO's creator sees nothing of it.
    other = DatasetFactory(name="Elsewhere").dao.creator
    assert release.cid not in _console(other).get("/admin/contributions/release/").content.decode()
    assert _console(other).get(
        f"/admin/contributions/release/{release.pk}/change/"
    ).status_code in (
        302,
        403,
    )


def test_operators_without_a_role_in_the_dao_cannot_publish(member_client: Client, table) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    pinned(member_client, table, COMMA)
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_dataset", "change_dataset"])
    )
    Membership.objects.create(dao=table.dao, user=operator, role=Role.CONTRIBUTOR)
    response = _console(operator).post(
        "/admin/datadao/dataset/",
        {"action": "publish_release", "_selected_action": [table.pk]},
        follow=True,
    )
    assert "only creators and admins of" in response.content.decode()
    assert not Release.objects.exists()
