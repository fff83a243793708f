"""Encryption at rest of members-only datasets, end to end: PostgreSQL, Redis, a real worker and
the real js-ipfs node. The node, and this server's disk, only ever hold ciphertext; the proof
binds the plaintext; members read the plaintext; a key rotation changes neither; a wrong key
or an altered chunk is refused, never served."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from contributions import services, tasks
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, KeyRotation, Release, Status
from contributions.pipeline import local_cid
from contributions.releases import release_publish
from contributions.sealed import private_dir
from contributions.services import upload_key
from contributions.services.keyrotation import key_rotation_start
from datadao import blobs
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from ipfs.backends.kubo import KuboBackend
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DatasetFactory
from tests.fixtures_celery import WorkerProcess, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

OLD_KEK = "test1:" + hashlib.sha256(b"datadao-test-kek").hexdigest()
MID_KEK = "mid1:" + hashlib.sha256(b"datadao-test-kek-midway").hexdigest()
NEW_KEK = "rot2:" + hashlib.sha256(b"datadao-test-kek-rotated").hexdigest()
# A row nobody else writes: if it is found anywhere at rest, the plaintext leaked.
MARKER = b"424242,42.5,b"


def _csv(rows: int = 30) -> bytes:
    lines = ["id,value,kind", MARKER.decode()] + [
        f"{i},{i % 100}.5,{'ab'[i % 2]}" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def private(dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


def _upload(client: Client, dataset, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )


def _final(pk: int, worker: WorkerProcess) -> Contribution:
    wait_for(
        lambda: Contribution.objects.filter(
            pk=pk, status__in=[Status.PINNED, Status.REJECTED, Status.FAILED]
        ).exists(),
        timeout=60,
        what=f"contribution {pk} to reach a final state",
        worker=worker,
    )
    return Contribution.objects.get(pk=pk)


def _plaintext_left() -> list[Path]:
    return list(private_dir().iterdir())


@pytest.mark.worker
def test_members_only_data_is_sealed_on_disk_and_on_the_node_and_members_read_it(
    on_node: WorkerProcess,
    member_client: Client,
    private,
    kubo_backend: KuboBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    data = _csv()
    response = _upload(member_client, private, data)
    assert response.status_code == 201, response.content
    key = upload_key(Contribution.objects.get(pk=response.json()["id"]))
    at_rest = blobs.store().read_bytes(key)
    assert MARKER not in at_rest and len(at_rest) > len(data)

    contribution = _final(response.json()["id"], on_node)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    # Validation and scoring saw the plaintext (in the worker), and left none of it behind.
    assert contribution.report["validation"]["tabular"]["rows_valid"] == 31
    assert contribution.quality == 10000 and contribution.uniqueness == 10000
    assert _plaintext_left() == []
    # The node holds the sealed file, byte for byte, under the CID the proof names.
    on_the_node = b"".join(kubo_backend.cat(contribution.cid))
    assert on_the_node == at_rest and MARKER not in on_the_node
    with blobs.store().local_copy(key) as stored:
        assert contribution.cid == local_cid(stored)
    message = member_client.get(f"/api/contributions/{contribution.pk}/proof").json()
    message = message["typedData"]["message"]
    assert message["cid"] == contribution.cid
    assert message["contentSha256"] == "0x" + hashlib.sha256(data).hexdigest()

    def member_download() -> bytes:
        response = member_client.get(f"/ipfs/{contribution.cid}")
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        return b"".join(response.streaming_content)

    # A member reads the plaintext, and it hashes to what the proof signed.
    assert member_download() == data
    assert hashlib.sha256(member_download()).hexdigest() == message["contentSha256"][2:]

    # Rotation: a new KEK first in the ring, the old one kept; re-wrap every key.
    monkeypatch.setenv("DATA_KEK", f"{NEW_KEK},{OLD_KEK}")
    call_command("rotate_data_keys")
    contribution.refresh_from_db()
    assert contribution.sealed_key.startswith("v1.rot2.")
    rotation = KeyRotation.objects.get()
    assert (rotation.state, rotation.rewrapped, rotation.failed) == ("done", 1, 0)
    # Nothing sealed changed: same file, same CID, same proof; members still read it.
    assert blobs.store().read_bytes(key) == at_rest
    assert member_download() == data
    # Once rotated, the older KEKs can leave the ring.
    monkeypatch.setenv("DATA_KEK", NEW_KEK)
    assert member_download() == data


@pytest.mark.worker
def test_a_sealed_release_manifest_is_ciphertext_on_the_node(
    on_node: WorkerProcess, member_client: Client, private, kubo_backend: KuboBackend
) -> None:  # type: ignore[no-untyped-def]
    contribution = _final(_upload(member_client, private, _csv(5)).json()["id"], on_node)
    assert contribution.status == Status.PINNED
    release = release_publish(dataset=private, actor=None)
    assert release.sealed_key
    on_the_node = b"".join(kubo_backend.cat(release.cid))
    assert contribution.sha256.encode() not in on_the_node
    served = member_client.get(f"/api/releases/{release.cid}/manifest.json")
    assert served.status_code == 200
    manifest = json.loads(b"".join(served.streaming_content))
    assert manifest["contributions"][0]["sha256"] == contribution.sha256
    assert Release.objects.get().manifest == manifest


def _pinned_in_process(client: Client, dataset) -> Contribution:  # type: ignore[no-untyped-def]
    """Upload and run every stage in this process (embedded store)."""
    response = _upload(client, dataset, _csv(8))
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
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    return contribution


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[None]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def test_a_wrong_kek_is_refused_never_served(
    embedded: None, member_client: Client, private, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    contribution = _pinned_in_process(member_client, private)
    assert member_client.get(f"/ipfs/{contribution.cid}").status_code == 200
    # The same KEK id with other key material: the wrapped key does not open.
    monkeypatch.setenv("DATA_KEK", "test1:" + "11" * 32)
    response = member_client.get(f"/ipfs/{contribution.cid}")
    assert response.status_code == 502
    assert b"does not open" in response.content and MARKER not in response.content
    # A ring without the KEK the key names.
    monkeypatch.setenv("DATA_KEK", NEW_KEK)
    response = member_client.get(f"/ipfs/{contribution.cid}")
    assert response.status_code == 502 and b"no KEK with id 'test1'" in response.content
    assert _plaintext_left() == []


def test_an_altered_chunk_fails_validation_and_leaves_no_plaintext(
    embedded: None, member_client: Client, private
) -> None:  # type: ignore[no-untyped-def]
    response = _upload(member_client, private, _csv(8))
    contribution = Contribution.objects.select_related("dataset__dao").get(pk=response.json()["id"])
    key = upload_key(contribution)
    altered = bytearray(blobs.store().read_bytes(key))
    altered[-20] ^= 0x01  # inside the last chunk's ciphertext
    blobs.store().save_bytes(key, bytes(altered))
    stage_lane.run_validation(
        services.contribution_begin(contribution_id=contribution.pk, stage="validate")
    )
    contribution.refresh_from_db()
    assert contribution.status == Status.FAILED
    assert "Cannot read the stored file" in contribution.failure
    assert "failed authentication" in contribution.failure
    assert _plaintext_left() == []


def test_without_a_kek_members_only_uploads_are_refused_and_nothing_is_kept(
    embedded: None,
    member_client: Client,
    private,
    tabular,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DATA_KEK")
    uploads = Path(settings.DATA_DIR) / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    before = set(uploads.iterdir())
    response = _upload(member_client, private, _csv(3))
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "sealing_unavailable"
    assert "no data key-encryption key configured" in body["detail"]
    assert not Contribution.objects.exists()
    assert set(uploads.iterdir()) == before
    # A public dataset needs no KEK.
    assert _upload(member_client, tabular, _csv(3)).status_code == 201


def test_the_rotation_task_resumes_in_batches(
    embedded: None, member_client: Client, private, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for rows in (3, 4, 5):
        assert _upload(member_client, private, _csv(rows)).status_code == 201
    monkeypatch.setenv("DATA_KEK", f"{NEW_KEK},{OLD_KEK}")
    rotation, created = key_rotation_start()
    assert created and rotation.total == 3
    # A second start resumes the same rotation.
    assert key_rotation_start() == (rotation, False)
    monkeypatch.setattr("contributions.services.keyrotation.BATCH", 2)
    assert tasks.rotate_data_keys.apply(args=[rotation.pk]).get() == "done"
    rotation.refresh_from_db()
    assert (rotation.state, rotation.rewrapped, rotation.already_current) == ("done", 3, 0)
    assert all(
        key.startswith("v1.rot2.")
        for key in Contribution.objects.values_list("sealed_key", flat=True)
    )
    # Run again: every key is already current, and none is touched.
    again, _ = key_rotation_start()
    assert tasks.rotate_data_keys.apply(args=[again.pk]).get() == "done"
    again.refresh_from_db()
    assert (again.rewrapped, again.already_current) == (0, 3)


def test_the_kek_keystore_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member_client: Client, private
) -> None:  # type: ignore[no-untyped-def]
    from django.core.management.base import CommandError

    from datadao.keys import load_kek_ring

    path = tmp_path / "kek.json"
    monkeypatch.delenv("DATA_KEK_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="Set DATA_KEK_PASSWORD"):
        call_command("kek_keystore", "create", str(path))
    monkeypatch.setenv("DATA_KEK_PASSWORD", "correct horse")
    call_command("kek_keystore", "create", str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="exists"):
        call_command("kek_keystore", "create", str(path))
    monkeypatch.delenv("DATA_KEK")
    monkeypatch.setenv("DATA_KEK_KEYSTORE", str(path))
    first = load_kek_ring().current.kek_id
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        assert _upload(member_client, private, _csv(3)).status_code == 201
    call_command("kek_keystore", "rotate", str(path))
    ring = load_kek_ring()
    assert ring.current.kek_id != first and first in ring.ids
    with pytest.raises(CommandError, match="1 sealed keys are still wrapped"):
        call_command("kek_keystore", "retire", str(path), first)
    call_command("rotate_data_keys")
    call_command("kek_keystore", "retire", str(path), first)
    assert load_kek_ring().ids == [ring.current.kek_id]
    monkeypatch.setenv("DATA_KEK_PASSWORD", "wrong")
    with pytest.raises(CommandError, match="does not open with this password"):
        call_command("kek_keystore", "show", str(path))


def test_a_kek_put_first_during_a_sweep_makes_it_start_over(
    embedded: None, member_client: Client, private, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from contributions.services.keyrotation import key_rotation_step

    for rows in (3, 4, 5):
        assert _upload(member_client, private, _csv(rows)).status_code == 201
    monkeypatch.setenv("DATA_KEK", f"{MID_KEK},{OLD_KEK}")
    rotation, _ = key_rotation_start()
    rotation = key_rotation_step(rotation_id=rotation.pk, batch=2)  # two keys under mid1
    monkeypatch.setenv("DATA_KEK", f"{NEW_KEK},{MID_KEK},{OLD_KEK}")
    while rotation.state == KeyRotation.State.RUNNING:
        rotation = key_rotation_step(rotation_id=rotation.pk, batch=2)
    assert rotation.kek_id == "rot2" and rotation.failed == 0
    # "Done" means every key is under the current KEK, the two moved to mid1 included.
    assert all(
        key.startswith("v1.rot2.")
        for key in Contribution.objects.values_list("sealed_key", flat=True)
    )
