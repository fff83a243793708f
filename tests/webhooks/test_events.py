"""Each event is emitted by the service that makes its state change, once per
change, in that change's transaction: nothing for a change that rolls back, nothing for a
no-op repeat, and no query at all for a DAO nobody listens to. (The disputes events are tested
with the disputes: ``tests/disputes/test_events_and_export.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contributions import services as contribution_services
from contributions.lanes.batch import work
from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.services.review import contribution_override
from datadao import events
from datadao.joining import JoinRefused, dao_join
from datadao.keys import load_signer
from datadao.models import DAO, JoinPolicy, Membership, Role
from datadao.services import dao_update
from labeling import services as labeling_services
from labeling.services.settle import task_consensus_update
from rewards.models import RewardPolicy
from rewards.services import epoch_close
from synthetic.models import JobStatus, SyntheticJob
from synthetic.services import job_cancel, job_fail
from tests.contributions.conftest import CSV_SCHEMA, _open, good_csv
from tests.datadao.joinkit import signed_terms, wallet_user
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.labeling.conftest import age_labels, make_dataset, make_labelers, make_tasks
from tests.webhooks.conftest import endpoint_for
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing
BAD_CSV = b"id,value,kind\n1,5.5,a\nx,7,c\n"


class Rollback(Exception):
    pass


def _events(dao: DAO, event_type: str) -> list[dict[str, Any]]:
    return list(
        WebhookEvent.objects.filter(dao=dao, type=event_type)
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def _upload(client: Client, dataset, data: bytes, name: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _record_batch() -> None:
    claim = contribution_services.contribution_claim_batch(first_id=None)
    assert claim is not None
    contribution_services.contribution_record_batch(
        claim=claim, outcomes=work(claim, load_signer("validator"))
    )


@pytest.fixture
def pipeline_dao(monkeypatch: pytest.MonkeyPatch, settings):  # type: ignore[no-untyped-def]
    """A DAO with an open tabular dataset that pays per contribution, and a member client."""
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    settings.PIPELINE_BATCH_SIZE = 8
    dao = DAOFactory()
    member = UserFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    dataset = _open(DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA))
    RewardPolicy.objects.create(dataset=dataset, per_contribution=10**18)
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return dao, dataset, client


def test_contributions_pinned_and_rejected_release_and_epoch_each_emit_once(
    pipeline_dao, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    dao, dataset, client = pipeline_dao
    endpoint_for(dao, receiver)
    good = _upload(client, dataset, good_csv(5), "good.csv")
    bad = _upload(client, dataset, BAD_CSV, "bad.csv")
    _record_batch()

    pinned = Contribution.objects.get(pk=good)
    assert pinned.status == Status.PINNED
    assert Contribution.objects.get(pk=bad).status == Status.REJECTED
    assert _events(dao, "contribution.pinned") == [
        {
            "contribution": {
                "id": good,
                "dataset": {"id": dataset.pk, "slug": dataset.slug},
                "status": "pinned",
                "cid": pinned.cid,
                "size": pinned.size,
                "media_type": pinned.media_type,
                "score": pinned.score,
                "review": None,
            }
        }
    ]
    (rejected,) = _events(dao, "contribution.rejected")
    assert rejected["contribution"]["id"] == bad
    assert (
        rejected["contribution"]["status"] == "rejected" and rejected["contribution"]["cid"] is None
    )
    # One delivery per event to the one endpoint.
    assert WebhookDelivery.objects.filter(endpoint__dao=dao).count() == 2

    # The DAO rejects the pinned one by hand: a second state change, a second event for it.
    contribution_override(contribution=pinned, actor=dao.creator, decision="reject", note="x")
    assert [e["contribution"]["id"] for e in _events(dao, "contribution.rejected")] == [bad, good]

    # A release; publishing again with nothing changed returns it and emits nothing.
    other = _upload(client, dataset, good_csv(4, start=100), "c.csv")
    _record_batch()
    release = release_publish(dataset=dataset, actor=dao.creator)
    assert release_publish(dataset=dataset, actor=dao.creator).pk == release.pk
    assert _events(dao, "release.published") == [
        {
            "release": {
                "id": release.pk,
                "dataset": {"id": dataset.pk, "slug": dataset.slug},
                "version": 1,
                "cid": release.cid,
                "contributions": 1,
                "bytes": release.total_bytes,
                "created_at": release.manifest["created_at"],
            }
        }
    ]
    assert release.manifest["contributions"][0]["id"] == other

    # The epoch closes once; closing it again returns it and emits nothing.
    dao.refresh_from_db()
    epoch = epoch_close(dao=dao, actor=None)
    assert epoch_close(dao=dao, actor=None, number=epoch.number).pk == epoch.pk
    (closed,) = _events(dao, "epoch.closed")
    assert closed["epoch"]["id"] == epoch.pk and closed["epoch"]["root"] == epoch.root
    assert closed["epoch"]["total"] == str(epoch.total) and closed["epoch"]["dump_cid"]


def test_the_express_lane_emits_as_the_batch_does(pipeline_dao, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from contributions import tasks

    dao, dataset, client = pipeline_dao
    endpoint_for(dao, receiver, ["contribution.pinned"])
    good = _upload(client, dataset, good_csv(5, start=500), "good.csv")
    bad = _upload(client, dataset, BAD_CSV, "bad.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.PIPELINE_BATCH_SIZE", 1)
        for pk in (good, bad):
            tasks.process_contribution(pk)
    assert Contribution.objects.get(pk=good).status == Status.PINNED
    # Only what the endpoint subscribes to is recorded: the rejection is not.
    assert [e["contribution"]["id"] for e in _events(dao, "contribution.pinned")] == [good]
    assert _events(dao, "contribution.rejected") == []


def test_a_rolled_back_change_emits_nothing(
    pipeline_dao, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    dao, dataset, client = pipeline_dao
    endpoint_for(dao, receiver)
    _upload(client, dataset, good_csv(5, start=900), "good.csv")
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        _record_batch()
        assert WebhookEvent.objects.filter(type="contribution.pinned").count() == 1
        raise Rollback
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert callbacks == []  # nothing is sent for it either
    # The same change, committed, emits its event.
    _record_batch()
    assert len(_events(dao, "contribution.pinned")) == 1


def test_a_settled_labeling_item_emits_once(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    dataset = make_dataset(dao, max_overlap=3)
    labelers = make_labelers(dao, 3)
    (task,) = make_tasks(dataset, 1, wanted=3)
    endpoint_for(dao, receiver, ["labeling.item_settled"])
    for user in labelers:
        hold = labeling_services.task_next(dataset_id=dataset.pk, labeler=user)
        labeling_services.label_submit(
            dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="cat"
        )
    age_labels(task=task)
    settled = task_consensus_update(task_id=task.pk)
    assert settled.status == "complete"
    assert task_consensus_update(task_id=task.pk).status == "complete"  # again: a no-op
    assert _events(dao, "labeling.item_settled") == [
        {
            "item": {
                "id": task.pk,
                "dataset": {"id": dataset.pk, "slug": dataset.slug},
                "status": "complete",
                "labels": 3,
                "settled_at": settled.consensus_at.isoformat().replace("+00:00", "Z"),
            }
        }
    ]


def test_a_finished_synthetic_job_emits_once(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    dataset = DatasetFactory(dao=dao, kind="tabular")
    endpoint_for(dao, receiver, ["synthetic.job_finished"])
    failed = SyntheticJob.objects.create(dataset=dataset, status=JobStatus.RUNNING)
    job_fail(job_id=failed.pk, status=JobStatus.FAILED, error="out of memory")
    job_fail(job_id=failed.pk, status=JobStatus.FAILED, error="again")  # ended: a no-op
    queued = SyntheticJob.objects.create(dataset=dataset)
    job_cancel(job=queued, actor=dao.creator)
    got = _events(dao, "synthetic.job_finished")
    assert [(e["job"]["id"], e["job"]["status"]) for e in got] == [
        (failed.pk, "failed"),
        (queued.pk, "cancelled"),
    ]
    assert got[0]["job"]["dataset"] == {"id": dataset.pk, "slug": dataset.slug}
    assert got[0]["job"]["output_cid"] is None and got[0]["job"]["finished_at"].endswith("Z")


def test_a_membership_request_emits_once_and_not_when_refused_or_rolled_back(
    receiver: Receiver,
) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    dao_update(dao=dao, actor=dao.creator, join_policy=JoinPolicy.REQUEST)
    endpoint_for(dao, receiver, ["membership.requested"])
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)

    with pytest.raises(Rollback), transaction.atomic():
        dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
        raise Rollback
    assert _events(dao, "membership.requested") == []

    request = dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
    again, signature2 = signed_terms(dao, user, account)
    with pytest.raises(JoinRefused, match="pending request"):
        dao_join(dao=dao, user=user, typed_data=again, signature=signature2)
    assert _events(dao, "membership.requested") == [
        {
            "request": {
                "id": request.pk,
                "address": user.address,
                "created_at": request.created_at.isoformat().replace("+00:00", "Z"),
            }
        }
    ]


def test_an_event_nobody_receives_costs_no_query(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    with CaptureQueriesContext(connection) as captured:
        for name in events.EVENT_TYPES:
            events.emit(dao=dao, event_type=name, payload={})
    assert captured.captured_queries == []
    # Subscribed to one type: only that type reaches the database.
    endpoint_for(dao, receiver, ["epoch.closed"])
    with CaptureQueriesContext(connection) as captured:
        events.emit(dao=dao, event_type="release.published", payload={})
    assert captured.captured_queries == []
    events.emit(dao=dao, event_type="epoch.closed", payload={"epoch": {"id": 1}})
    assert _events(dao, "epoch.closed") == [{"epoch": {"id": 1}}]


def test_a_disabled_or_other_daos_endpoint_receives_nothing(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from webhooks.services import endpoint_disable

    dao, other = DAOFactory(), DAOFactory()
    mine = endpoint_for(dao, receiver, ["epoch.closed"])
    theirs = endpoint_for(other, receiver, ["epoch.closed"])
    events.emit(dao=dao, event_type="epoch.closed", payload={})
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [mine.pk]
    endpoint_disable(endpoint=theirs, actor=other.creator)
    other.refresh_from_db()
    events.emit(dao=other, event_type="epoch.closed", payload={})
    assert not WebhookDelivery.objects.filter(endpoint=theirs).exists()
