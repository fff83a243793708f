"""A real release to replay: contributions uploaded through the API and taken through every
stage of the pipeline in this process (as the worker would), credited, settled in a closed
reward epoch and published, all in the embedded store of the test."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from contributions import services
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Release, Status
from contributions.releases import release_publish
from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from ipfs.backends.embedded import EmbeddedBackend
from ipfs.cid import Cid, b32encode
from rewards.models import Epoch, RewardPolicy
from rewards.services import epoch_close
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory

REWARD_KEY = "0x" + hashlib.sha256(b"datadao-test-verify-rewards").hexdigest()
STAGES = (
    ("validate", stage_lane.run_validation),
    ("score", stage_lane.run_scoring),
    ("attest", stage_lane.run_attestation),
    ("pin", stage_lane.run_pin),
)


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "ipfs"
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=root):
        yield root


@pytest.fixture
def member():  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def dao(member):  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    return dao


@pytest.fixture
def member_client(member) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return client


def pinned(client: Client, dataset, data: bytes, name: str) -> Contribution:  # type: ignore[no-untyped-def]
    """Upload through the API, then run every stage in this process, as the worker would."""
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, run in STAGES:
        contribution = services.contribution_begin(contribution_id=pk, stage=stage)
        assert contribution is not None, stage
        run(contribution)
    contribution = Contribution.objects.get(pk=pk)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


@dataclass
class Published:
    """A release and what the tests tamper with."""

    release: Release
    contributions: list[Contribution]
    epoch: Epoch
    store: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return copy.deepcopy(self.release.manifest)

    def add(self, data: bytes) -> str:
        """Add bytes to the store (as anyone could to any node); their CID."""
        return EmbeddedBackend(self.store).add(io.BytesIO(data))

    def republish(self, manifest: dict[str, Any]) -> str:
        """A tampered manifest, added to the store: its CID."""
        return self.add(canonical(manifest))

    def block_path(self, cid: str) -> Path:
        key = b32encode(Cid.parse(cid).multihash)
        return self.store / "blocks" / key[-3:-1] / key


@pytest.fixture
def published(
    dao, member_client: Client, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> Published:  # type: ignore[no-untyped-def]
    """Three tabular contributions, two settled in a closed epoch, then published."""
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    dataset = DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA, name="Readings")
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000, per_row=10)
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    settled = [
        pinned(member_client, dataset, good_csv(5, start=0), "a.csv"),
        pinned(member_client, dataset, good_csv(8, start=100), "b.csv"),
    ]
    epoch = epoch_close(dao=dao, actor=None)
    # Credited after the close: in the open epoch, which a replay cannot check yet.
    later = pinned(member_client, dataset, good_csv(3, start=200), "c.csv")
    release = release_publish(dataset=dataset, actor=None)
    assert embedded == settings.IPFS_EMBEDDED_ROOT
    return Published(release=release, contributions=[*settled, later], epoch=epoch, store=embedded)
