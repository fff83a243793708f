"""Writes for webhooks: endpoints, the outbox of events, delivery attempts, redelivery.

Delivery is at least once. ``events_record`` (the ``datadao.events`` sink) writes the events
and one delivery per subscribed endpoint in the emitting service's transaction, and sends the
deliveries once it commits. ``delivery_attempt`` claims a due delivery (a short transaction),
sends it with no transaction open, then records the answer (another): a 2xx succeeds, anything
else is tried again after a backoff (``webhooks.policy``) until the retries are used up. A
lost message, a killed worker or an unreachable broker delays a delivery, never loses it: the
delivery stays pending in the database and the sweeper dispatches it again. Receivers
deduplicate by the delivery's key (``X-Datadao-Delivery``).

An endpoint that fails persistently is disabled, audited, and shown on its DAO's console page
until its admin enables it again.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datadao import egress
from datadao.dispatch import send
from datadao.errors import ApplicationError, Detail
from datadao.events import EVENT_TYPES, Event
from datadao.models import DAO, MANAGER_ROLES, Membership, User
from datadao.services import audit_record
from webhooks import policy, verify
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.secrets import SecretUnavailable, secret_new, secret_open

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.tasks.deliver"
# An attempt under way holds its delivery this long (more than the task's hard time limit):
# a duplicate message finds it not due, and the sweeper takes it back only after this.
ATTEMPT_LEASE = timedelta(seconds=120)
USER_AGENT = "datadao-webhooks/1"


class WebhookRefused(ApplicationError):
    code = "webhook_refused"


# --- endpoints ----------------------------------------------------------------------------------


def egress_policy() -> egress.Policy:
    return egress.Policy.from_settings(
        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE, allowed=settings.WEBHOOKS_ALLOWED_HOSTS
    )


def _refuse_unless_manager(actor: User | None, dao_id: int) -> None:
    """Creators and admins of the DAO (and superusers, and the platform) manage its webhooks."""
    if actor is None or actor.is_superuser:
        return
    if not Membership.objects.filter(user=actor, dao_id=dao_id, role__in=MANAGER_ROLES).exists():
        raise WebhookRefused(
            Detail("Only a creator or admin of this DAO manages its webhooks."), status_code=403
        )


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise WebhookRefused(Detail("Choose at least one event to send to this endpoint."))
    unknown = sorted({str(e) for e in events} - set(EVENT_TYPES))
    if unknown:
        raise WebhookRefused(
            Detail(
                "Unknown event types: %(join)s. Known: %(join2)s.",
                join=", ".join(unknown),
                join2=", ".join(EVENT_TYPES),
            )
        )
    return [name for name in EVENT_TYPES if name in events]


def url_checked(url: str) -> str:
    """``url`` stripped, or WebhookRefused naming why no webhook may be sent to it."""
    url = (url or "").strip()
    try:
        egress_policy().check_url(url)
    except egress.EgressRefused as exc:
        raise WebhookRefused(
            Detail("This URL cannot receive webhooks: %(exc)s.", exc=exc)
        ) from None
    return url


def _shown(url: str) -> str:
    """The URL as audited: without its query, which may carry a receiver's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _subscriptions_refresh(dao_id: int) -> None:
    """Recompute ``DAO.event_subscriptions`` from its enabled endpoints, under the DAO's row
    lock (``dao_update`` saves the row under the same lock, so neither undoes the other)."""
    DAO.objects.select_for_update().filter(pk=dao_id).values_list("pk", flat=True).first()
    wanted: set[str] = set()
    for events in WebhookEndpoint.objects.filter(dao_id=dao_id, enabled=True).values_list(
        "events", flat=True
    ):
        wanted.update(events)
    DAO.objects.filter(pk=dao_id).update(
        event_subscriptions=[name for name in EVENT_TYPES if name in wanted]
    )


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().select_related("dao").get(pk=endpoint.pk)


