"""A sealed (members-only) release against the real js-ipfs node: without a grant its proof
sheet's signatures, ciphertexts and roots check clean (scores not re-run, and the summary
says so) and a forged signature or a wrong root is still reported; with a grantee's grant
file everything is opened and replayed clean, and a tampered ciphertext is reported."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount

from contributions.attestation import ProofFields, sign, typed_data
from contributions.models import Contribution, Release
from contributions.release_proofs import SHEET_KEY
from contributions.releases import release_publish
from datadao.models import DatasetStatus, Membership, Role, Visibility
from datadao.sealing import DataKey, encrypt_stream
from datadao.services import dataset_set_status
from datadao_verify import cli
from ipfs.backends.kubo import KuboBackend
from rewards.models import Epoch, RewardPolicy
from rewards.services import epoch_close
from rights.models import AccessGrant, Scope
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.rights.world import grant_payload, post_json
from tests.verify.conftest import REWARD_KEY, canonical, pinned

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]


@dataclass
class Sealed:
    release: Release
    contributions: list[Contribution]
    epoch: Epoch
    node: KuboBackend
    api_url: str
    grant_file: Path
    admin: Client

    @property
    def keys(self) -> dict[str, Any]:
        return json.loads(self.grant_file.read_text())["keys"]

    def sheet(self) -> dict[str, Any]:
        return json.loads(b"".join(self.node.cat(self.release.proofs_cid)))

    def add(self, data: bytes) -> str:
        return self.node.add(io.BytesIO(data))


@pytest.fixture
def sealed(ipfs_node, kubo_backend: KuboBackend, tmp_path: Path, monkeypatch) -> Iterator[Sealed]:  # type: ignore[no-untyped-def]
    """Three sealed tabular contributions on the node, two settled in a closed epoch, a
    published release, and a grantee's grant file for it."""
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        admin_account: LocalAccount = Account.create()
        admin, member = UserFactory(address=admin_account.address), UserFactory()
        dao = DAOFactory()
        Membership.objects.create(dao=dao, user=admin, role=Role.ADMIN)
        Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
        dataset = DatasetFactory(
            dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
        )
        RewardPolicy.objects.create(dataset=dataset, per_contribution=1000, per_row=10)
        dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
        uploader = Client()
        uploader.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
        settled = [
            pinned(uploader, dataset, good_csv(5, start=0), "a.csv"),
            pinned(uploader, dataset, good_csv(8, start=100), "b.csv"),
        ]
        epoch = epoch_close(dao=dao, actor=None)
        later = pinned(uploader, dataset, good_csv(3, start=200), "c.csv")
        release = release_publish(dataset=dataset, actor=None)
        assert release.sealed_key and release.proofs_cid
        manager = Client()
        manager.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
        body = grant_payload(dao, admin_account, Account.create().address, dataset)
        response = post_json(manager, f"/api/daos/{dao.slug}/grants", body)
        assert response.status_code == 201, response.content
        grant_file = tmp_path / "grant.json"
        call_command(
            "grant_replay_file", str(response.json()["id"]), release.cid, out=str(grant_file)
        )
        yield Sealed(
            release=release,
            contributions=[*settled, later],
            epoch=epoch,
            node=kubo_backend,
            api_url=ipfs_node.api_url,
            grant_file=grant_file,
            admin=manager,
        )


