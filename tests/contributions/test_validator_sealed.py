"""A sealed (members-only) contribution's validators sign only a CID they computed (#24
gap 2): the platform serves them the plaintext to validate and the ciphertext it stores and
pins, and each validator hashes the ciphertext itself. A listing whose CID the ciphertext
does not give is refused: the validators sign a rejection naming both CIDs, never the listed
one, and the DAO sees why on the contribution."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from contributions.models import Contribution, Status, ValidatorAttestation
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from datadao_validator.attest import NoCiphertext, ciphertext_problem, verdict
from ipfs.unixfs import import_stream
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.contributions.quorum import (
    attest,
    attesting,
    found_by,
    get,
    pin,
    register,
    validator_keys,
    work_item,
)
from tests.contributions.test_cli import client_env
from tests.factories import DatasetFactory


@pytest.fixture
def keys():  # type: ignore[no-untyped-def]
    return validator_keys(3, tag="sealed")


@pytest.fixture
def private(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _cid(data: bytes) -> str:
    return str(import_stream(io.BytesIO(data), cid_version=1).cid)


@pytest.mark.django_db
def test_validators_sign_the_cid_of_the_ciphertext_they_hashed(  # type: ignore[no-untyped-def]
    private, tabular, member_client, keys
) -> None:
    register(private.dao, keys, 2)
    data = good_csv(6, start=300)
    waiting = attesting(member_client, private, data)
    client = Client()
    item = work_item(client, keys[0], waiting.pk)
    assert item["sealed"] is True
    assert item["ciphertext_url"] == f"/api/validators/contributions/{waiting.pk}/ciphertext"
    stored = get(client, keys[0], item["ciphertext_url"])
    assert stored.status_code == 200
    ciphertext = b"".join(stored.streaming_content)
    assert ciphertext.startswith(b"DDSEAL") and data not in ciphertext
    assert _cid(ciphertext) == waiting.cid == item["cid"] != _cid(data)
    found = found_by(client, keys[0], item)
    assert found["accepted"] and found["cid"] == waiting.cid, found
    for key in keys[:2]:
        assert attest(client, key, waiting.pk).status_code == 201
    contribution = pin(waiting.pk)
    assert contribution.status == Status.PINNED
    assert contribution.proof.typed_data["message"]["cid"] == waiting.cid
    # A contribution that is not sealed has no ciphertext to serve: its CID is its content's.
    public = attesting(member_client, tabular, good_csv(4, start=350))
    assert work_item(client, keys[0], public.pk)["ciphertext_url"] is None
    refused = get(client, keys[0], f"/api/validators/contributions/{public.pk}/ciphertext")
    assert refused.status_code == 404
    assert refused.json() == {
        "error": "not_found",
        "detail": f"Contribution {public.pk} is not sealed: its CID addresses its content "
        "(/content).",
    }
    # Only a validator's signed request gets the ciphertext.
    assert Client().get(item["ciphertext_url"]).status_code == 401


@pytest.mark.django_db
def test_a_tampered_listing_is_refused_and_reported(  # type: ignore[no-untyped-def]
    private, member_client, keys
) -> None:
    register(private.dao, keys, 2)
    data = good_csv(6, start=400)
    waiting = attesting(member_client, private, data)
    true_cid = waiting.cid
    # The platform lists a CID that is not the ciphertext's: the plaintext's, which it would
    # then pin in the clear.
    listed = _cid(data)
    Contribution.objects.filter(pk=waiting.pk).update(cid=listed)
    client = Client()
    item = work_item(client, keys[0], waiting.pk)
    assert item["cid"] == listed
    found = found_by(client, keys[0], item)
    assert found["accepted"] is False
    assert found["cid"] == true_cid
    assert found["reasons"] == [
        f"the ciphertext served hashes to CID {true_cid}, not the listed {listed}: the listed "
        "CID is refused"
    ]
    for key in keys[:2]:
        assert attest(client, key, waiting.pk).status_code == 201
    contribution = Contribution.objects.get(pk=waiting.pk)
    # Two validators agree: rejected, with the reason the DAO reads on the contribution.
    assert contribution.status == Status.REJECTED
    assert any(f"not the listed {listed}" in reason for reason in contribution.reasons)
    assert not Contribution.objects.filter(pk=waiting.pk, proof__isnull=False).exists()
    signed = ValidatorAttestation.objects.filter(contribution=waiting)
    assert {(a.cid, a.accepted) for a in signed} == {(true_cid, False)}


def test_without_the_ciphertext_nothing_is_signed(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(good_csv(3))
    item = {"id": 7, "sealed": True, "cid": _cid(good_csv(3)), "size": plain.stat().st_size}
    with pytest.raises(NoCiphertext, match="its CID cannot be checked"):
        verdict(item, plain)  # type: ignore[arg-type]
    # Served "ciphertext" that is the plaintext, listed under its own CID: the CID matches,
    # but it is no sealed stream, so the validator refuses to sign it.
    cid, problem = ciphertext_problem(item, plain)
    assert cid == item["cid"]
    assert problem is not None and "is not the sealed file of this contribution" in problem


@pytest.mark.django_db(transaction=True)
def test_the_validator_process_refuses_a_tampered_listing(  # type: ignore[no-untyped-def]
    live_server, private, member_client, keys, tmp_path: Path
) -> None:
    register(private.dao, keys, 2)
    data = good_csv(5, start=600)
    waiting = attesting(member_client, private, data)
    listed = _cid(data)
    Contribution.objects.filter(pk=waiting.pk).update(cid=listed)
    key_file = tmp_path / "validator.key"
    key_file.write_text(keys[0].key.to_0x_hex() + "\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "datadao_cli",
            "validator",
            "run",
            "--api",
            live_server.url,
            "--key-file",
            str(key_file),
            "--once",
            "--poll",
            "0.2",
        ],
        cwd=tmp_path,
        env=client_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"contribution {waiting.pk}: rejects (score 0): the ciphertext served hashes to CID "
        f"{waiting.cid}, not the listed {listed}: the listed CID is refused: recorded, now "
        "attesting" in done.stderr
    ), done.stderr
    [row] = ValidatorAttestation.objects.filter(contribution=waiting)
    assert (row.validator, row.cid, row.accepted) == (keys[0].address, waiting.cid, False)
