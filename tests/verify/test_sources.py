"""The same verdicts from any IPFS node: the embedded store in this process, and the js-ipfs
node from a fresh copy of the checkout with no database and no settings (the console script
in a subprocess)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_account import Account
from PIL import Image

from contributions.attestation import ProofFields, sign, typed_data
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from ipfs.backends.embedded import EmbeddedBackend
from ipfs.backends.kubo import KuboBackend
from tests.contributions.conftest import IMAGE_SCHEMA
from tests.factories import DatasetFactory
from tests.ipfsnode import IpfsNode
from tests.verify.conftest import Published, canonical, pinned

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def variants(published: Published) -> dict[str, str]:
    """The release and a tampered copy of it per kind of tampering, by name: their CIDs."""
    cids = {"clean": published.release.cid}
    manifest = published.manifest
    manifest["contributions"][0]["scores"]["quality"] -= 100
    cids["score"] = published.republish(manifest)
    manifest = published.manifest
    manifest["contributions"][1]["cid"] = published.add(b"id,value,kind\n1,99.5,a\n")
    cids["file"] = published.republish(manifest)
    manifest = published.manifest
    dataset, entry = manifest["dataset"], manifest["contributions"][2]
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
    entry["proof"]["signature"] = sign(
        typed_data(fields, chain_id=dataset["chain_id"]), Account.create()
    )
    cids["signature"] = published.republish(manifest)
    manifest = published.manifest
    epoch = manifest["epochs"][0]
    inputs = json.loads(b"".join(EmbeddedBackend(published.store).cat(epoch["inputs_cid"])))
    inputs["credits"][0]["amount"] = str(int(inputs["credits"][0]["amount"]) + 1)
    epoch["inputs_cid"] = published.add(canonical(inputs))
    cids["root"] = published.republish(manifest)
    return cids


def fresh_checkout(tmp_path: Path) -> Path:
    """The checkout's files as a clone has them (tracked and not ignored): no .venv, no data,
    no node_modules."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    clone = tmp_path / "clone"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def console_script(clone: Path, args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """``bin/datadao`` of the clone, with this interpreter (its packages, not the checkout)
    and an environment that names no database, settings module or data folder."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHON": sys.executable}
    return subprocess.run(
        [str(clone / "bin" / "datadao"), *args],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def in_process(cid: str, store: Path) -> tuple[int, list[str]]:
    from datadao_verify import cli

    out = io.StringIO()
    status = cli.run(
        cid=cid,
        ipfs=str(store),
        rpc=None,
        json_path=None,
        jobs=2,
        timeout=10,
        out=out,
        err=io.StringIO(),
    )
    return status, [line for line in out.getvalue().splitlines() if line.startswith("DISCREPANCY")]


def test_the_js_ipfs_node_alone_gives_the_same_verdicts_from_a_fresh_clone(
    published: Published, ipfs_node: IpfsNode, kubo_backend: KuboBackend, tmp_path: Path
) -> None:
    cids = variants(published)
    store = EmbeddedBackend(published.store)
    car = io.BytesIO()
    store.export_car(sorted(store.pinned()), car)
    car.seek(0)
    kubo_backend.dag_import(car)
    clone = fresh_checkout(tmp_path)
    assert not (clone / ".venv").exists() and (clone / "datadao_verify" / "replay.py").is_file()
    home = tmp_path / "home"
    home.mkdir()
    verdicts = {}
    for name, cid in cids.items():
        report = home / f"{name}.json"
        done = console_script(
            clone,
            ["verify", cid, "--ipfs", ipfs_node.api_url, "--json", str(report)],
            home,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("DISCREPANCY")]
        assert done.returncode == (0 if name == "clean" else 1), (name, done.stdout, done.stderr)
        assert json.loads(report.read_text())["verdict"] == (
            "clean" if name == "clean" else "discrepancies"
        )
        verdicts[name] = (done.returncode, lines)
        assert (done.returncode, lines) == in_process(cid, published.store), name
    assert verdicts["clean"] == (0, [])
    assert all(verdicts[name][1] for name in ("score", "file", "signature", "root"))
    # The node served every block the replay needed: nothing came from this process's store.
    shutil.rmtree(published.store)
    done = console_script(clone, ["verify", cids["clean"], "--ipfs", ipfs_node.api_url], home)
    assert done.returncode == 0, done.stdout + done.stderr


def test_manage_py_verify_release_reads_the_platform_store(published: Published) -> None:
    out = io.StringIO()
    call_command("verify_release", published.release.cid, stdout=out)
    assert out.getvalue().splitlines()[-1].endswith(": clean")
    manifest = published.manifest
    manifest["contributions"][0]["scores"]["quality"] -= 100
    with pytest.raises(CommandError) as refused:
        call_command("verify_release", published.republish(manifest), stdout=io.StringIO())
    assert refused.value.returncode == 1


def png(seed: int, size: int = 48) -> bytes:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    for x in range(size):
        for y in range(size):
            if (x * seed + y * (seed + 3)) % 7 < 3:
                image.putpixel((x, y), (seed * 40 % 256, x * 5 % 256, y * 5 % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_image_release_replays_clean(dao, member_client, embedded: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from contributions.releases import release_publish

    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="files", schema=IMAGE_SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    for seed in (1, 2):
        pinned(member_client, dataset, png(seed), f"{seed}.png")
    release = release_publish(dataset=dataset, actor=None)
    status, lines = in_process(release.cid, embedded)
    assert (status, lines) == (0, [])
