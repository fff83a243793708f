"""Replaying a release from IPFS alone (``datadao_verify``): clean, then each kind of
tampering reported, with exit status 1."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from eth_account import Account

from contributions.attestation import ProofFields, sign, typed_data
from datadao_verify import cli
from tests.verify.conftest import Published, canonical

pytestmark = pytest.mark.django_db


def verify(
    cid: str,
    source: str,
    tmp_path: Path,
    *,
    require_quorum: bool = False,
    set_signers: list[str] | None = None,
) -> tuple[int, list[str], dict]:  # type: ignore[type-arg]
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "report.json"
    status = cli.run(
        cid=cid,
        ipfs=source,
        rpc=None,
        json_path=report,
        jobs=2,
        timeout=10,
        out=out,
        err=err,
        require_quorum=require_quorum,
        set_signers=set_signers,
    )
    assert not err.getvalue() or status == cli.EXIT_UNVERIFIABLE, err.getvalue()
    return status, out.getvalue().splitlines(), json.loads(report.read_text())


def discrepancies(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("DISCREPANCY ")]


def test_a_release_replays_clean(published: Published, tmp_path: Path) -> None:
    release = published.release
    status, lines, report = verify(release.cid, str(published.store), tmp_path)
    assert status == 0, lines
    assert discrepancies(lines) == []
    assert lines[-1].endswith(": clean")
    assert report["verdict"] == "clean"
    assert report["contributions"] == 3
    assert report["content_checked"] == 3
    assert report["replayed"] == 3
    assert report["signatures_checked"] == 3
    assert report["epochs_checked"] == 1
    assert report["dataset"]["slug"] == release.dataset.slug


def test_the_manifest_publishes_what_a_replay_needs(published: Published) -> None:
    manifest = published.manifest
    assert manifest["datadao_release"] == 5
    assert manifest["validator"]["version"] == 1
    assert len(manifest["validator"]["code_sha256"]) == 64
    assert manifest["validators"] == [published.contributions[0].proof.signer]
    assert manifest["dataset"]["scoring"]["weights"]["quality"] == 2
    assert all(entry["signed"] is False for entry in manifest["contributions"])
    [epoch] = manifest["epochs"]
    assert epoch["number"] == published.epoch.number
    assert epoch["root"] == published.epoch.root
    assert epoch["inputs_cid"] == published.epoch.inputs_cid != ""


def test_a_tampered_score_is_reported(published: Published, tmp_path: Path) -> None:
    manifest = published.manifest
    entry = manifest["contributions"][0]
    attested = entry["scores"]["quality"]
    entry["scores"]["quality"] = attested - 100
    status, lines, report = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    found = discrepancies(lines)
    subject = f"DISCREPANCY contribution #{entry['id']}: "
    assert subject + f"quality: attested {attested - 100}, replayed {attested}" in found
    # The attestation was signed over the original score: it no longer recovers to the signer.
    assert any(
        line.startswith(subject + "the attestation's signature recovers to") for line in found
    )
    assert report["verdict"] == "discrepancies"


def test_a_tampered_file_is_reported(published: Published, tmp_path: Path) -> None:
    target = published.contributions[1]
    published.block_path(target.cid).write_bytes(b"id,value,kind\n1,99.5,a\n")
    status, lines, _ = verify(published.release.cid, str(published.store), tmp_path)
    assert status == 1
    [line] = discrepancies(lines)
    assert line.startswith(f"DISCREPANCY contribution #{target.pk}: content of {target.cid}: ")
    assert "does not hash to its CID" in line


def test_other_bytes_under_a_listed_cid_are_reported(published: Published, tmp_path: Path) -> None:
    manifest = published.manifest
    entry = manifest["contributions"][0]
    entry["cid"] = published.add(b"id,value,kind\n1,99.5,a\n")
    status, lines, _ = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    found = discrepancies(lines)
    assert any(
        line.startswith(f"DISCREPANCY contribution #{entry['id']}: the bytes of {entry['cid']} ")
        and f"not the attested {entry['sha256']}" in line
        for line in found
    ), found


def test_a_forged_attestation_is_reported(published: Published, tmp_path: Path) -> None:
    manifest = published.manifest
    dataset = manifest["dataset"]
    entry = manifest["contributions"][2]
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
    forged = sign(typed_data(fields, chain_id=dataset["chain_id"]), forger)
    # Under the platform's name: the signature does not recover to it.
    entry["proof"]["signature"] = forged
    status, lines, _ = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    assert discrepancies(lines) == [
        f"DISCREPANCY contribution #{entry['id']}: the attestation's signature recovers to "
        f"{forger.address}, not to the listed signer {entry['proof']['signer']}"
    ]
    # Under the forger's own name: a signer outside the DAO's validator set.
    entry["proof"]["signer"] = forger.address
    status, lines, _ = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    assert discrepancies(lines) == [
        f"DISCREPANCY contribution #{entry['id']}: signer {forger.address} is not in the "
        "DAO's validator set"
    ]


def test_a_wrong_root_is_reported(published: Published, tmp_path: Path) -> None:
    manifest = published.manifest
    epoch = manifest["epochs"][0]
    inputs = json.loads(
        b"".join(
            __import__("ipfs.backends.embedded", fromlist=["x"])
            .EmbeddedBackend(published.store)
            .cat(epoch["inputs_cid"])
        )
    )
    # One credit paid more than it earned: the inputs no longer give the signed root.
    inputs["credits"][0]["amount"] = str(int(inputs["credits"][0]["amount"]) + 1)
    epoch["inputs_cid"] = published.add(canonical(inputs))
    status, lines, _ = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    found = discrepancies(lines)
    assert any(
        line.startswith(f"DISCREPANCY epoch {epoch['number']}: the root replayed from its inputs")
        and f"is not the signed root {epoch['root']}" in line
        for line in found
    ), found

    # A root listed in the manifest that is not the one signed.
    manifest = published.manifest
    manifest["epochs"][0]["root"] = "0x" + "ab" * 32
    status, lines, _ = verify(published.republish(manifest), str(published.store), tmp_path)
    assert status == 1
    assert discrepancies(lines) == [
        f"DISCREPANCY epoch {epoch['number']}: the signed EpochRoot's root is {epoch['root']}, "
        f"not 0x{'ab' * 32}"
    ]


def test_what_is_not_a_release_gets_no_verdict(published: Published, tmp_path: Path) -> None:
    status, _, report = verify(published.contributions[0].cid, str(published.store), tmp_path)
    assert status == cli.EXIT_UNVERIFIABLE
    assert report["verdict"] == "unverifiable"
    assert "not a release manifest" in report["error"]


def test_a_finding_prints_in_chinese_while_the_json_stays_english(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a Chinese locale the finding's subject and message (an IPFS error within it too)
    are Chinese after the English ``DISCREPANCY`` tag; the JSON report is English."""
    from datadao_client import language
    from datadao_verify import i18n

    messages = i18n._.__self__  # the catalogue the verifier reads, on first use
    monkeypatch.setattr(language, "languages", lambda environ=None: [language.SIMPLIFIED])
    messages.__dict__.pop("catalogue", None)
    target = published.contributions[1]
    published.block_path(target.cid).write_bytes(b"id,value,kind\n1,99.5,a\n")
    try:
        status, lines, report = verify(published.release.cid, str(published.store), tmp_path)
    finally:
        messages.__dict__.pop("catalogue", None)
    assert status == 1
    [line] = discrepancies(lines)
    assert line.startswith(f"DISCREPANCY 贡献 #{target.pk}：{target.cid} 的内容：来自 存储 ")
    assert line.endswith(f"的块 {target.cid} 的哈希值与其 CID 不符")
    [finding] = report["discrepancies"]
    assert finding["subject"] == f"contribution #{target.pk}"
    assert finding["message"].startswith(f"content of {target.cid}: block {target.cid} from the ")
    assert finding["message"].endswith("does not hash to its CID")
    assert lines[-1].endswith("：1 处不一致")
