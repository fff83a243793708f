"""A fleet whose hosts share no disk: web (this process), a validate host and a pin host, each
with a DATA_DIR of its own. What they share lives in an S3 bucket on a real S3-compatible
server process (moto in server mode, ``UPLOAD_STORAGE=s3``) and the IPFS backend is a
Kubo-compatible node (the js-ipfs node): the configuration deploy/env.example describes.

Uploads go through to pinned, public and members-only, a label import runs on the default
queue's host, web reads the stored files back (review excerpt, release export) and a consent
withdrawal deletes them from the bucket; no host's DATA_DIR ever holds a shared file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.selectors import contribution_excerpt
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from ipfs.backends.kubo import KuboBackend
from labeling.models import LabelImport, LabelTask
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fixtures_s3 import SECRET_KEY, S3Bucket
from tests.ipfsnode import IpfsNode
from tests.labeling.conftest import make_dataset

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# A row nobody else writes: if it is found in the bucket, a members-only file was kept in clear.
MARKER = b"424242,42.5,b"


@dataclass
class Fleet:
    web: Path
    validate_host: Path
    pin_host: Path
    validate: WorkerProcess
    pin: WorkerProcess

    @property
    def hosts(self) -> dict[str, Path]:
        return {"web": self.web, "validate": self.validate_host, "pin": self.pin_host}

    @property
    def workers(self) -> list[WorkerProcess]:
        return [self.validate, self.pin]


@pytest.fixture
def fleet(
    ipfs_node: IpfsNode, s3_bucket: S3Bucket, tmp_path: Path, settings: Any
) -> Iterator[Fleet]:
    web, validate_host, pin_host = (tmp_path / name for name in ("web", "validate", "pin"))
    settings.DATA_DIR = web
    settings.IPFS_BACKEND = "kubo"
    settings.IPFS_API_URL = ipfs_node.api_url
    shared = s3_bucket.env() | {"IPFS_BACKEND": "kubo", "IPFS_API_URL": ipfs_node.api_url}
    validate = start_worker(
        tmp_path, queues="validate", extra_env=shared | {"DATA_DIR": str(validate_host)}
    )
    try:
        pin = start_worker(
            tmp_path, queues="pin,default", extra_env=shared | {"DATA_DIR": str(pin_host)}
        )
    except BaseException:
        validate.stop()
        raise
    try:
        yield Fleet(web, validate_host, pin_host, validate, pin)
    finally:
        pin.stop()
        validate.stop()


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _pinned(pk: int, fleet: Fleet) -> Contribution:
    def final() -> bool:
        return Contribution.objects.filter(
            pk=pk, status__in=[Status.PINNED, Status.REJECTED, Status.FAILED]
        ).exists()

    wait_for(final, timeout=90, what=f"contribution {pk} to be final", worker=fleet.validate)
    contribution = Contribution.objects.select_related("dataset__dao").get(pk=pk)
    assert contribution.status == Status.PINNED, (
        contribution.reasons,
        contribution.failure,
        fleet.validate.log()[-3000:],
        fleet.pin.log()[-3000:],
    )
    return contribution


def _signed_in(wallet: LocalAccount, dao) -> Client:  # type: ignore[no-untyped-def]
    user = UserFactory(address=wallet.address)
    Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _withdraw(client: Client, dataset, wallet: LocalAccount) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/datasets/{dataset.pk}/withdrawal"
    payload = client.get(f"{url}?contribution=all").json()["typedData"]
    signature = wallet.sign_message(encode_typed_data(full_message=payload)).signature
    response = client.post(
        url,
        json.dumps({"typedData": payload, "signature": signature.to_0x_hex()}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_hosts_with_separate_data_dirs_run_the_pipeline_through_the_bucket(
    fleet: Fleet,
    s3_bucket: S3Bucket,
    member_client: Client,
    tabular,
    kubo_backend: KuboBackend,
) -> None:  # type: ignore[no-untyped-def]
    # A public upload, and a members-only one from a contributor with a wallet.
    public_data = good_csv(20)
    public = _pinned(_upload(member_client, tabular, public_data), fleet)
    private = dataset_set_status(
        dataset=DatasetFactory(
            dao=tabular.dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
        ),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    wallet = Account.create()
    contributor = _signed_in(wallet, private.dao)
    private_data = b"id,value,kind\n" + MARKER + b"\n" + good_csv(8, start=100).split(b"\n", 1)[1]
    sealed = _pinned(_upload(contributor, private, private_data), fleet)

    # Each host did its part: the validate host validated, the pin host pinned.
    assert "contributions.tasks.process_" in fleet.validate.log()
    assert "contributions.tasks.pin_contribution" in fleet.pin.log()
    # The bucket holds each upload and its row digests; the node holds the same bytes.
    stored = {c: f"uploads/{c.storage_name}" for c in (public, sealed)}
    keys = s3_bucket.keys("uploads/")
    assert keys == sorted([*stored.values(), *(f"{key}.rows" for key in stored.values())])
    assert s3_bucket.get(stored[public]) == public_data
    at_rest = s3_bucket.get(stored[sealed])
    assert MARKER not in at_rest and len(at_rest) > len(private_data)
    assert b"".join(kubo_backend.cat(public.cid)) == public_data
    assert b"".join(kubo_backend.cat(sealed.cid)) == at_rest
    assert public.report["validation"]["tabular"]["rows_valid"] == 20
    assert len(s3_bucket.get(f"{stored[public]}.rows")) == 20 * 16
    assert sealed.report["validation"]["tabular"]["rows_valid"] == 9

    # Web reads what the workers stored: the review excerpt, a release's merged CSV.
    assert contribution_excerpt(public) == public_data.decode()
    release = release_publish(dataset=tabular, actor=None)
    merged = b"".join(Client().get(f"/api/releases/{release.cid}/data.csv").streaming_content)
    assert merged.count(b"\n") == 21 and b"_contribution" in merged.split(b"\n")[0]

    # A label import: received by web, read by the default queue on the pin host.
    ldataset = make_dataset(tabular.dao)
    admin = UserFactory()
    Membership.objects.create(dao=tabular.dao, user=admin, role=Role.ADMIN)
    admin_client = Client()
    admin_client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    file = io.BytesIO(("id,text\n" + "".join(f"r{i},row {i}\n" for i in range(50))).encode())
    file.name = "bulk.csv"
    job = admin_client.post(f"/api/labeling/{ldataset.pk}/imports", {"file": file})
    assert job.status_code == 202, job.content
    wait_for(
        lambda: LabelImport.objects.filter(pk=job.json()["id"], status="done").exists(),
        timeout=60,
        what="the label import to finish",
        worker=fleet.pin,
    )
    assert LabelTask.objects.filter(dataset=ldataset).count() == 50
    storage = LabelImport.objects.get(pk=job.json()["id"]).storage_name
    assert s3_bucket.keys("label-imports/") == [f"label-imports/{storage}"]

    # Withdrawing consent deletes the stored copies from the bucket.
    _withdraw(contributor, private, wallet)
    assert s3_bucket.keys("uploads/") == sorted([stored[public], f"{stored[public]}.rows"])

    # No host's DATA_DIR holds a shared file (nor any left-over copy); no log shows the secret.
    for host, root in fleet.hosts.items():
        assert _files(root) == [], (host, _files(root))
    for worker in fleet.workers:
        assert SECRET_KEY not in worker.log()
