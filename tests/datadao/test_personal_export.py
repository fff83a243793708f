"""``GET /api/me/export.zip``: everything about me, and nothing about anyone else."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from eth_account import Account
from eth_account.messages import encode_typed_data

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.services import dataset_set_status
from labeling.models import Label, LabelTask
from rewards.models import RewardEntry
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path) -> Iterator[None]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _contribute(client: Client, dataset, data: bytes, name: str) -> Contribution:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, runner in (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
        ("pin", stage_lane.run_pin),
    ):
        runner(services.contribution_begin(contribution_id=pk, stage=stage))
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.PINNED
    return contribution


def _csv(start: int) -> bytes:
    rows = [f"{i},{i}.5,a" for i in range(start, start + 3)]
    return ("\n".join(["id,value,kind", *rows]) + "\n").encode()


def test_the_export_holds_everything_about_me_decrypted_and_nothing_about_others() -> None:
    wallet = Account.create()
    me = UserFactory(address=wallet.address)
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=me, role=Role.CONTRIBUTOR)
    dataset = DatasetFactory(
        dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    client = Client()
    client.force_login(me, backend="django.contrib.auth.backends.ModelBackend")
    kept = _contribute(client, dataset, _csv(0), "kept.csv")
    gone = _contribute(client, dataset, _csv(10), "gone.csv")
    offer = client.get(f"/api/datasets/{dataset.pk}/withdrawal?contribution={gone.pk}")
    payload = offer.json()["typedData"]
    signature = wallet.sign_message(encode_typed_data(full_message=payload)).signature.to_0x_hex()
    withdrawn = client.post(
        f"/api/datasets/{dataset.pk}/withdrawal",
        json.dumps({"typedData": payload, "signature": signature}),
        content_type="application/json",
    )
    assert withdrawn.status_code == 201
    # Someone else's contribution in the same dataset.
    other = UserFactory()
    Membership.objects.create(dao=dao, user=other, role=Role.CONTRIBUTOR)
    other_client = Client()
    other_client.force_login(other, backend="django.contrib.auth.backends.ModelBackend")
    theirs = _contribute(other_client, dataset, _csv(20), "theirs.csv")
    # A label of mine on a check question, and a credit.
    task = LabelTask.objects.create(
        dataset=dataset, source_key="gold-1", kind="text", is_gold=True, gold=["cat"]
    )
    Label.objects.create(
        dataset=dataset, task=task, labeler=me, value=["cat"], gold_correct=True, duration_ms=900
    )
    RewardEntry.objects.create(
        dao=dao,
        dataset=dataset,
        account=me,
        amount=10**24 + 7,
        reason="test",
        source_type="test",
        source_id="1",
    )

    response = client.get("/api/me/export.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {
        "README.txt",
        "account/profile.json",
        "account/audit.json",
        "contributions/contributions.json",
        "contributions/withdrawals.json",
        "labeling/labels.jsonl",
        "rewards/rewards.json",
    } <= names
    # The sealed file, as sent; the withdrawn one is not there.
    assert archive.read(f"contributions/files/{kept.pk}-kept.csv") == _csv(0)
    assert not [n for n in names if n.startswith(f"contributions/files/{gone.pk}-")]
    listed = json.loads(archive.read("contributions/contributions.json"))
    assert [c["id"] for c in listed] == [kept.pk, gone.pk]
    assert listed[0]["stored_encrypted"] is True and listed[0]["proof"]["signature"]
    assert "consent withdrawn" in listed[1]["file"]
    assert json.loads(archive.read("contributions/withdrawals.json"))[0]["contributions"] == [
        gone.pk
    ]
    profile = json.loads(archive.read("account/profile.json"))
    assert profile["address"] == me.address and profile["memberships"][0]["dao"] == dao.slug
    assert "consent.withdrawn" in archive.read("account/audit.json").decode()
    # My label, without anything that tells a check question apart.
    label = json.loads(archive.read("labeling/labels.jsonl").decode().splitlines()[0])
    assert label["label"] == ["cat"] and label["task"] == task.pk
    assert "gold" not in json.dumps(label)
    assert json.loads(archive.read("rewards/rewards.json"))["credits"][0]["amount"] == str(
        10**24 + 7
    )
    # Nothing of the other contributor's.
    everything = b"".join(archive.read(n) for n in names)
    assert other.address.encode() not in everything
    assert theirs.sha256.encode() not in everything
    assert Client().get("/api/me/export.zip").status_code == 401