@transaction.atomic
def endpoint_create(
    *, dao: DAO, url: str, events: list[str], actor: User | None, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret, returned this once (only its sealed form is
    stored). Refused: someone who does not manage the DAO, no or unknown events, a URL that
    is not http(s), carries credentials, or reaches a private, loopback, link-local or
    otherwise internal address (unless the operator allows it), and no key-encryption key."""
    _refuse_unless_manager(actor, dao.pk)
    url, events = url_checked(url), _clean_events(events)
    try:
        secret, sealed = secret_new(dao=dao)
    except SecretUnavailable as exc:
        raise WebhookRefused(str(exc), status_code=503) from None
    endpoint = WebhookEndpoint.objects.create(
        dao=dao,
        url=url,
        events=events,
        description=description[:200],
        sealed_secret=sealed,
        created_by=actor if actor is not None and actor.pk else None,
    )
    _subscriptions_refresh(dao.pk)
    audit_record(
        actor=actor,
        dao=dao,
        verb="webhook.endpoint_created",
        obj=endpoint,
        details={"url": _shown(url), "events": events},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: User | None,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's URL (checked as at creation), events or description."""
    endpoint = _locked(endpoint)
    _refuse_unless_manager(actor, endpoint.dao_id)
    changed: dict[str, Any] = {}
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = url_checked(url)
        changed["url"] = _shown(endpoint.url)
    if events is not None:
        cleaned = _clean_events(events)
        if cleaned != endpoint.events:
            endpoint.events = cleaned
            changed["events"] = cleaned
    if description is not None and description[:200] != endpoint.description:
        endpoint.description = description[:200]
        changed["description"] = endpoint.description
    if changed:
        endpoint.save()
        _subscriptions_refresh(endpoint.dao_id)
        audit_record(
            actor=actor,
            dao=endpoint.dao,
            verb="webhook.endpoint_updated",
            obj=endpoint,
            details=changed,
        )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: User | None) -> str:
    """A new secret for the endpoint, returned this once; the old one stops signing now."""
    endpoint = _locked(endpoint)
    _refuse_unless_manager(actor, endpoint.dao_id)
    try:
        secret, endpoint.sealed_secret = secret_new(dao=endpoint.dao)
    except SecretUnavailable as exc:
        raise WebhookRefused(str(exc), status_code=503) from None
    endpoint.save(update_fields=["sealed_secret", "updated_at"])
    audit_record(actor=actor, dao=endpoint.dao, verb="webhook.secret_rotated", obj=endpoint)
    return secret


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, actor: User | None) -> WebhookEndpoint:
    """Send to the endpoint again, its failure count cleared. Deliveries skipped while it was
    disabled are not sent by themselves; its admin redelivers those wanted."""
    endpoint = _locked(endpoint)
    _refuse_unless_manager(actor, endpoint.dao_id)
    if endpoint.enabled:
        return endpoint
    endpoint.enabled = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    endpoint.save()
    _subscriptions_refresh(endpoint.dao_id)
    audit_record(actor=actor, dao=endpoint.dao, verb="webhook.endpoint_enabled", obj=endpoint)
    return endpoint


@transaction.atomic
def endpoint_disable(
    *, endpoint: WebhookEndpoint, actor: User | None, reason: str = ""
) -> WebhookEndpoint:
    """Stop sending to the endpoint (by hand): its pending deliveries are not sent."""
    endpoint = _locked(endpoint)
    _refuse_unless_manager(actor, endpoint.dao_id)
    if endpoint.enabled:
        _disable(endpoint, actor=actor, reason=reason or "Disabled by the DAO.", automatic=False)
    return endpoint


def _disable(
    endpoint: WebhookEndpoint, *, actor: User | None, reason: str, automatic: bool
) -> None:
    """Disable the locked ``endpoint`` and tell its DAO (the audit log; the console page shows
    a disabled endpoint until it is enabled again)."""
    endpoint.enabled = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason[:500]
    endpoint.save()
    skipped = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.DISABLED)
    _subscriptions_refresh(endpoint.dao_id)
    audit_record(
        actor=actor,
        dao=endpoint.dao,
        verb="webhook.endpoint_disabled",
        obj=endpoint,
        details={
            "url": _shown(endpoint.url),
            "reason": endpoint.disabled_reason,
            "automatic": automatic,
            "consecutive_failures": endpoint.consecutive_failures,
            "deliveries_not_sent": skipped,
        },
    )
    if automatic:
        logger.warning(
            "webhook endpoint %s of DAO %s disabled: %s",
            endpoint.pk,
            endpoint.dao_id,
            endpoint.disabled_reason,
        )


