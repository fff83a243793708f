"""Delivering webhooks to a real HTTP receiver on loopback that checks every signature:
signed, retried with backoff after a 500, redelivered by hand, given up on after persistent
failures (the DAO told), idempotent under duplicate messages, never reaching a host that the
egress check refuses at send time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from datadao import events
from datadao.models import DAO, AuditEvent, Membership, Role
from datadao.sweeper import run_sweeps
from tests.factories import DAOFactory, UserFactory
from tests.webhooks.conftest import endpoint_for, queued
from tests.webhooks.receiver import Receiver
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.secrets import secret_open

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

PAYLOAD = {"request": {"id": 7, "address": "0x" + "1" * 40}}


def _emit(dao: DAO, event_type: str = "membership.requested") -> WebhookDelivery:
    events.emit(dao=dao, event_type=event_type, payload=PAYLOAD)
    return WebhookDelivery.objects.select_related("event").latest("pk")


def _console(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _due_now(delivery: WebhookDelivery) -> None:
    """Move a retry's due time to now, as time would."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_and_the_receiver_verifies_it(
    receiver: Receiver, django_capture_on_commit_callbacks, empty_queues
) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint = endpoint_for(dao, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _emit(dao)
    # Dispatched on commit, on the default queue, for its due time.
    assert queued() == [
        {
            "task": "webhooks.tasks.deliver",
            "args": repr((delivery.pk, delivery.next_attempt_at.isoformat())),
            "eta": None,
        }
    ]
    assert tasks.deliver(delivery.pk, delivery.next_attempt_at.isoformat()) == "succeeded"

    (got,) = receiver.all()
    assert got.refusal is None  # the signature verified with the secret shown at creation
    assert got.headers["x-datadao-event"] == "membership.requested"
    assert got.headers["x-datadao-delivery"] == str(delivery.key)
    assert got.headers["content-type"] == "application/json"
    body = json.loads(got.body)
    assert body == {
        "id": delivery.event_id,
        "type": "membership.requested",
        "created_at": delivery.event.created_at.isoformat().replace("+00:00", "Z"),
        "dao": {"id": dao.onchain_id, "slug": dao.slug},
        "data": PAYLOAD,
    }
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SUCCEEDED,
        1,
        200,
    )
    assert delivery.response_excerpt == "ok" and delivery.error == ""
    assert endpoint.deliveries.count() == 1


def test_a_500_is_retried_with_backoff_until_it_succeeds(
    receiver: Receiver, django_capture_on_commit_callbacks, empty_queues
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = lambda received, seen: (500 if seen < 2 else 200, 0.0)
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.response_status == 500
    assert delivery.error == "The receiver answered 500."
    # The first retry: 10 s, plus up to 10 % of jitter.
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 10 <= wait <= 11.5, wait
    (message,) = [m for m in queued() if m["args"].startswith(f"({delivery.pk},")]
    assert message["args"] == repr((delivery.pk, delivery.next_attempt_at.isoformat()))
    assert message["eta"] is not None  # sent with its countdown

    # The message for the retry arriving early (the same due time) waits, sends nothing.
    assert tasks.deliver(delivery.pk, delivery.next_attempt_at.isoformat()) == "not due"
    assert len(receiver.all()) == 1

    _due_now(delivery)
    delivery.refresh_from_db()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 60 <= wait <= 66.5, wait  # the second retry waits longer
    _due_now(delivery)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    got = receiver.of_key(str(delivery.key))
    assert len(got) == 3 and all(r.refusal is None for r in got)
    assert len({r.body for r in got}) == 1  # the same body every time
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SUCCEEDED,
        3,
        200,
    )
    endpoint = delivery.endpoint
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None


