"""The batch lane (``contributions.lanes.batch``) on real PostgreSQL, run in-process: a batch gives
what the express lane gives one contribution at a time, claims each contribution once, and
leaves nothing stuck when it dies."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from contributions import services, tasks
from contributions.messages import TICKET_KEY, _ticket_redis
from contributions.models import Contribution, ContributionProof, Review, RowHash, Status
from datadao.models import AuditEvent, Membership, Role
from ipfs.models import Pin
from tests.contributions.conftest import good_csv
from tests.contributions.test_pipeline import _png
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BAD_CSV = b"id,value,kind\n1,5.5,a\nx,7,c\n"
FINAL = (Status.PINNED, Status.REJECTED, Status.FAILED)


def _upload(client: Client, dataset, data: bytes, name: str = "d.csv") -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _snapshot(ids: list[int]) -> list[tuple]:
    rows = Contribution.objects.filter(pk__in=ids).order_by("pk")
    return [
        (c.status, c.score, c.quality, c.uniqueness, c.cid, c.reasons, c.review, c.media_type)
        for c in rows
    ]


def _tabular_uploads(client: Client, dataset) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        _upload(client, dataset, good_csv(10, start=0)),
        _upload(client, dataset, good_csv(10, start=5)),  # half its rows are the first one's
        _upload(client, dataset, BAD_CSV),
        _upload(client, dataset, good_csv(4, start=100)),
    ]


# Real commits: the express lane hands each stage to the next on commit.
@pytest.mark.django_db(transaction=True)
def test_a_batch_records_what_the_express_lane_records(
    tabular, member_client: Client, dao, member
) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import DatasetFactory

    # The express lane, one contribution at a time, on a second identical dataset.
    twin = DatasetFactory(dao=dao, kind="tabular", schema=tabular.schema)
    twin.status = tabular.status
    twin.save()
    with override_settings(PIPELINE_BATCH_SIZE=1):
        express_ids = _tabular_uploads(member_client, twin)
        for pk in express_ids:
            tasks.process_contribution(pk)
    batch_ids = _tabular_uploads(member_client, tabular)
    assert tasks.process_batch() == f"batch of {len(batch_ids)}"
    assert _snapshot(batch_ids) == _snapshot(express_ids)

    pinned, half, bad, small = Contribution.objects.filter(pk__in=batch_ids).order_by("pk")
    assert pinned.status == Status.PINNED and pinned.uniqueness == 10000
    assert half.uniqueness == 5000  # scored after the first, as the express lane would
    assert bad.status == Status.REJECTED
    assert any("row 2 (line 3)" in r for r in bad.reasons), bad.reasons
    assert small.status == Status.PINNED
    accepted = [c for c in (pinned, half, small) if c.status == Status.PINNED]
    assert ContributionProof.objects.filter(contribution__in=accepted).count() == len(accepted)
    assert Pin.objects.filter(cid__in=[c.cid for c in accepted]).count() == len(accepted)
    # Every distinct valid row of the accepted contributions, once.
    assert RowHash.objects.filter(dataset=tabular).count() == len(
        {*range(0, 10), *range(5, 15), *range(100, 104)}
    ) - (0 if half.status == Status.PINNED else 5)
    verbs = sorted(
        AuditEvent.objects.filter(object_id__in=[str(pk) for pk in batch_ids]).values_list(
            "verb", flat=True
        )
    )
    express_verbs = sorted(
        AuditEvent.objects.filter(object_id__in=[str(pk) for pk in express_ids]).values_list(
            "verb", flat=True
        )
    )
    assert verbs == express_verbs
    assert all(c.lease_until is None and c.attempts == 0 for c in (pinned, half, bad, small))


def test_a_near_duplicate_image_in_the_same_batch_is_flagged(
    images, dao, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    other = UserFactory()
    Membership.objects.create(dao=dao, user=other, role=Role.CONTRIBUTOR)
    other_client = Client()
    other_client.force_login(other, backend="django.contrib.auth.backends.ModelBackend")
    first = _upload(member_client, images, _png(5), "a.png")
    # The same picture, a pixel changed: different bytes, same perceptual hash.
    second = _upload(other_client, images, _png_variant(), "b.png")
    tasks.process_batch()
    a, b = Contribution.objects.get(pk=first), Contribution.objects.get(pk=second)
    assert a.status == Status.PINNED
    assert b.status == Status.REJECTED and b.review == Review.PENDING
    assert b.near_duplicate_of_id == a.pk


def _png_variant() -> bytes:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(_png(5)))
    image.putpixel((0, 0), (1, 2, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_other_deliveries_leave_a_claimed_or_finished_contribution_alone(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    pk = _upload(member_client, tabular, good_csv(5))
    claim = services.contribution_claim_batch(first_id=None)
    assert claim is not None and [c.pk for c in claim.contributions] == [pk]
    # Leased: a delivery of its express task, or another batch, does nothing.
    assert tasks.process_contribution(pk) == "skipped"
    assert services.contribution_claim_batch(first_id=None) is None
    assert services.contribution_claim_batch(first_id=pk) is None
    assert Contribution.objects.get(pk=pk).attempts == 1
    from contributions.lanes.batch import work
    from datadao.keys import load_signer

    services.contribution_record_batch(claim=claim, outcomes=work(claim, load_signer("validator")))
    assert Contribution.objects.get(pk=pk).status == Status.PINNED
    assert tasks.process_contribution(pk) == "skipped"
    assert tasks.process_batch() == "nothing waiting"
    assert ContributionProof.objects.filter(contribution_id=pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_dead_batch_lapses_and_the_express_lane_finishes_its_work(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    ids = [_upload(member_client, tabular, good_csv(5, start=10 * i)) for i in range(3)]
    claim = services.contribution_claim_batch(first_id=ids[0])
    assert claim is not None and len(claim.contributions) == 3
    # The worker dies here. Once the lease lapses, the sweeper's delivery takes over.
    Contribution.objects.filter(pk__in=ids).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    for pk in ids:
        tasks.process_contribution(pk)
    assert {c.status for c in Contribution.objects.filter(pk__in=ids)} == {Status.PINNED}
    # The dead batch's late recording (its lease is gone) changes nothing.
    from contributions.services.batch import Outcome

    assert (
        services.contribution_record_batch(
            claim=claim, outcomes=[Outcome(contribution=c) for c in claim.contributions]
        )
        == []
    )
    assert {c.status for c in Contribution.objects.filter(pk__in=ids)} == {Status.PINNED}


def test_a_batch_that_cannot_finish_gives_its_contributions_back(
    tabular, member_client: Client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ids = [_upload(member_client, tabular, good_csv(5, start=10 * i)) for i in range(2)]
    monkeypatch.delenv("VALIDATOR_KEY")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        tasks.process_batch()
    rows = Contribution.objects.filter(pk__in=ids)
    assert {(c.status, c.attempts, c.lease_until) for c in rows} == {(Status.RECEIVED, 1, None)}
    # Counted, so the express lane takes each from here rather than a new batch that would
    # fail the same way, again and again.
    assert {services.contribution_express_state(pk) for pk in ids} == {"staged"}
    assert services.contribution_claim_batch(first_id=None) is None


def test_a_burst_of_uploads_sends_one_batch_message(
    tabular, member_client: Client, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.process_batch, "apply_async", lambda **kw: sent.append(kw))
    client = _ticket_redis()
    client.delete(TICKET_KEY)
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            _upload(member_client, tabular, good_csv(3, start=10 * i))
    assert len(sent) == 1
    # It lingers, so that a burst's uploads join one batch.
    assert sent[0]["countdown"] == 0.2
    assert client.ttl(TICKET_KEY) > 0
    # The worker clears the ticket before it claims: the next upload sends again.
    tasks.process_batch()
    with django_capture_on_commit_callbacks(execute=True):
        _upload(member_client, tabular, good_csv(3, start=90))
    assert len(sent) == 2
    client.delete(TICKET_KEY)


def test_big_files_and_labeling_items_do_not_wait_for_a_batch(tabular, dao) -> None:  # type: ignore[no-untyped-def]
    assert services.batchable(kind="tabular", size=1000)
    assert not services.batchable(kind="tabular", size=10 * 1024 * 1024)
    assert not services.batchable(kind="labeling", size=1000)
    with override_settings(PIPELINE_BATCH_SIZE=1):
        assert not services.batchable(kind="tabular", size=1000)


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_cannot_both_slip_under_the_quota(tabular, member) -> None:  # type: ignore[no-untyped-def]
    from contributions.uploads import StagedUpload, staging_dir

    def staged(data: bytes) -> StagedUpload:
        import hashlib
        import tempfile
        from pathlib import Path

        fd, name = tempfile.mkstemp(dir=staging_dir())
        with open(fd, "wb") as out:
            out.write(data)
        return StagedUpload(
            path=Path(name),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            client_name="d.csv",
            client_content_type="text/csv",
        )

    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def upload(i: int) -> None:
        try:
            barrier.wait(10)
            services.contribution_receive(
                dataset_id=tabular.pk, contributor=member, staged=staged(good_csv(3, start=9 * i))
            )
            outcomes.append("kept")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    with override_settings(CONTRIBUTIONS_PER_HOUR=2):
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(outcomes) == ["QuotaExceeded", "QuotaExceeded", "kept", "kept"]
    assert Contribution.objects.filter(contributor=member).count() == 2