# --- the outbox ---------------------------------------------------------------------------------


def _dispatch_on_commit(deliveries: list[WebhookDelivery]) -> None:
    due = [(d.pk, d.next_attempt_at.isoformat()) for d in deliveries]
    transaction.on_commit(lambda: [send(DELIVER_TASK, pk, at) for pk, at in due])


def events_record(events: list[Event]) -> None:
    """The ``datadao.events`` sink: each event, and a delivery to each enabled endpoint of its
    DAO that subscribes to it, written in the caller's transaction (three statements however
    many events); the deliveries are sent once it commits."""
    by_dao: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        dao_id__in={event.dao.pk for event in events}, enabled=True
    ).only("pk", "dao_id", "events"):
        by_dao[endpoint.dao_id].append(endpoint)
    now = timezone.now()
    rows: list[tuple[WebhookEvent, list[WebhookEndpoint]]] = []
    for event in events:
        receivers = [e for e in by_dao[event.dao.pk] if event.type in e.events]
        if receivers:
            row = WebhookEvent(dao=event.dao, type=event.type, payload=event.payload)
            row.created_at = now
            rows.append((row, receivers))
    if not rows:
        return
    WebhookEvent.objects.bulk_create([row for row, _ in rows])
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event=row, next_attempt_at=now, created_at=now)
            for row, receivers in rows
            for endpoint in receivers
        ]
    )
    _dispatch_on_commit(deliveries)


