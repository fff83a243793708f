"""Which validator set was in force when each proof was made (#24 gap 1): a release dates
every proof and every set version, so the platform's fleet key cannot stand in for a DAO's
validators once the DAO has a set. A fleet proof forged by the operator for a contribution
attested after the set took effect is reported, naming the contribution; ``--require-quorum``
refuses every fleet proof."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from django.test import Client

from contributions.attestation import ProofFields, sign, typed_data
from contributions.models import Contribution
from contributions.quorum.services import validator_set_change
from contributions.releases import release_publish
from datadao.keys import load_signer
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.contributions.quorum import attest, attesting, pin, register, validator_keys
from tests.factories import DatasetFactory
from tests.verify.conftest import Published, pinned
from tests.verify.test_replay import discrepancies, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(dao, member_client: Client, embedded: Path) -> Published:  # type: ignore[no-untyped-def]
    """A fleet proof before the DAO had a set, a 2-of-3 quorum proof under set 1, and a fleet
    proof again after set 2 (empty) handed attestation back to the platform."""
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA, name="History"),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    before = pinned(member_client, dataset, good_csv(5, start=0), "before.csv")
    keys = validator_keys(3, tag="history")
    register(dao, keys, 2)
    waiting = attesting(member_client, dataset, good_csv(5, start=50), name="quorum.csv")
    client = Client()
    attest(client, keys[0], waiting.pk)
    attest(client, keys[1], waiting.pk)
    quorum = pin(waiting.pk)
    validator_set_change(dao=dao, addresses=[], threshold=0, actor=None)
    after = pinned(member_client, dataset, good_csv(5, start=100), "after.csv")
    release = release_publish(dataset=dataset, actor=None)
    return Published(
        release=release, contributions=[before, quorum, after], epoch=None, store=embedded
    )  # type: ignore[arg-type]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_every_proof_and_set_version_is_dated(history: Published, tmp_path: Path) -> None:
    manifest = history.manifest
    assert manifest["datadao_release"] == 5
    first, second = manifest["validator_sets"]
    assert (first["version"], first["threshold"], len(first["validators"])) == (1, 2, 3)
    assert (second["version"], second["threshold"], second["validators"]) == (2, 0, [])
    before, quorum, after = manifest["contributions"]
    assert "signer" in before["proof"] and "signer" in after["proof"]
    assert quorum["proof"]["validator_set"] == 1
    # Each proof falls in the period of the version it was made under.
    assert _moment(before["attested_at"]) < _moment(first["since"])
    assert _moment(first["since"]) <= _moment(quorum["attested_at"]) < _moment(second["since"])
    assert _moment(second["since"]) <= _moment(after["attested_at"])
    status, lines, report = verify(history.release.cid, str(history.store), tmp_path)
    assert status == 0, lines
    assert report["signatures_checked"] == 3


def _operator_signs(manifest: dict, entry: dict) -> None:  # type: ignore[type-arg]
    """What the platform's operator can do with its own key: a fleet proof of ``entry``,
    valid as a signature, in place of its validators' attestations."""
    dataset, scores = manifest["dataset"], entry["scores"]
    fields = ProofFields(
        dao_id=dataset["dao_id"],
        dataset_pk=int(dataset["id"]),
        contributor=entry["contributor"],
        cid=entry["cid"],
        sha256=entry["sha256"],
        score=scores["score"],
        quality=scores["quality"],
        uniqueness=scores["uniqueness"],
        validator_version=entry["validator_version"],
    )
    operator = load_signer("validator")
    entry["proof"] = {
        "signature": sign(typed_data(fields, chain_id=int(dataset["chain_id"])), operator),
        "signer": operator.address,
    }


def test_an_operator_signed_proof_after_the_set_is_reported(
    history: Published, tmp_path: Path
) -> None:
    manifest = history.manifest
    entry = manifest["contributions"][1]
    _operator_signs(manifest, entry)
    status, lines, report = verify(history.republish(manifest), str(history.store), tmp_path)
    assert status == 1
    found = discrepancies(lines)
    operator = load_signer("validator").address
    assert found == [
        f"DISCREPANCY contribution #{entry['id']}: attested at {entry['attested_at']} while "
        f"validator set 1 (2 of 3, since {manifest['validator_sets'][0]['since']}) was in "
        f"force, but signed only by the platform's fleet key {operator}: it needs 2 of the "
        "DAO's validators' signatures"
    ], lines
    # The signature itself is good: only when it was made gives it away.
    assert report["signatures_checked"] == 3


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("undated", "with no valid attested_at: nothing shows it was made before validator set 1"),
        ("set-undated", "validator set 1 has no valid since"),
        ("sets-reordered", "validator set 2 took effect at"),
    ],
)
def test_an_operator_cannot_hide_when_a_proof_was_made(
    history: Published, tmp_path: Path, tamper: str, expected: str
) -> None:
    manifest = history.manifest
    entry = manifest["contributions"][1]
    _operator_signs(manifest, entry)
    first, second = manifest["validator_sets"]
    if tamper == "undated":
        del entry["attested_at"]
    elif tamper == "set-undated":
        first["since"] = None
    else:
        second["since"] = first["since"]
    status, lines, _ = verify(history.republish(manifest), str(history.store), tmp_path)
    assert status == 1
    assert any(expected in line for line in discrepancies(lines)), lines


def test_a_quorum_proof_older_than_its_set_is_reported(history: Published, tmp_path: Path) -> None:
    manifest = history.manifest
    entry = manifest["contributions"][1]
    entry["attested_at"] = manifest["contributions"][0]["attested_at"]
    status, lines, _ = verify(history.republish(manifest), str(history.store), tmp_path)
    assert status == 1
    assert any(
        f"#{entry['id']}: attested at {entry['attested_at']}, before validator set 1 took "
        "effect" in line
        for line in discrepancies(lines)
    ), lines


def test_require_quorum_refuses_every_fleet_proof(history: Published, tmp_path: Path) -> None:
    status, lines, _ = verify(
        history.release.cid, str(history.store), tmp_path, require_quorum=True
    )
    assert status == 1
    before, _, after = history.contributions
    operator = Contribution.objects.get(pk=before.pk).proof.signer
    assert discrepancies(lines) == [
        f"DISCREPANCY contribution #{pk}: signed by the platform's fleet key {operator}, not "
        "by k of the DAO's validators (--require-quorum)"
        for pk in (before.pk, after.pk)
    ]
