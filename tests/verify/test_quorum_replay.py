"""Replaying a release whose proofs are signed by k of the DAO's validators (#24 item 4): it
replays clean, and a proof short of the threshold, a signer outside the published set, a
signature listed twice or a set the manifest does not publish are each reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from contributions.releases import release_publish
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.contributions.quorum import attest, attesting, pin, register, validator_keys
from tests.factories import DatasetFactory
from tests.verify.conftest import Published
from tests.verify.test_replay import discrepancies, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def quorum_release(dao, member_client: Client, embedded: Path) -> Published:  # type: ignore[no-untyped-def]
    keys = validator_keys(3, tag="replay")
    register(dao, keys, 2)
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA, name="Quorum"),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    client = Client()
    contributions = []
    for start in (0, 50):
        c = attesting(member_client, dataset, good_csv(5, start=start), name=f"{start}.csv")
        attest(client, keys[0], c.pk)
        attest(client, keys[2], c.pk)
        contributions.append(pin(c.pk))
    release = release_publish(dataset=dataset, actor=None)
    return Published(release=release, contributions=contributions, epoch=None, store=embedded)  # type: ignore[arg-type]


def test_a_quorum_release_replays_clean(quorum_release: Published, tmp_path: Path) -> None:
    manifest = quorum_release.manifest
    [published] = manifest["validator_sets"]
    assert published["version"] == 1 and published["threshold"] == 2
    assert len(published["validators"]) == 3
    proof = manifest["contributions"][0]["proof"]
    assert proof["validator_set"] == 1 and len(proof["attestations"]) == 2
    status, lines, report = verify(quorum_release.release.cid, str(quorum_release.store), tmp_path)
    assert status == 0, lines
    assert report["signatures_checked"] == 2 and report["replayed"] == 2


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("drop", "1 distinct validators of set 1 signed; its threshold is 2"),
        ("twice", "is listed twice: counted once"),
        ("outsider", "is not in validator set 1"),
        ("swap", "recovers to"),
        ("unpublished", "names validator set 2, which the manifest does not publish"),
    ],
)
def test_a_tampered_quorum_proof_is_reported(
    quorum_release: Published, tmp_path: Path, tamper: str, expected: str
) -> None:
    manifest = quorum_release.manifest
    entry = manifest["contributions"][0]
    attestations = entry["proof"]["attestations"]
    if tamper == "drop":
        attestations.pop()
    elif tamper == "twice":
        attestations[1] = dict(attestations[0])
    elif tamper == "outsider":
        removed = attestations[0]["validator"]
        published = manifest["validator_sets"][0]
        published["validators"] = [v for v in published["validators"] if v != removed]
    elif tamper == "swap":
        attestations[0]["signature"], attestations[1]["signature"] = (
            attestations[1]["signature"],
            attestations[0]["signature"],
        )
    else:
        entry["proof"]["validator_set"] = 2
    cid = quorum_release.republish(manifest)
    status, lines, _ = verify(cid, str(quorum_release.store), tmp_path)
    assert status == 1
    found = discrepancies(lines)
    assert any(expected in line and f"#{entry['id']}" in line for line in found), found