def verify(
    cid: str, sealed: Sealed, tmp_path: Path, grant: Path | None = None
) -> tuple[int, list[str], dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    status = cli.run(
        cid=cid,
        ipfs=sealed.api_url,
        rpc=None,
        json_path=report,
        jobs=2,
        timeout=10,
        out=out,
        err=err,
        grant_path=grant,
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return status, out.getvalue().splitlines(), data, err.getvalue()


def discrepancies(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("DISCREPANCY ")]


def test_the_node_holds_ciphertext_and_a_public_proof_sheet(sealed: Sealed) -> None:
    release = sealed.release
    assert b"".join(sealed.node.cat(release.cid)).startswith(b"DDSEAL")
    sheet = sealed.sheet()
    assert sheet[SHEET_KEY] == 1
    assert sheet["sealed_manifest"]["cid"] == release.cid
    assert [e["cid"] for e in sheet["contributions"]] == [c.cid for c in sealed.contributions]
    # What a proof is signed over is public; what describes the data stays sealed.
    assert "schema" not in sheet["dataset"] and "scoring" not in sheet["dataset"]
    assert sheet["epochs"][0]["root"] == sealed.epoch.root
    # Anyone may fetch the sheet through the site; members see its CID on the release page.
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=sealed.api_url):
        served = Client().get(f"/ipfs/{release.proofs_cid}")
        assert served.status_code == 200
        assert json.loads(b"".join(served.streaming_content)) == sheet
        assert Client().get(f"/ipfs/{release.cid}").status_code == 404
        page = sealed.admin.get(f"/releases/{release.cid}/")
        assert release.proofs_cid in page.content.decode()


def test_without_a_grant_signatures_ciphertexts_and_roots_check_clean(
    sealed: Sealed, tmp_path: Path
) -> None:
    status, lines, report, err = verify(sealed.release.proofs_cid, sealed, tmp_path)
    assert status == cli.EXIT_CLEAN, (lines, err)
    assert discrepancies(lines) == []
    assert lines[-1].startswith(f"sealed release {sealed.release.proofs_cid} ")
    assert "scores not re-run: no plaintext" in lines[-1]
    assert lines[-1].endswith(": clean (signatures and roots only)")
    assert report["verdict"] == "clean" and report["scores_rerun"] is False
    assert report["sealed"] == "proofs"
    assert report["signatures_checked"] == 3
    assert report["ciphertexts_checked"] == 4  # the manifest and three contributions
    assert report["content_checked"] == 0 and report["replayed"] == 0
    assert report["epochs_checked"] == 1


def test_the_sealed_manifest_itself_without_a_grant_gets_no_verdict(
    sealed: Sealed, tmp_path: Path
) -> None:
    status, _, report, err = verify(sealed.release.cid, sealed, tmp_path)
    assert status == cli.EXIT_UNVERIFIABLE
    assert "replay it with --grant FILE" in err and "proof sheet" in err
    assert report["verdict"] == "unverifiable"


def test_without_a_grant_a_forged_signature_and_a_wrong_root_are_reported(
    sealed: Sealed, tmp_path: Path
) -> None:
    sheet = sealed.sheet()
    dataset, entry = sheet["dataset"], sheet["contributions"][1]
    forger = Account.create()
    fields = ProofFields(
        dao_id=dataset["dao_id"],
        dataset_pk=dataset["id"],
        contributor=entry["contributor"],
        cid=entry["cid"],
        sha256=entry["sha256"],
        score=entry["scores"]["score"],
        quality=entry["scores"]["quality"],
        uniqueness=entry["scores"]["uniqueness"],
        validator_version=entry["validator_version"],
    )
    entry["proof"]["signature"] = sign(typed_data(fields, chain_id=dataset["chain_id"]), forger)
    epoch = sheet["epochs"][0]
    signed_root = epoch["root"]
    epoch["root"] = "0x" + "ab" * 32
    status, lines, report, _ = verify(sealed.add(canonical(sheet)), sealed, tmp_path)
    assert status == cli.EXIT_DISCREPANCIES
    assert sorted(discrepancies(lines)) == sorted(
        [
            f"DISCREPANCY contribution #{entry['id']}: the attestation's signature recovers to "
            f"{forger.address}, not to the listed signer {entry['proof']['signer']}",
            f"DISCREPANCY epoch {epoch['number']}: the signed EpochRoot's root is {signed_root}, "
            f"not 0x{'ab' * 32}",
        ]
    )
    assert lines[-1].startswith("sealed release ") and lines[-1].endswith(": 2 discrepancies")
    assert report["verdict"] == "discrepancies"


def test_without_a_grant_a_truncated_or_swapped_ciphertext_is_reported(
    sealed: Sealed, tmp_path: Path
) -> None:
    sheet = sealed.sheet()
    first, second = sheet["contributions"][0], sheet["contributions"][2]
    stored = b"".join(sealed.node.cat(first["cid"]))
    first["cid"] = sealed.add(stored[:-5])
    second["cid"] = sealed.add(stored)  # well formed, but another contribution's
    status, lines, _, _ = verify(sealed.add(canonical(sheet)), sealed, tmp_path)
    assert status == cli.EXIT_DISCREPANCIES
    found = discrepancies(lines)
    assert any(
        line.startswith(f"DISCREPANCY contribution #{first['id']}: the ciphertext {first['cid']}: ")
        and line.endswith("bytes of plaintext seal to")
        for line in found
    ), found
    # The proof is signed over the ciphertext's CID: another one breaks the signature.
    assert any(
        line.startswith(f"DISCREPANCY contribution #{second['id']}: the attestation's signature")
        for line in found
    ), found


def test_with_a_grant_the_release_replays_in_full(sealed: Sealed, tmp_path: Path) -> None:
    for cid in (sealed.release.cid, sealed.release.proofs_cid):
        status, lines, report, err = verify(cid, sealed, tmp_path, sealed.grant_file)
        assert status == cli.EXIT_CLEAN, (lines, err)
        assert discrepancies(lines) == []
        assert lines[-1].startswith(f"release {cid} ") and lines[-1].endswith(": clean")
        assert report["sealed"] == "grant" and report["scores_rerun"] is True
        assert report["content_checked"] == 3 and report["replayed"] == 3
        assert report["signatures_checked"] == 3 and report["epochs_checked"] == 1
        assert any(line.startswith("note grant: replayed with the grant of ") for line in lines)
        # Keys are never printed or reported.
        text = "\n".join(lines) + err + json.dumps(report)
        keys = sealed.keys
        assert keys["manifest"] not in text
        assert not any(key in text for key in keys["contributions"].values())


def test_with_a_grant_a_tampered_ciphertext_is_reported(sealed: Sealed, tmp_path: Path) -> None:
    keys = sealed.keys
    manifest = json.loads(
        json.dumps(Release.objects.get(pk=sealed.release.pk).manifest)
    )  # the plaintext manifest, as the grantee opens it
    entry = manifest["contributions"][0]
    stored = bytearray(b"".join(sealed.node.cat(entry["cid"])))
    stored[-20] ^= 0x01  # inside the last chunk's ciphertext: the same size, a new CID
    tampered_cid = sealed.add(bytes(stored))
    entry["cid"] = tampered_cid
    # Re-sealed with the manifest's own key, as someone holding the grant could.
    resealed = io.BytesIO()
    encrypt_stream(
        io.BytesIO(canonical(manifest)), resealed, DataKey(bytes.fromhex(keys["manifest"]))
    )
    status, lines, _, err = verify(
        sealed.add(resealed.getvalue()), sealed, tmp_path, sealed.grant_file
    )
    assert status == cli.EXIT_DISCREPANCIES, (lines, err)
    found = discrepancies(lines)
    assert any(
        line.startswith(
            f"DISCREPANCY contribution #{entry['id']}: the ciphertext {tampered_cid} does not "
            "open with the grant's key: "
        )
        for line in found
    ), found
    assert any(
        line.startswith(f"DISCREPANCY contribution #{entry['id']}: the attestation's signature")
        for line in found
    ), found


def test_a_proof_sheet_that_is_not_the_manifests_projection_is_reported_with_a_grant(
    sealed: Sealed, tmp_path: Path
) -> None:
    sheet = sealed.sheet()
    sheet["validators"] = [Account.create().address]
    status, lines, _, _ = verify(sealed.add(canonical(sheet)), sealed, tmp_path, sealed.grant_file)
    assert status == cli.EXIT_DISCREPANCIES
    assert discrepancies(lines) == [
        "DISCREPANCY manifest: the proof sheet differs from the sealed manifest in validators"
    ]


def test_a_grant_file_holds_one_key_per_listed_file_and_is_private(
    sealed: Sealed, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(sealed.grant_file.read_text())
    assert sealed.grant_file.stat().st_mode & 0o077 == 0
    assert document["datadao_grant"] == 1 and document["release"] == sealed.release.cid
    assert sorted(document["keys"]["contributions"]) == sorted(
        str(c.pk) for c in sealed.contributions
    )
    assert document["grant"]["signature"].startswith("0x")
    assert document["keys"]["manifest"] not in capsys.readouterr().out


def test_a_grant_file_is_refused_for_what_the_grant_does_not_cover(
    sealed: Sealed, tmp_path: Path
) -> None:
    release = sealed.release
    dao, dataset = release.dataset.dao, release.dataset
    target = tmp_path / "refused.json"

    def refused(grant_id: int | str, cid: str, message: str) -> None:
        with pytest.raises(CommandError, match=message):
            call_command("grant_replay_file", str(grant_id), cid, out=str(target))
        assert not target.exists()

    refused(999999, release.cid, "There is no grant 999999")
    download = AccessGrant.objects.get(dataset=dataset)
    refused(download.pk, "bafkreinotarelease", "There is no release bafkreinotarelease")
    other = DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA)
    elsewhere = Release.objects.create(
        dataset=other,
        version=1,
        cid="bafkreielsewhere",
        manifest={},
        contributions_count=0,
        total_bytes=0,
    )
    refused(download.pk, elsewhere.cid, f"Grant {download.pk} does not cover release")
    AccessGrant.objects.filter(pk=download.pk).update(scope=Scope.QUERY)
    refused(download.pk, release.cid, f"Grant {download.pk} is for query only")
    AccessGrant.objects.filter(pk=download.pk).update(
        scope=Scope.DOWNLOAD, expires_at=timezone.now()
    )
    refused(download.pk, release.cid, f"Grant {download.pk} is revoked or expired")
    working = {"dataset": other, "expires_at": timezone.now() + timedelta(days=1)}
    AccessGrant.objects.filter(pk=download.pk).update(**working)
    refused(download.pk, elsewhere.cid, "This release is public")


def test_a_bad_grant_file_gets_no_verdict(sealed: Sealed, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"datadao_grant": 1, "grant": {}, "keys": {}}))
    status, _, _, err = verify(sealed.release.cid, sealed, tmp_path, bad)
    assert status == cli.EXIT_UNVERIFIABLE
    assert "holds no signed grant" in err
    document = json.loads(sealed.grant_file.read_text())
    document["keys"]["manifest"] = "00" * 31
    bad.write_text(json.dumps(document))
    status, _, _, err = verify(sealed.release.cid, sealed, tmp_path, bad)
    assert status == cli.EXIT_UNVERIFIABLE
    assert err.strip() == "datadao verify: keys.manifest is not a 32-byte key in hex"


def test_manage_py_verify_release_takes_the_grant(sealed: Sealed) -> None:
    out = io.StringIO()
    call_command(
        "verify_release",
        sealed.release.cid,
        "--ipfs",
        sealed.api_url,
        "--grant",
        str(sealed.grant_file),
        stdout=out,
    )
    assert out.getvalue().splitlines()[-1].endswith(": clean")
    with pytest.raises(CommandError, match="exited with status 2"):
        call_command("verify_release", sealed.release.cid, "--ipfs", sealed.api_url, stderr=out)
