"""The contribution pipeline end to end: PostgreSQL, Redis, a real worker, the real IPFS node."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from PIL import Image

from contributions import tasks
from contributions.attestation import recover
from contributions.models import Contribution, ContributionProof, Review, Status
from contributions.pipeline import local_cid, rescore
from datadao.keys import load_signer
from datadao.models import Membership, Role
from datadao.tasks import sweep
from ipfs.backends.kubo import KuboBackend
from ipfs.conf import get_backend
from ipfs.models import Pin
from tests.contributions.conftest import good_csv
from tests.factories import UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.fleet.invariants import check_invariants
from tests.ipfsnode import IpfsNode

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker_for(node: IpfsNode, tmp_path: Path) -> WorkerProcess:
    return start_worker(tmp_path, extra_env={"IPFS_BACKEND": "kubo", "IPFS_API_URL": node.api_url})


@pytest.fixture
def pipeline(ipfs_node: IpfsNode, tmp_path: Path) -> Iterator[WorkerProcess]:
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        worker = _worker_for(ipfs_node, tmp_path)
        try:
            yield worker
        finally:
            worker.stop()


def _upload(client: Client, dataset, data: bytes, name: str = "d.csv") -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _final(pk: int, worker: WorkerProcess, timeout: float = 60) -> Contribution:
    wait_for(
        lambda: Contribution.objects.filter(
            pk=pk, status__in=[Status.PINNED, Status.REJECTED, Status.FAILED]
        ).exists(),
        timeout=timeout,
        what=f"contribution {pk} to reach a final state",
        worker=worker,
    )
    return Contribution.objects.get(pk=pk)


def _png(seed: int, size: int = 64) -> bytes:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    pixels = image.load()
    for x in range(size):
        for y in range(size):
            if ((x * seed) // 7 + (y // 5) * (seed + 3)) % 3 == 0:
                pixels[x, y] = (seed * 37 % 255, 20, 90)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_csv_upload_is_validated_scored_attested_and_pinned(
    pipeline: WorkerProcess, member_client: Client, tabular, member, kubo_backend: KuboBackend
) -> None:  # type: ignore[no-untyped-def]
    data = good_csv(20)
    pk = _upload(member_client, tabular, data)
    contribution = _final(pk, pipeline)
    assert contribution.status == Status.PINNED, (contribution.reasons, contribution.failure)
    # The CID: what the backend returned == the local embedded computation == the node's bytes.
    assert contribution.cid == local_cid(
        Path(settings.DATA_DIR) / "uploads" / contribution.storage_name
    )
    assert b"".join(kubo_backend.cat(contribution.cid)) == data
    assert kubo_backend.is_pinned(contribution.cid)
    assert Pin.objects.filter(cid=contribution.cid).count() == 1
    assert contribution.quality == 10000 and contribution.uniqueness == 10000
    assert (contribution.authenticity, contribution.ownership) == (5000, 0)  # unsigned
    assert contribution.score == (5000 + 0 + 2 * 10000 + 2 * 10000) // 6
    # The proof is a standard eth_signTypedData_v4 payload signed by the validator key.
    proof = member_client.get(f"/api/contributions/{pk}/proof")
    assert proof.status_code == 200 and "attachment" in proof["Content-Disposition"]
    body = proof.json()
    assert recover(body["typedData"], body["signature"]) == load_signer("validator").address
    assert body["typedData"]["message"]["cid"] == contribution.cid
    assert body["typedData"]["message"]["contributor"] == member.address
    assert body["typedData"]["message"]["score"] == contribution.score
    detail = member_client.get(f"/api/contributions/{pk}").json()
    assert detail["status"] == "pinned" and detail["cid"] == contribution.cid

    # Same rows again from the same contributor: valid, but nothing new → a duplicate.
    again = _final(_upload(member_client, tabular, good_csv(20).replace(b"\n", b"\r\n")), pipeline)
    assert again.uniqueness == 0
    assert again.status == Status.REJECTED
    assert any(r.startswith("Duplicate: None of the 20 rows is new") for r in again.reasons)


def test_every_task_run_twice_has_one_effect(
    pipeline: WorkerProcess, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    pk = _upload(member_client, tabular, good_csv(5))
    contribution = _final(pk, pipeline)
    assert contribution.status == Status.PINNED
    for task in (
        tasks.validate_contribution,
        tasks.score_contribution,
        tasks.attest_contribution,
        tasks.pin_contribution,
    ):
        task.delay(pk)  # through the broker, to the real worker
        assert task.apply(args=[pk]).get() == "skipped"  # and in this process
    tasks.validate_contribution.delay(pk)
    wait_for(
        lambda: "skipped" in pipeline.log(),
        what="the redelivered tasks to be skipped",
        worker=pipeline,
    )
    contribution.refresh_from_db()
    assert contribution.status == Status.PINNED
    assert ContributionProof.objects.filter(contribution_id=pk).count() == 1
    assert Pin.objects.filter(cid=contribution.cid).count() == 1


def test_schema_violations_are_rejected_with_reasons(
    pipeline: WorkerProcess, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    bad = b"id,value,kind\n1,5.5,a\n2,500,c\n-3,x,b\n"
    contribution = _final(_upload(member_client, tabular, bad), pipeline)
    assert contribution.status == Status.REJECTED
    text = " ".join(contribution.reasons)
    assert "row 2" in text and "value" in text
    assert contribution.cid == "" and not Pin.objects.exists()
    detail = member_client.get(f"/api/contributions/{contribution.pk}").json()
    assert detail["report"]["tabular"]["rows_invalid"] == 2
    # A latin-1 byte past the upload's bounded sniff (64 KiB) is caught by full validation.
    late = good_csv(7000).replace(b"\n6999,", b"\n6999\xe9,")
    assert len(late) > 64 * 1024
    latin = _final(_upload(member_client, tabular, late), pipeline)
    assert latin.status == Status.REJECTED
    assert "not valid UTF-8" in " ".join(latin.reasons)


def test_images_and_near_duplicates_across_contributors(
    pipeline: WorkerProcess, member_client: Client, images
) -> None:  # type: ignore[no-untyped-def]
    first = _final(_upload(member_client, images, _png(3), "a.png"), pipeline)
    assert first.status == Status.PINNED, first.reasons
    assert first.media_type == "image/png"
    other = UserFactory()
    Membership.objects.create(dao=images.dao, user=other, role=Role.CONTRIBUTOR)
    client = Client()
    client.force_login(other, backend="django.contrib.auth.backends.ModelBackend")
    # Same picture, re-encoded (different bytes, so not an exact duplicate).
    image = Image.open(io.BytesIO(_png(3))).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    near = _final(_upload(client, images, out.getvalue(), "b.jpg"), pipeline)
    assert near.status == Status.REJECTED
    assert near.review == Review.PENDING and near.near_duplicate_of_id == first.pk
    assert "flagged for the DAO's review" in " ".join(near.reasons)
    # A PNG with an HTML payload after IEND is refused by content.
    polyglot = _final(
        _upload(
            member_client, images, _png(5) + b"<html><script>alert(1)</script></html>", "p.png"
        ),
        pipeline,
    )
    assert polyglot.status == Status.REJECTED


def test_rescoring_pinned_bytes_reproduces_the_signed_scores(
    pipeline: WorkerProcess, member_client: Client, tabular
) -> None:  # type: ignore[no-untyped-def]
    contribution = _final(_upload(member_client, tabular, good_csv(12)), pipeline)
    assert contribution.status == Status.PINNED
    again = rescore(contribution)
    assert again["quality"] == contribution.quality
    assert again["authenticity"] == contribution.authenticity
    assert again["ownership"] == contribution.ownership
    assert again["report"] == contribution.report["validation"]


def test_node_down_contributions_wait_in_pinning_then_finish(
    fresh_ipfs_node: IpfsNode, member_client: Client, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=fresh_ipfs_node.api_url):
        worker = _worker_for(fresh_ipfs_node, tmp_path)
        try:
            fresh_ipfs_node.stop()
            pk = _upload(member_client, tabular, good_csv(7))
            wait_for(
                lambda: (
                    Contribution.objects.filter(pk=pk, status=Status.PINNING).exists()
                    and "Retry in" in worker.log()
                ),
                what="the pin stage to retry while the node is down",
                worker=worker,
            )
            fresh_ipfs_node.start()
            contribution = _final(pk, worker, timeout=90)
            assert contribution.status == Status.PINNED
            # Issue #9's check, on the restarted node (the batch version of this scenario,
            # with rewards: tests/faults/test_ipfs.py).
            report = check_invariants(contribution_ids=[pk], backend=get_backend())
            assert (report.pinned, report.pins, report.failed) == (1, 1, 0), report
        finally:
            worker.stop()


def test_sweeper_redispatches_a_contribution_whose_message_was_lost(
    ipfs_node: IpfsNode, member_client: Client, tabular, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        pk = _upload(member_client, tabular, good_csv(9))
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the message is gone
        worker = _worker_for(ipfs_node, tmp_path)
        try:
            with override_settings(SWEEP_STUCK_AFTER_SECONDS=0):
                counts = sweep()
            assert counts["contributions"] == 1
            assert _final(pk, worker).status == Status.PINNED
        finally:
            worker.stop()
