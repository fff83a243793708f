"""Events a DAO can subscribe to, and how the apps that cause them emit them.

datadao is the ground floor: it names the events and carries them to whoever listens, and
knows nothing of what listens. An app emits an event from the service that makes the state
change, inside that service's transaction (``emit``); each registered ``Sink`` (the webhooks
app, in its ``AppConfig.ready()``) writes what it needs in the same transaction, so an event
is recorded exactly when its change commits and never for a change that rolls back.

Emitting costs nothing for a DAO nobody listens to: ``DAO.event_subscriptions`` lists the event
types some subscriber of the DAO receives (kept by the subscribers, under the DAO's row lock),
and ``emit`` reads it from the DAO the caller already holds, without a query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from datadao.models import DAO


class EventType(StrEnum):
    CONTRIBUTION_PINNED = "contribution.pinned"
    CONTRIBUTION_REJECTED = "contribution.rejected"
    RELEASE_PUBLISHED = "release.published"
    EPOCH_CLOSED = "epoch.closed"
    LABELING_ITEM_SETTLED = "labeling.item_settled"
    SYNTHETIC_JOB_FINISHED = "synthetic.job_finished"
    MEMBERSHIP_REQUESTED = "membership.requested"
    CHALLENGE_OPENED = "challenge.opened"
    CHALLENGE_RESOLVED = "challenge.resolved"
    CLAWBACK_CREATED = "clawback.created"


EVENT_TYPES: tuple[str, ...] = tuple(EventType)
EVENT_DESCRIPTIONS: dict[str, Any] = {
    EventType.CONTRIBUTION_PINNED: _("a contribution was accepted, signed and pinned"),
    EventType.CONTRIBUTION_REJECTED: _("a contribution was rejected (validation, score, review)"),
    EventType.RELEASE_PUBLISHED: _("a dataset release was published"),
    EventType.EPOCH_CLOSED: _("a reward epoch was closed and its root signed"),
    EventType.LABELING_ITEM_SETTLED: _("a labeling item reached consensus"),
    EventType.SYNTHETIC_JOB_FINISHED: _("a synthetic data job ended (published, gated, failed)"),
    EventType.MEMBERSHIP_REQUESTED: _("someone asked to join the DAO"),
    EventType.CHALLENGE_OPENED: _("a contribution or labeling item was challenged"),
    EventType.CHALLENGE_RESOLVED: _("a challenge was upheld, rejected or made moot"),
    EventType.CLAWBACK_CREATED: _("a settled reward or royalty is to be taken back"),
}


@dataclass(frozen=True)
class Event:
    """One state change: the DAO it belongs to, its type, and a small JSON payload (ids,
    CIDs, statuses; never a secret or sealed content)."""

    dao: DAO
    type: str
    payload: dict[str, Any]


Sink = Callable[[list[Event]], None]
_SINKS: dict[str, Sink] = {}


def register(name: str, sink: Sink) -> None:
    """Register (or replace, by name) a sink. Apps call this from ``AppConfig.ready``."""
    _SINKS[name] = sink


def subscribed(dao: DAO, event_type: str) -> bool:
    """Whether anything receives ``event_type`` for ``dao`` (no query)."""
    return event_type in (dao.event_subscriptions or ())


def emit(*, dao: DAO, event_type: str, payload: dict[str, Any]) -> None:
    """Record one event in the caller's transaction (nothing when nobody receives it)."""
    emit_many([Event(dao, event_type, payload)])


def emit_many(events: Iterable[Event]) -> None:
    """Record many events at once (one write per sink, however many events): for callers
    that change many rows in one transaction, such as a batch of contributions."""
    wanted = [event for event in events if subscribed(event.dao, event.type)]
    if not wanted:
        return
    unknown = {event.type for event in wanted} - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    for sink in _SINKS.values():
        sink(wanted)
