"""Uploads kept in an S3 bucket (``UPLOAD_STORAGE=s3``; a real moto server process), this
process acting as web and as every stage: what is stored where, what a refusal or an
unreachable bucket leaves behind (nothing), and the readers that fetch from the bucket.
tests/fleet/test_no_shared_disk.py runs the same with worker processes on other DATA_DIRs."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from contributions.services.rowindex import row_index_rebuild
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DatasetFactory
from tests.fixtures_s3 import S3Bucket

pytestmark = [pytest.mark.django_db(transaction=True)]

STAGES = (
    ("validate", stage_lane.run_validation),
    ("score", stage_lane.run_scoring),
    ("attest", stage_lane.run_attestation),
    ("pin", stage_lane.run_pin),
)


@pytest.fixture
def web(s3_bucket: S3Bucket, tmp_path: Path, settings: Any) -> Iterator[Path]:
    """This process on a DATA_DIR of its own, storing into the bucket, pinning to an embedded
    store outside that DATA_DIR."""
    settings.DATA_DIR = tmp_path / "data"
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield settings.DATA_DIR


@pytest.fixture
def private(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _upload(client: Client, dataset, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _through_every_stage(pk: int) -> Contribution:
    for stage, runner in STAGES:
        runner(services.contribution_begin(contribution_id=pk, stage=stage))
    contribution = Contribution.objects.select_related("dataset__dao").get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


def test_every_stage_reads_the_upload_from_the_bucket(
    web: Path, s3_bucket: S3Bucket, member_client: Client, tabular, private
) -> None:  # type: ignore[no-untyped-def]
    data = good_csv(12)
    response = _upload(member_client, tabular, data)
    assert response.status_code == 201, response.content
    public = Contribution.objects.get(pk=response.json()["id"])
    key = services.upload_key(public)
    # Stored before the answer, in the bucket only.
    assert s3_bucket.keys() == [key] and s3_bucket.get(key) == data
    assert _files(web) == []

    public = _through_every_stage(public.pk)
    assert s3_bucket.keys() == [key, f"{key}.rows"]
    assert len(s3_bucket.get(f"{key}.rows")) == 12 * 16
    assert public.quality == 10000 and public.uniqueness == 10000
    with services.contribution_stored(public) as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == public.sha256

    sealed_response = _upload(member_client, private, good_csv(6, start=50))
    assert sealed_response.status_code == 201, sealed_response.content
    sealed = _through_every_stage(sealed_response.json()["id"])
    at_rest = s3_bucket.get(services.upload_key(sealed))
    assert b"50,50.5,a" not in at_rest  # ciphertext in the bucket
    with services.contribution_plaintext(sealed) as path:
        assert path.read_bytes() == good_csv(6, start=50)
    # Every copy fetched and every plaintext decrypted on the way is gone.
    assert _files(web) == []


def test_the_row_index_is_rebuilt_from_the_bucket(
    web: Path, s3_bucket: S3Bucket, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    first = _through_every_stage(_upload(member_client, tabular, good_csv(5)).json()["id"])
    second = _through_every_stage(
        _upload(member_client, tabular, good_csv(5, start=5)).json()["id"]
    )
    s3_bucket.server.client().delete_object(Bucket=s3_bucket.name, Key=services.upload_key(first))
    result = row_index_rebuild(dataset_id=tabular.pk)
    assert (result.contributions, result.kept) == (1, [first.pk])
    assert result.rows_after == result.rows_before == 10
    assert second.pk not in result.kept


def test_a_refused_upload_leaves_nothing_in_the_bucket(
    web: Path, s3_bucket: S3Bucket, member_client: Client, tabular, private, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    assert _upload(member_client, tabular, good_csv(3)).status_code == 201
    kept = s3_bucket.keys()
    duplicate = _upload(member_client, tabular, good_csv(3))
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "duplicate"
    monkeypatch.delenv("DATA_KEK")
    unsealable = _upload(member_client, private, good_csv(3, start=9))
    assert unsealable.status_code == 503
    assert unsealable.json()["error"] == "sealing_unavailable"
    assert s3_bucket.keys() == kept
    assert Contribution.objects.count() == 1
    assert _files(web) == []


def test_an_unreachable_bucket_answers_503_and_keeps_nothing(
    web: Path, member_client: Client, tabular, private, settings: Any
) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_S3_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    for dataset in (tabular, private):
        response = _upload(member_client, dataset, good_csv(3))
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["error"] == "storage_unavailable"
        assert "could not be stored; try again shortly" in body["detail"]
        assert response["Retry-After"] == "30"
    assert not Contribution.objects.exists()
    assert _files(web) == []  # the staged upload is gone too


def test_a_stage_that_cannot_reach_the_bucket_spends_no_attempt(
    web: Path, member_client: Client, tabular, settings: Any
) -> None:  # type: ignore[no-untyped-def]
    from contributions import tasks
    from contributions.lifecycle import stage_of
    from datadao.blobs import StoreUnavailable

    pk = _upload(member_client, tabular, good_csv(4)).json()["id"]
    reachable = settings.UPLOAD_S3_ENDPOINT_URL
    settings.UPLOAD_S3_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    # An outage longer than the dead-letter budget: the contribution waits, never fails.
    for _ in range(services.MAX_STAGE_ATTEMPTS + 1):
        result = tasks.validate_contribution.apply(args=[pk])
        assert isinstance(result.result, StoreUnavailable), result.result
    waiting = Contribution.objects.get(pk=pk)
    assert (waiting.attempts, stage_of(waiting)) == (0, "validate")
    settings.UPLOAD_S3_ENDPOINT_URL = reachable
    assert tasks.validate_contribution.apply(args=[pk]).result == "done"
    assert stage_of(Contribution.objects.get(pk=pk)) == "score"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