def test_retries_end_when_they_are_used_up(receiver: Receiver, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_RETRY_DELAYS = [1, 1]
    receiver.script = lambda received, seen: (503, 0.0)
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    outcomes = []
    for _ in range(3):
        _due_now(delivery)
        outcomes.append(services.delivery_attempt(delivery_id=delivery.pk))
    assert outcomes == ["retrying", "retrying", "failed"]
    assert services.delivery_attempt(delivery_id=delivery.pk) == "failed"  # left as it is
    assert len(receiver.all()) == 3


def test_redelivery_sends_the_same_delivery_again_from_the_console(
    receiver: Receiver, django_capture_on_commit_callbacks, empty_queues
) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    # Refused while it is still pending: it is being delivered.
    with pytest.raises(services.WebhookRefused, match="still being delivered"):
        services.delivery_redeliver(delivery=delivery, actor=dao.creator)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    client = _console(dao.creator)
    log = client.get("/admin/webhooks/webhookdelivery/")
    assert log.status_code == 200 and receiver.url.encode() in log.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/webhooks/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk], "index": 0},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.redeliveries) == (
        DeliveryStatus.PENDING,
        0,
        1,
    )
    assert [m["args"] for m in queued()] == [
        repr((delivery.pk, delivery.next_attempt_at.isoformat()))
    ]
    assert AuditEvent.objects.filter(verb="webhook.redelivered", dao=dao).count() == 1
    assert tasks.deliver(delivery.pk, delivery.next_attempt_at.isoformat()) == "succeeded"

    first, again = receiver.of_key(str(delivery.key))
    assert again.refusal is None and again.body == first.body
    # Someone who does not manage the DAO cannot redeliver (the console selects nothing of it).
    outsider = UserFactory()
    with pytest.raises(services.WebhookRefused, match="Only a creator or admin"):
        services.delivery_redeliver(delivery=delivery, actor=outsider)


def test_an_endpoint_failing_persistently_is_disabled_and_its_dao_told(
    receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_RETRY_DELAYS = [1, 1, 1, 1, 1]
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 0
    receiver.script = lambda received, seen: (500, 0.0)
    dao = DAOFactory()
    endpoint = endpoint_for(dao, receiver, ["membership.requested"])
    first, second = _emit(dao), None
    second = _emit(dao)
    for delivery in (first, second, first):
        _due_now(delivery)
        services.delivery_attempt(delivery_id=delivery.pk)

    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert endpoint.disabled_reason.startswith("3 deliveries in a row failed since ")
    assert endpoint.disabled_reason.endswith("the last: The receiver answered 500.")
    # Its pending deliveries are not sent; nothing new is recorded for it.
    assert set(endpoint.deliveries.values_list("status", flat=True)) == {DeliveryStatus.DISABLED}
    dao.refresh_from_db()
    assert dao.event_subscriptions == []
    events_before = WebhookEvent.objects.count()
    _emit(dao)
    assert WebhookEvent.objects.count() == events_before

    # The DAO is told: an audit event, and a notice on its console page linking to the endpoint.
    audit = AuditEvent.objects.get(verb="webhook.endpoint_disabled", dao=dao)
    assert audit.actor is None and audit.details["automatic"] is True
    assert audit.details["consecutive_failures"] == 3
    page = _console(dao.creator).get(f"/admin/datadao/dao/{dao.pk}/change/").content.decode()
    assert f'data-notice="webhook-disabled-{endpoint.pk}"' in page
    assert f"Webhook endpoint {receiver.url} was disabled on" in page
    assert f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/" in page

    # Enabled again by its admin: the notice goes, the count starts over, events flow again.
    services.endpoint_enable(endpoint=endpoint, actor=dao.creator)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 0
    page = _console(dao.creator).get(f"/admin/datadao/dao/{dao.pk}/change/").content.decode()
    assert "webhook-disabled-" not in page
    dao.refresh_from_db()
    assert dao.event_subscriptions == ["membership.requested"]
    # What it missed can be redelivered by hand.
    receiver.script = lambda received, seen: (200, 0.0)
    services.delivery_redeliver(delivery=second, actor=dao.creator)
    assert services.delivery_attempt(delivery_id=second.pk) == "succeeded"


def test_a_short_outage_under_a_burst_does_not_disable(receiver: Receiver, settings) -> None:  # type: ignore[no-untyped-def]
    """Many failures, but for less than WEBHOOKS_DISABLE_AFTER_SECONDS: still enabled."""
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 3600
    receiver.script = lambda received, seen: (500, 0.0)
    dao = DAOFactory()
    endpoint = endpoint_for(dao, receiver)
    for _ in range(4):
        services.delivery_attempt(delivery_id=_emit(dao).pk)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 4


def test_the_deliver_task_run_twice_sends_once(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    due = delivery.next_attempt_at.isoformat()
    assert tasks.deliver(delivery.pk, due) == "succeeded"
    assert tasks.deliver(delivery.pk, due) == "succeeded"  # already done: nothing sent
    assert tasks.deliver(delivery.pk) == "succeeded"
    assert tasks.deliver(10**9) == "gone"
    assert len(receiver.all()) == 1


def test_a_duplicate_message_for_an_attempt_under_way_is_stale(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    due = delivery.next_attempt_at.isoformat()
    # An attempt under way holds the delivery (its lease moved the due time): a duplicate of
    # the message that started it finds another due time and does nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + services.ATTEMPT_LEASE, attempts=1
    )
    assert tasks.deliver(delivery.pk, due) == "stale"
    assert tasks.deliver(delivery.pk) == "not due"  # the sweeper's message, too early
    assert receiver.all() == []


def test_a_retry_later_than_the_longest_countdown_travels_in_several_messages(
    receiver: Receiver, django_capture_on_commit_callbacks, empty_queues
) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    later = timezone.now() + timedelta(hours=6)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=later)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.deliver(delivery.pk, later.isoformat()) == "not due"
    (message,) = queued()
    assert message["args"] == repr((delivery.pk, later.isoformat()))
    assert message["eta"] is not None
    assert receiver.all() == []


def test_a_host_refused_at_send_time_is_not_called(receiver: Receiver, settings) -> None:  # type: ignore[no-untyped-def]
    """Allowed when registered, refused when sent (the operator withdrew the setting, or the
    name now resolves inside): the attempt fails with the reason, the receiver sees nothing."""
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)
    settings.WEBHOOKS_ALLOWED_HOSTS = []
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.error.startswith("Refused: 127.0.0.1 is a loopback address")
    assert delivery.response_status is None
    assert receiver.all() == []


