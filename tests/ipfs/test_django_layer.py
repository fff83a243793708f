"""The IPFS layer inside Django: backend choice, /ipfs/<cid>, pin audit, management commands."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from ipfs.backends.embedded import EmbeddedBackend
from ipfs.backends.kubo import KuboBackend
from ipfs.cid import Cid, b32encode
from ipfs.conf import get_backend
from ipfs.models import Pin, PinAuditRun, PinStatus
from ipfs.services import content_add, pin_audit_run
from ipfs.unixfs import cid_of_bytes
from tests.ipfsnode import IpfsNode

pytestmark = pytest.mark.django_db

HELLO_V1 = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"


@pytest.fixture
def embedded(tmp_path: Path):  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield get_backend()


def _block_files(root: Path) -> list[Path]:
    return [p for p in (root / "blocks").rglob("*") if p.is_file()]


def test_backend_follows_settings(tmp_path: Path, ipfs_node: IpfsNode) -> None:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path):
        assert isinstance(get_backend(), EmbeddedBackend)
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        assert isinstance(get_backend(), KuboBackend)


def test_content_add_is_idempotent_and_served_as_a_verified_attachment(
    embedded, client: Client
) -> None:  # type: ignore[no-untyped-def]
    pin = content_add(stream=io.BytesIO(b"hello world"), label="test", content_type="text/plain")
    again = content_add(stream=io.BytesIO(b"hello world"), label="test again")
    assert pin.cid == HELLO_V1 and again.pk == pin.pk and Pin.objects.count() == 1
    assert pin.size == 11
    response = client.get(f"/ipfs/{HELLO_V1}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello world"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/plain"


def test_serving_refuses_bad_unknown_and_corrupt_cids(embedded, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/ipfs/not-a-cid")
    assert response.status_code == 400 and b"Not a valid CID" in response.content
    assert client.get(f"/ipfs/{HELLO_V0}").status_code == 404  # valid, never pinned here
    data = os.urandom(300_000)  # two blocks + a root
    pin = content_add(stream=io.BytesIO(data), label="big")
    assert client.get(f"/ipfs/{pin.cid}").status_code == 200
    leaf = max(_block_files(Path(embedded.root)), key=lambda p: p.stat().st_size)
    leaf.write_bytes(b"x" + leaf.read_bytes()[1:])
    response = client.get(f"/ipfs/{pin.cid}")
    assert response.status_code == 502
    assert b"does not match its CID" in response.content


def test_pin_audit_flags_missing_content(embedded) -> None:  # type: ignore[no-untyped-def]
    good = content_add(stream=io.BytesIO(b"keep me"), label="good")
    lost = content_add(stream=io.BytesIO(os.urandom(1000)), label="lost")
    run = pin_audit_run(sample_size=10)
    assert (run.checked, run.missing, run.unreachable) == (2, 0, False)
    # Blocks are stored under the base32 of their multihash.
    lost_key = b32encode(Cid.parse(lost.cid).multihash)
    removed = [p for p in _block_files(Path(embedded.root)) if p.name == lost_key]
    assert len(removed) == 1
    removed[0].unlink()
    run = pin_audit_run(sample_size=10)
    assert (run.checked, run.missing) == (2, 1)
    lost.refresh_from_db()
    good.refresh_from_db()
    assert lost.status == PinStatus.MISSING and lost.problem
    assert good.status == PinStatus.OK
    assert PinAuditRun.objects.count() == 2


def test_pin_audit_samples_least_recently_checked_first(embedded) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        content_add(stream=io.BytesIO(f"item {i}".encode()), label="x")
    pin_audit_run(sample_size=3)
    assert Pin.objects.filter(last_checked_at__isnull=True).count() == 2
    pin_audit_run(sample_size=3)  # the two never checked come first
    assert Pin.objects.filter(last_checked_at__isnull=True).count() == 0


def test_pin_audit_against_a_real_node_and_an_outage(fresh_ipfs_node: IpfsNode) -> None:
    with override_settings(
        IPFS_BACKEND="kubo", IPFS_API_URL=fresh_ipfs_node.api_url, IPFS_TIMEOUT_SECONDS=5
    ):
        pin = content_add(stream=io.BytesIO(b"on the node"), label="node")
        assert pin.cid == cid_of_bytes(b"on the node")
        get_backend().unpin(pin.cid)
        other = content_add(stream=io.BytesIO(b"still pinned"), label="node")
        run = pin_audit_run(sample_size=10)
        assert (run.checked, run.missing) == (2, 1)
        assert Pin.objects.get(pk=pin.pk).status == PinStatus.MISSING
        fresh_ipfs_node.stop()
        run = pin_audit_run(sample_size=10)
        assert run.unreachable and run.missing == 0
        assert Pin.objects.get(pk=other.pk).status == PinStatus.OK  # an outage is not a loss


def test_ipfs_cid_command_matches_known_vectors(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world")
    call_command("ipfs_cid", str(path), str(path), "--cid-version", "0")
    call_command("ipfs_cid", str(path))
    assert capsys.readouterr().out.split() == [HELLO_V0, HELLO_V0, HELLO_V1]
    with pytest.raises(CommandError, match="not a readable file"):
        call_command("ipfs_cid", str(tmp_path / "missing"))


def test_ipfs_car_command_exports_what_a_real_node_imports(
    embedded, tmp_path: Path, kubo_backend: KuboBackend
) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(600_000)
    pin = content_add(stream=io.BytesIO(data), label="release")
    car = tmp_path / "release.car"
    call_command("ipfs_car", pin.cid, "--output", str(car))
    with car.open("rb") as stream:
        assert kubo_backend.dag_import(stream) == [pin.cid]
    assert b"".join(kubo_backend.cat(pin.cid)) == data
    with pytest.raises(CommandError, match="not a valid CID"):
        call_command("ipfs_car", "nope", "--output", str(tmp_path / "x.car"))
    with pytest.raises(CommandError):
        call_command("ipfs_car", HELLO_V0, "--output", str(tmp_path / "y.car"))
    assert not (tmp_path / "y.car").exists() and not (tmp_path / "y.car.partial").exists()
