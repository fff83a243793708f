"""The validator client (``datadao validator run``, #24 item 5) as separate OS processes, each
with its own key and no server settings, against a live server and the platform's real Celery
worker: a contribution reaches pinned with 2-of-3 signatures, the validator started out of line
(``--test-perturb-score``) is recorded, and with k out of reach the contribution is held."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from eth_account import Account

from contributions.models import Contribution, Status, ValidatorAttestation, ValidatorDisagreement
from tests.contributions.conftest import good_csv
from tests.contributions.quorum import register, validator_keys
from tests.contributions.test_cli import client_env
from tests.fixtures_celery import WorkerProcess, wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "validator-pw"


def _key_files(tmp_path: Path, keys: list) -> list[Path]:  # type: ignore[type-arg]
    """The first validator's key in a keystore, the others as hex key files."""
    paths = []
    for i, key in enumerate(keys):
        path = tmp_path / f"validator-{i}.json"
        if i == 0:
            path.write_text(json.dumps(Account.encrypt(key.key, PASSWORD, "pbkdf2", 1000)))
        else:
            path.write_text(key.key.to_0x_hex() + "\n")
        path.chmod(0o600)
        paths.append(path)
    (tmp_path / "password.txt").write_text(PASSWORD + "\n")
    return paths


def _start(url: str, key_file: Path, home: Path, *extra: str) -> subprocess.Popen[str]:
    log = (home / f"{key_file.stem}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "datadao_cli",
            "validator",
            "run",
            "--api",
            url,
            "--key-file",
            str(key_file),
            "--password-file",
            str(home / "password.txt"),
            "--poll",
            "0.3",
            *extra,
        ],
        cwd=home,
        env=client_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _upload(client: Client, dataset, data: bytes) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def _status(pk: int) -> str:
    return Contribution.objects.get(pk=pk).status


def _logs(home: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(home.glob("*.log")))


@pytest.mark.worker
def test_validators_as_processes_accept_two_of_three_and_hold_without_k(
    live_server, tabular, member_client: Client, celery_worker: WorkerProcess, tmp_path: Path
) -> None:
    keys = validator_keys(3, tag="process")
    home = tmp_path / "validators"
    home.mkdir()
    files = _key_files(home, keys)
    register(tabular.dao, keys, 2)
    pk = _upload(member_client, tabular, good_csv(7, start=1000))
    wait_for(
        lambda: _status(pk) == Status.ATTESTING, timeout=60, what="attesting", worker=celery_worker
    )
    # The first and the third (out of line) attest: they disagree, one more could still agree.
    processes = [
        _start(live_server.url, files[0], home),
        _start(live_server.url, files[2], home, "--test-perturb-score", "25"),
    ]
    try:
        wait_for(
            lambda: ValidatorAttestation.objects.filter(contribution_id=pk).count() == 2,
            timeout=90,
            what=f"two attestations\n{_logs(home)}",
        )
        assert _status(pk) == Status.ATTESTING
        processes.append(_start(live_server.url, files[1], home))
        wait_for(
            lambda: _status(pk) == Status.PINNED,
            timeout=90,
            what=f"pinned\n{_logs(home)}",
            worker=celery_worker,
        )
        proof = Contribution.objects.select_related("proof").get(pk=pk).proof
        assert sorted(a["validator"] for a in proof.attestations) == sorted(
            k.address for k in keys[:2]
        )
        [out] = ValidatorDisagreement.objects.filter(contribution_id=pk)
        assert out.validator == keys[2].address and out.against == "quorum"

        # Every validator must now agree (3 of 3): the perturbed one leaves k out of reach.
        register(tabular.dao, keys, 3)
        held = _upload(member_client, tabular, good_csv(6, start=2000))
        wait_for(
            lambda: _status(held) == Status.HELD,
            timeout=120,
            what=f"held\n{_logs(home)}",
            worker=celery_worker,
        )
        assert ValidatorAttestation.objects.filter(contribution_id=held).count() >= 2
        [out] = ValidatorDisagreement.objects.filter(contribution_id=held)
        assert out.validator == keys[2].address and out.against == "held"
        assert not Contribution.objects.filter(pk=held, proof__isnull=False).exists()
    finally:
        for process in processes:
            _stop(process)
    log = _logs(home)
    assert f"validator {keys[0].address} attesting for {live_server.url}" in log
    assert "accepts (score" in log


def test_the_client_signs_the_request_text_the_server_checks() -> None:
    from contributions.quorum.signed_request import request_text as server_text
    from datadao_client.validators import request_text as client_text

    for host, method, path, body in [
        ("localhost:8000", "GET", "/api/validators/work", b""),
        ("data.example.org", "post", "/api/validators/contributions/7/attestations?x=1", b"{}"),
    ]:
        args = {"host": host, "method": method, "path": path, "timestamp": 1700000000, "body": body}
        assert client_text(**args) == server_text(**args)


def test_the_validator_refuses_to_start_without_a_usable_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "datadao_cli",
            "validator",
            "run",
            "--api",
            "http://127.0.0.1:9",
            "--key-file",
            str(bad),
        ],
        cwd=tmp_path,
        env=client_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "holds neither a keystore nor a hex key" in done.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "datadao_cli", "validator", "run", "--help"],
        cwd=tmp_path,
        env=client_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "--api" in help_text and "--key-file" in help_text
    assert "perturb" not in help_text  # the test-only flag is not offered


def test_the_validator_imports_nothing_of_the_server(tmp_path: Path) -> None:
    code = (
        "import sys, datadao_validator.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'config'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=client_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