def event_body(event: WebhookEvent) -> bytes:
    """The bytes every delivery of ``event`` sends (``event.dao`` loaded)."""
    document = {
        "id": event.pk,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "dao": {"id": event.dao.onchain_id, "slug": event.dao.slug},
        "data": event.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


# --- delivering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]
    error: str = ""


def _claim(delivery_id: int, due: str | None) -> _Claim | str:
    """Take a due delivery for one attempt (its lease set, its attempt counted), or say why
    not. A message that arrives before its delivery is due (a retry later than the longest
    countdown a message may carry) is sent on again for the rest of the wait."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint__dao", "event__dao")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "gone"
        if delivery.status != DeliveryStatus.PENDING:
            return delivery.status
        if due is not None and datetime.fromisoformat(due) != delivery.next_attempt_at:
            return "stale"  # a duplicate, or overtaken by a redelivery: another message has it
        if delivery.next_attempt_at > now:
            if due is not None:
                wait = (delivery.next_attempt_at - now).total_seconds()
                transaction.on_commit(lambda: send(DELIVER_TASK, delivery_id, due, countdown=wait))
            return "not due"
        endpoint = delivery.endpoint
        if not endpoint.enabled:
            delivery.status = DeliveryStatus.DISABLED
            delivery.save(update_fields=["status"])
            return "endpoint disabled"
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + ATTEMPT_LEASE
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
        body = event_body(delivery.event)
        try:
            secret, moved = secret_open(dao=endpoint.dao, sealed=endpoint.sealed_secret)
        except SecretUnavailable as exc:
            return _Claim(delivery_id, endpoint.url, body, {}, error=str(exc))
        if moved is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(sealed_secret=moved)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        verify.EVENT_HEADER: delivery.event.type,
        verify.DELIVERY_HEADER: str(delivery.key),
        verify.SIGNATURE_HEADER: verify.signature_header(secret, int(time.time()), body),
    }
    return _Claim(delivery_id, endpoint.url, body, headers)


def _failure_text(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}"[:500]


def delivery_attempt(*, delivery_id: int, due: str | None = None) -> str:
    """Make one attempt of a due delivery and record it; returns what happened. Idempotent:
    a delivery already done, not due, or held by another attempt is left as it is."""
    claim = _claim(delivery_id, due)
    if isinstance(claim, str):
        return claim
    status: int | None = None
    excerpt, error = "", claim.error
    started = time.monotonic()
    if not error:
        try:
            answer = egress.post(claim.url, claim.body, claim.headers, policy=egress_policy())
            status, excerpt = answer.status, answer.excerpt
        except egress.EgressRefused as exc:
            error = f"Refused: {exc}"
        except egress.HTTPError as exc:
            error = _failure_text(exc)
        except SoftTimeLimitExceeded:
            error = "The receiver took too long to answer."
    elapsed = round((time.monotonic() - started) * 1000)
    return _record(delivery_id, status=status, excerpt=excerpt, error=error, duration_ms=elapsed)


@transaction.atomic
def _record(
    delivery_id: int, *, status: int | None, excerpt: str, error: str, duration_ms: int
) -> str:
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .select_related("dao")
        .get(pk=delivery.endpoint_id)
    )
    now = timezone.now()
    delivery.response_status = status
    delivery.response_excerpt = excerpt[:1024]
    delivery.duration_ms = duration_ms
    if status is not None and 200 <= status < 300:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = now
        delivery.error = ""
        delivery.save()
        if endpoint.consecutive_failures or endpoint.failing_since:
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
            endpoint.save(update_fields=["consecutive_failures", "failing_since", "updated_at"])
        return "succeeded"
    delivery.error = (error or f"The receiver answered {status}.")[:500]
    outcome = delivery.status
    if delivery.status == DeliveryStatus.PENDING:
        delay = policy.retry_delay(delivery.attempts, settings.WEBHOOKS_RETRY_DELAYS)
        if delay is None:
            delivery.status = outcome = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            outcome = "retrying"
            due = delivery.next_attempt_at.isoformat()
            transaction.on_commit(lambda: send(DELIVER_TASK, delivery_id, due, countdown=delay))
    delivery.save()
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.save(update_fields=["consecutive_failures", "failing_since", "updated_at"])
    if endpoint.enabled and policy.should_disable(
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        now=now,
        after_failures=settings.WEBHOOKS_DISABLE_AFTER_FAILURES,
        after_seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS,
    ):
        _disable(
            endpoint,
            actor=None,
            reason=(
                f"{endpoint.consecutive_failures} deliveries in a row failed since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC; the last: {delivery.error}"
            ),
            automatic=True,
        )
    return outcome


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor: User | None) -> WebhookDelivery:
    """Send a delivery again, with a fresh round of retries (the console's "redeliver"): one
    that succeeded (the receiver lost it), failed, or was not sent while its endpoint was
    disabled. The same event, body and delivery key: a receiver that has it ignores it.
    Refused while the delivery is still pending, and while its endpoint is disabled."""
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint__dao")
        .get(pk=delivery.pk)
    )
    _refuse_unless_manager(actor, delivery.endpoint.dao_id)
    if delivery.status == DeliveryStatus.PENDING:
        raise WebhookRefused(
            Detail(
                "This delivery is still being delivered (an attempt or a "
                "retry is due); wait for it to succeed or fail."
            ),
            status_code=409,
        )
    if not delivery.endpoint.enabled:
        raise WebhookRefused(
            Detail("The endpoint is disabled; enable it before redelivering."), status_code=409
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.redeliveries += 1
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "redeliveries", "next_attempt_at"])
    audit_record(
        actor=actor,
        dao=delivery.endpoint.dao,
        verb="webhook.redelivered",
        obj=delivery,
        details={"event": delivery.event_id, "url": _shown(delivery.endpoint.url)},
    )
    _dispatch_on_commit([delivery])
    return delivery


# --- the sweeper ----------------------------------------------------------------------------------


def deliveries_stuck(cutoff: datetime, limit: int) -> list[int]:
    """Pending deliveries due before ``cutoff`` whose message was lost (or whose attempt died
    with its worker, once its lease ran out)."""
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def delivery_redispatch(delivery_id: int) -> None:
    send(DELIVER_TASK, delivery_id)
