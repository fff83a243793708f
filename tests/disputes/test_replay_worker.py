"""Validators re-run the work: a challenge of a contribution the real pipeline pinned is
replayed by a real worker (PostgreSQL, Redis, the js-ipfs node). A record that the bytes do
not reproduce is upheld and its reward withdrawn; a false claim of a mismatch is rejected;
the task run again changes nothing; a lost message is swept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from contributions.models import Contribution, Status
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from datadao.sweeper import run_sweeps
from disputes import tasks
from disputes.models import Challenge, ChallengeStatus
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.disputes.conftest import client_of, file, make_disputed
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for
from tests.ipfsnode import IpfsNode

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(ipfs_node: IpfsNode, tmp_path: Path) -> Iterator[WorkerProcess]:
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        process = start_worker(
            tmp_path, extra_env={"IPFS_BACKEND": "kubo", "IPFS_API_URL": ipfs_node.api_url}
        )
        try:
            yield process
        finally:
            process.stop()


def _pinned(client, dataset, data: bytes, worker: WorkerProcess) -> Contribution:  # type: ignore[no-untyped-def]
    r = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    wait_for(
        lambda: Contribution.objects.filter(pk=pk, status=Status.PINNED).exists(),
        timeout=90,
        what=f"contribution {pk} to be pinned",
        worker=worker,
    )
    return Contribution.objects.get(pk=pk)


def _decided(pk: int, worker: WorkerProcess) -> Challenge:
    wait_for(
        lambda: Challenge.objects.filter(pk=pk).exclude(status__in=[ChallengeStatus.OPEN]).exists(),
        timeout=60,
        what=f"challenge {pk} to be replayed",
        worker=worker,
    )
    return Challenge.objects.get(pk=pk)


def test_the_worker_replays_challenges_and_decides_what_the_bytes_decide(
    worker: WorkerProcess,
) -> None:
    world = make_disputed(challenge_share_bps=1000)
    world.dataset.schema = CSV_SCHEMA
    world.dataset.save(update_fields=["schema"])
    dataset_set_status(dataset=world.dataset, actor=None, status=DatasetStatus.OPEN)
    author = client_of(world.author)
    honest = _pinned(author, world.dataset, good_csv(10), worker)
    inflated = _pinned(author, world.dataset, good_csv(10, start=100), worker)
    assert world.credit(honest) is not None and world.credit(inflated) is not None
    # A record the bytes do not give: as if a validator had signed a higher quality.
    Contribution.objects.filter(pk=inflated.pk).update(quality=inflated.quality - 1)

    me = client_of(world.challenger)
    claims = {
        c.pk: file(me, world.dao, target="contribution", target_id=c.pk, reason="replay").json()[
            "id"
        ]
        for c in (honest, inflated)
    }
    upheld = _decided(claims[inflated.pk], worker)
    assert upheld.status == ChallengeStatus.UPHELD and upheld.resolved_by is None
    assert any("quality: recorded" in f for f in upheld.replay["findings"])
    inflated.refresh_from_db()
    assert inflated.status == Status.REJECTED and world.credit(inflated) is None
    rejected = _decided(claims[honest.pk], worker)
    assert rejected.status == ChallengeStatus.REJECTED
    assert "every score match" in rejected.resolution
    assert world.credit(honest) is not None

    # Run again, here and through the broker: nothing changes twice.
    assert tasks.replay_challenge.apply(args=[upheld.pk]).get() is None
    tasks.replay_challenge.delay(rejected.pk)
    wait_for(
        lambda: "is gone or not open" in worker.log(),
        what="the redelivered replay to be skipped",
        worker=worker,
    )
    assert Challenge.objects.get(pk=upheld.pk).status == ChallengeStatus.UPHELD
    assert Challenge.objects.get(pk=rejected.pk).status == ChallengeStatus.REJECTED

    # A challenge whose message was lost (filed with the broker unreachable, say) is swept.
    lost = Challenge.objects.create(
        dao=world.dao,
        dataset=world.dataset,
        challenger=world.member(),
        contribution=honest,
        reason="schema",
        status=ChallengeStatus.OPEN,
        bond_status="none",
        updated_at=timezone.now() - timedelta(hours=1),
    )
    counts = run_sweeps(now=timezone.now(), stuck_after=timedelta(minutes=5))
    assert counts["challenges"] >= 1
    swept = _decided(lost.pk, worker)
    # The file still validates: whether it is what the schema means is for a reviewer.
    assert swept.status == ChallengeStatus.REVIEW