def test_the_secret_is_stored_sealed_for_its_dao_only(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint, secret = services.endpoint_create(
        dao=dao, url=receiver.url, events=["epoch.closed"], actor=dao.creator
    )
    assert secret.startswith("whsec_") and len(secret) == 6 + 64
    stored = WebhookEndpoint.objects.values_list("sealed_secret", flat=True).get(pk=endpoint.pk)
    assert secret[6:] not in stored and stored.startswith("v1.test1.")
    assert secret_open(dao=dao, sealed=stored) == (secret, None)
    with pytest.raises(Exception, match="does not open"):
        secret_open(dao=DAOFactory(), sealed=stored)
    # Rotated: a new secret, shown once; the old one no longer signs.
    rotated = services.endpoint_rotate_secret(endpoint=endpoint, actor=dao.creator)
    endpoint.refresh_from_db()
    assert rotated != secret and secret_open(dao=dao, sealed=endpoint.sealed_secret)[0] == rotated
    assert AuditEvent.objects.filter(verb="webhook.secret_rotated", dao=dao).count() == 1
    assert secret[6:] not in json.dumps(list(AuditEvent.objects.values("details")))


def test_the_sweeper_dispatches_a_delivery_whose_message_was_lost(
    receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    endpoint_for(dao, receiver)
    delivery = _emit(dao)  # its message never sent (no commit here): lost
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )
    counts = run_sweeps(now=timezone.now(), stuck_after=timedelta(minutes=5))
    assert counts["webhook-deliveries"] == 1
    assert services.deliveries_stuck(timezone.now() - timedelta(minutes=5), 10) == [delivery.pk]
    # What the sweeper sent: a message with no due time, which takes any overdue delivery.
    assert tasks.deliver(delivery.pk) == "succeeded"
    assert len(receiver.all()) == 1


def test_the_console_shows_the_secret_once_and_scopes_endpoints(receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    dao, other = DAOFactory(), DAOFactory()
    admin_user = UserFactory()
    Membership.objects.create(dao=dao, user=admin_user, role=Role.ADMIN)
    client = _console(admin_user)
    assert client.get("/admin/webhooks/webhookendpoint/add/").status_code == 200
    response = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"dao": dao.pk, "url": receiver.url, "description": "ours", "events": ALL_TWO},
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(dao=dao)
    shown = [str(m) for m in response.context["messages"]]
    (note,) = [m for m in shown if "Signing secret" in m]
    secret = note.split(": ", 1)[1].split()[0]
    assert secret_open(dao=dao, sealed=endpoint.sealed_secret)[0] == secret
    assert endpoint.events == ALL_TWO and endpoint.created_by == admin_user
    # Never again: not on its page, not in the list.
    page = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert secret not in page and secret[6:] not in page
    # Another DAO is not a choice; an internal URL is refused with the reason, in the form.
    response = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"dao": other.pk, "url": receiver.url, "events": ALL_TWO},
    )
    assert response.status_code == 200 and not WebhookEndpoint.objects.filter(dao=other).exists()
    response = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"dao": dao.pk, "url": "http://169.254.169.254/latest/", "events": ALL_TWO},
    )
    assert b"169.254.169.254 is a link-local address" in response.content
    assert WebhookEndpoint.objects.filter(dao=dao).count() == 1


ALL_TWO = ["contribution.pinned", "contribution.rejected"]
