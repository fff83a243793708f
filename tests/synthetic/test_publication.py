"""Published synthetic sets as data users see them: on the dataset page with every CID a link,
and in the next release as their own flagged files, never among the contributions.

The real rows are uploaded through the API and taken through every pipeline stage in this
process; the job runs the real copula on those pinned rows (``synthetic.tasks``)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contributions import services as contribution_services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from contributions.releases import manifest_bytes, release_publish
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from ipfs.car import read_car
from ipfs.services import content_open_verified
from ipfs.unixfs import cid_of_bytes
from synthetic import services
from synthetic.documents import report_document
from synthetic.models import JobStatus, SyntheticJob
from synthetic.sample_tables import wine_binned
from synthetic.tasks import run_synthetic_job
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

STAGES = (
    ("validate", stage_lane.run_validation),
    ("score", stage_lane.run_scoring),
    ("attest", stage_lane.run_attestation),
    ("pin", stage_lane.run_pin),
)


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _pin(client: Client, dataset, data: bytes, name: str) -> Contribution:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, run in STAGES:
        contribution = contribution_services.contribution_begin(contribution_id=pk, stage=stage)
        assert contribution is not None, Contribution.objects.get(pk=pk).reasons
        run(contribution)
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


@pytest.fixture
def wine():  # type: ignore[no-untyped-def]
    """A tabular dataset holding the wine table as two pinned contributions."""
    rows, schema = wine_binned()
    member = UserFactory()
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=schema, name="Wine", slug="wine")
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    _pin(client, dataset, _csv(rows[:89]), "wine-1.csv")
    _pin(client, dataset, _csv(rows[89:]), "wine-2.csv")
    return dataset


def _published(dataset) -> SyntheticJob:  # type: ignore[no-untyped-def]
    job = services.job_create(dataset=dataset, actor=None, rows_wanted=60, seed=3, method="copula")
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    # Seeded: the copula's rows of the wine table pass the gate (checked, not assumed).
    assert job.status == JobStatus.PUBLISHED, job.report.get("recommendation")
    return job


def _page(dataset, client: Client | None = None) -> str:  # type: ignore[no-untyped-def]
    response = (client or Client()).get(f"/daos/{dataset.dao.slug}/{dataset.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def _served(client: Client, cid: str) -> bytes:
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _cid_links(page: str) -> dict[str, str]:
    """Every CID shown as code on the page: the address it links to ("" when not a link)."""
    linked = dict(
        (cid, href)
        for href, cid in re.findall(r'<a href="([^"]+)"><code class="cid">([^<]+)</code></a>', page)
    )
    shown = re.findall(r'<code class="cid">([^<]+)</code>', page)
    return {cid: linked.get(cid, "") for cid in shown}


def test_a_published_set_is_on_the_dataset_page_with_its_cids_linked(wine) -> None:  # type: ignore[no-untyped-def]
    page = _page(wine)
    assert "Synthetic data" in page and "No synthetic data published yet" in page

    job = _published(wine)
    assert job.report_cid  # pinned when the job published
    page = _page(wine)
    assert "No synthetic data published yet" not in page
    item = page.split(f'id="synthetic-{job.pk}"')[1].split("</li>")[0]
    assert "60 rows from the Gaussian copula, created <time" in item
    assert f">{job.created_at:%Y-%m-%d}</time>" in item
    assert "Gate passed: quality" in item and "Differential privacy" not in item
    links = _cid_links(item)
    assert set(links) == {job.output_cid, job.parquet_cid, job.checkpoint_cid, job.report_cid}
    assert all(href == f"/ipfs/{cid}" for cid, href in links.items())
    assert f'<a href="/ipfs/{job.report_cid}">Report and provenance</a>' in item
    # Every CID on the whole page is a link.
    assert all(_cid_links(page).values())

    # The links serve the pinned bytes: the flagged rows and the report with its provenance.
    rows = list(csv.DictReader(io.StringIO(_served(Client(), job.output_cid).decode())))
    assert len(rows) == 60 and {r["synthetic"] for r in rows} == {"true"}
    served = _served(Client(), job.report_cid)
    document = json.loads(served)
    assert document["synthetic"] is True and document["job"] == job.pk
    assert document["files"]["rows"] == job.output_cid
    assert document["report"]["generators"]["copula"]["gate"]["passed"] is True
    assert document["provenance"]["seed"] == 3 and document["provenance"]["input_sha256"]
    assert served == report_document(job)

    # The console's page of the job links them too.
    console = Client()
    console.force_login(wine.dao.creator, backend="django.contrib.auth.backends.ModelBackend")
    response = console.get(f"/admin/synthetic/syntheticjob/{job.pk}/change/")
    assert response.status_code == 200
    links = _cid_links(response.content.decode())
    assert set(links) == {job.output_cid, job.parquet_cid, job.checkpoint_cid, job.report_cid}
    assert all(links.values())


def test_the_next_release_lists_the_set_as_its_own_flagged_file(wine) -> None:  # type: ignore[no-untyped-def]
    v1 = release_publish(dataset=wine, actor=None)
    assert "synthetic" not in v1.manifest
    v1_bytes = manifest_bytes(v1.manifest)

    job = _published(wine)
    v2 = release_publish(dataset=wine, actor=None)
    assert v2.version == 2
    assert v2.manifest["contributions"] == v1.manifest["contributions"]
    [entry] = v2.manifest["synthetic"]
    assert entry == {
        "synthetic": True,
        "job": job.pk,
        "method": "copula",
        "rows": 60,
        "cid": job.output_cid,
        "media_type": "text/csv",
        "parquet_cid": job.parquet_cid,
        "checkpoint_cid": job.checkpoint_cid,
        "report_cid": job.report_cid,
        "seed": 3,
        "dp": None,
        "gate": entry["gate"],
        "created_at": job.created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "finished_at": job.finished_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    assert entry["gate"]["passed"] is True
    assert [c["name"] for c in entry["gate"]["checks"]][:2] == ["quality", "utility"]
    assert all(c["passed"] and c["reason"] for c in entry["gate"]["checks"])
    assert job.output_cid not in {c["cid"] for c in v2.manifest["contributions"]}
    # The release's CID is still the CID of its canonical bytes; v1 is as it was.
    assert v2.cid == cid_of_bytes(manifest_bytes(v2.manifest))
    v1.refresh_from_db()
    assert manifest_bytes(v1.manifest) == v1_bytes and v1.cid == cid_of_bytes(v1_bytes)
    # Nothing new: the same release.
    assert release_publish(dataset=wine, actor=None).pk == v2.pk

    # The merged data holds the real rows only.
    merged = Client().get(f"/api/releases/{v2.cid}/data.csv")
    lines = b"".join(merged.streaming_content).decode().splitlines()
    assert len(lines) == 1 + 178 and "synthetic" not in lines[0]

    # The CAR holds the set's files (rows, Parquet, model, report) besides the contributions.
    car = Client().get(f"/api/releases/{v2.cid}/release.car")
    roots, blocks = read_car(io.BytesIO(b"".join(car.streaming_content)))
    extra = [job.output_cid, job.parquet_cid, job.checkpoint_cid, job.report_cid]
    contributions = [c["cid"] for c in v2.manifest["contributions"]]
    assert [str(root) for root in roots] == [v2.cid, *contributions, *extra]
    held = {str(cid) for cid, _ in blocks}
    assert set(extra) <= held

    # The release page shows the set, every CID a link.
    page = Client().get(f"/releases/{v2.cid}/").content.decode()
    assert f"<strong>Set {job.pk}</strong> (copula): 60 rows" in page
    links = _cid_links(page)
    assert {job.output_cid, job.report_cid, v2.cid} <= set(links) and all(links.values())
    assert "Synthetic data" not in Client().get(f"/releases/{v1.cid}/").content.decode()


def test_a_set_published_before_report_documents_gets_one_in_the_next_release(wine) -> None:  # type: ignore[no-untyped-def]
    job = _published(wine)
    first_cid = job.report_cid
    SyntheticJob.objects.filter(pk=job.pk).update(report_cid="")
    page = _page(wine)
    assert "Report and provenance: pinned with the next release" in page
    release = release_publish(dataset=wine, actor=None)
    job.refresh_from_db()
    # The same bytes whoever pins them: the same CID as at publishing.
    assert job.report_cid == first_cid == release.manifest["synthetic"][0]["report_cid"]
    with content_open_verified(cid=first_cid) as handle:
        assert handle.read() == report_document(job)
    assert services.job_report_pin(job_id=job.pk) == first_cid  # idempotent


def test_only_published_sets_are_listed_and_unpublished_jobs_pin_no_report(wine) -> None:  # type: ignore[no-untyped-def]
    queued = services.job_create(dataset=wine, actor=None, rows_wanted=10, method="copula")
    with pytest.raises(services.SyntheticRefused, match="published nothing"):
        services.job_report_pin(job_id=queued.pk)
    SyntheticJob.objects.filter(pk=queued.pk).update(status=JobStatus.REJECTED_BY_GATE)
    release = release_publish(dataset=wine, actor=None)
    # A release without sets has no key for them: only what every release lists.
    assert set(release.manifest) == {
        "datadao_release", "dataset", "version", "created_at", "contributions", "totals",
        "validator", "validators", "epochs",
    }  # fmt: skip
    assert "No synthetic data published yet" in _page(wine)


def test_datasets_without_sets_keep_their_releases_and_show_a_fitting_note(wine) -> None:  # type: ignore[no-untyped-def]
    # Another dataset's set is not this one's.
    _published(wine)
    other = DatasetFactory(dao=wine.dao, kind="tabular", schema=wine.schema, slug="other")
    dataset_set_status(dataset=other, actor=None, status=DatasetStatus.OPEN)
    page = _page(other)
    assert "No synthetic data published yet" in page and "Set " not in page
    # A dataset that can have no synthetic data shows nothing about it.
    labels = DatasetFactory(dao=wine.dao, kind="labeling", schema={"labels": ["a", "b"]})
    assert "Synthetic data" not in _page(labels)


def test_a_members_only_datasets_sets_are_as_hidden_as_its_page(wine) -> None:  # type: ignore[no-untyped-def]
    job = _published(wine)
    wine.visibility = Visibility.MEMBERS
    wine.save(update_fields=["visibility"])
    for cid in (job.output_cid, job.report_cid):
        assert Client().get(f"/ipfs/{cid}").status_code == 404
    assert Client().get(f"/daos/{wine.dao.slug}/{wine.slug}/").status_code == 404
    member = Membership.objects.filter(dao=wine.dao).first().user
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    assert json.loads(_served(client, job.report_cid))["job"] == job.pk
    assert f"Set {job.pk}" in _page(wine, client)


def test_a_members_only_datasets_sets_are_pinned_sealed_and_members_read_them(wine) -> None:  # type: ignore[no-untyped-def]
    from contributions.models import SealedPin
    from ipfs.conf import get_backend

    wine.visibility = Visibility.MEMBERS
    wine.save(update_fields=["visibility"])
    job = _published(wine)
    member = Membership.objects.filter(dao=wine.dao).first().user
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    for cid in (job.output_cid, job.parquet_cid, job.checkpoint_cid, job.report_cid):
        assert SealedPin.objects.filter(cid=cid, dataset=wine).exists()
        stored = b"".join(get_backend().cat(cid))
        served = _served(client, cid)
        assert stored != served and served not in stored
    rows = _served(client, job.output_cid).decode()
    assert rows.splitlines()[0].endswith("synthetic,synthetic_job")
    assert b"synthetic_job" not in b"".join(get_backend().cat(job.output_cid))
    assert json.loads(_served(client, job.report_cid))["job"] == job.pk
    assert Client().get(f"/ipfs/{job.output_cid}").status_code == 404
