"""The batch lane's services: claim many small contributions at once, record them at once.

A batch is the express lane (every stage in one delivery) for up to ``PIPELINE_BATCH_SIZE``
small contributions that are waiting in ``received``: one statement claims them, the slow
work runs on each (``contributions.batch``), and one transaction records every result with
a handful of bulk statements. Per contribution that saves the broker round trips, the four
stage transactions and their row locks, which were most of a small file's cost.

What it keeps from the stage services: the same state machine, the same decisions
(``scores_outcome``), the same novelty claims (``rows_claim``, ``fingerprint_near``: a
contribution is paid for what it adds), the same rows (proof, row hashes, fingerprint,
pin, reward credit, audit events). What differs: the intermediate stages are not written;
a contribution goes from ``validating`` to its final state (or to ``pinning``) in one step.
A batch that dies leaves its contributions in ``validating`` under a lease; once it lapses,
the sweeper sends them down the express lane one by one, where each stage is redone
(deterministically).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contributions import messages
from contributions.models import Contribution, ContributionProof, Fingerprint, RowHash, Status
from contributions.services import common
from contributions.services.common import _apply
from contributions.services.stages import (
    fingerprint_near,
    fingerprint_row,
    fingerprints_lock,
    rows_claim,
    scores_outcome,
)
from contributions.validation.base import ValidationResult
from datadao.models import AuditEvent
from datadao.services import audit_event

logger = logging.getLogger(__name__)

# Longer than any batch takes (PIPELINE_BATCH_MAX_BYTES bounds its bytes); shorter than the
# sweeper's stuck threshold, so a dead batch's contributions are free when it looks.
LEASE_SECONDS = 120

_BATCHABLE = """c.status = 'received' AND c.attempts = 0 AND c.size <= %(max_bytes)s
    AND d.kind <> 'labeling'"""
# Led by one contribution (a delivery of its express task): it, if batchable and free, and
# then only the others. Without a leader (a batch ticket): the oldest waiting.
_CLAIM_LED_SQL = f"""
WITH first AS (
  SELECT c.id FROM contributions_contribution c JOIN datadao_dataset d ON d.id = c.dataset_id
  WHERE c.id = %(first)s AND {_BATCHABLE}
  FOR UPDATE OF c SKIP LOCKED),
more AS (
  SELECT c.id FROM contributions_contribution c JOIN datadao_dataset d ON d.id = c.dataset_id
  WHERE EXISTS (SELECT 1 FROM first) AND c.id <> %(first)s AND {_BATCHABLE}
  ORDER BY c.status_changed_at, c.id LIMIT %(more)s
  FOR UPDATE OF c SKIP LOCKED),
picked AS (SELECT id FROM first UNION ALL SELECT id FROM more)
"""  # noqa: S608 (constants only)
_CLAIM_OLDEST_SQL = f"""
WITH picked AS (
  SELECT c.id FROM contributions_contribution c JOIN datadao_dataset d ON d.id = c.dataset_id
  WHERE {_BATCHABLE}
  ORDER BY c.status_changed_at, c.id LIMIT %(more)s + 1
  FOR UPDATE OF c SKIP LOCKED)
"""  # noqa: S608 (constants only)
_CLAIM_UPDATE = """
UPDATE contributions_contribution c
SET status = 'validating', attempts = c.attempts + 1, status_changed_at = %(now)s,
    lease_until = %(lease)s
FROM picked WHERE c.id = picked.id
RETURNING c.id
"""


def contribution_express_state(contribution_id: int) -> str:
    """Where an express delivery stands, from one plain read (no lock, no transaction):
    ``received`` (it may lead a batch), ``leased`` (a batch has it) or ``done`` (final or
    gone): both mean there is nothing for this delivery to do; else ``staged``."""
    row = (
        Contribution.objects.filter(pk=contribution_id)
        .values_list("status", "lease_until", "attempts")
        .first()
    )
    if row is None:
        return "done"
    status, lease_until, attempts = row
    if lease_until is not None and lease_until > timezone.now():
        return "leased"
    if status in (Status.PINNED, Status.REJECTED, Status.FAILED):
        return "done"
    return "received" if status == Status.RECEIVED and attempts == 0 else "staged"


def _max_bytes() -> int:
    """The largest file a batch takes: a batch is the express lane, so within its limit too."""
    return min(settings.PIPELINE_BATCH_MAX_BYTES, settings.PIPELINE_EXPRESS_MAX_BYTES)


def batchable(*, kind: str, size: int) -> bool:
    """Whether a new contribution of ``size`` bytes to a dataset of ``kind`` waits for a
    batch (``contribution_claim_batch`` would take it)."""
    return messages.batch_enabled() and kind != "labeling" and 0 < size <= _max_bytes()


@dataclass
class Claim:
    contributions: list[Contribution]
    lease: datetime

    @property
    def full(self) -> bool:
        return len(self.contributions) >= settings.PIPELINE_BATCH_SIZE


def contribution_claim_batch(*, first_id: int | None) -> Claim | None:
    """Claim ``first_id`` and up to ``PIPELINE_BATCH_SIZE - 1`` more small contributions
    waiting in ``received`` (oldest first; rows another worker is claiming are skipped, never
    waited for). None when ``first_id`` itself is not a small, never-tried contribution in
    ``received`` (the express lane takes it then), or, without ``first_id``, when none waits.
    Labeling datasets' files are not batched: their tasks are made one at a time."""
    now = timezone.now()
    lease = now + timedelta(seconds=LEASE_SECONDS)
    params = {
        "first": first_id,
        "max_bytes": _max_bytes(),
        "more": settings.PIPELINE_BATCH_SIZE - 1,
        "now": now,
        "lease": lease,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        sql = _CLAIM_OLDEST_SQL if first_id is None else _CLAIM_LED_SQL
        cursor.execute(sql + _CLAIM_UPDATE, params)
        ids = [row[0] for row in cursor.fetchall()]
    return _load_claim(ids, lease)


def _load_claim(ids: list[int], lease: datetime) -> Claim | None:
    """The claimed contributions with what their work reads (dataset, DAO, contributor)."""
    if not ids:
        return None
    rows = Contribution.objects.select_related("dataset__dao", "contributor").filter(pk__in=ids)
    return Claim(contributions=sorted(rows, key=lambda c: c.pk), lease=lease)


def _locked_under(ids: list[int], lease: datetime, *fields: str) -> list[Any]:
    """Of ``ids``, those still claimed under ``lease`` (a lapsed lease may have been taken
    over), row-locked in id order; ``fields`` of each (the pk alone without)."""
    mine = (
        Contribution.objects.select_for_update()
        .filter(pk__in=ids, status=Status.VALIDATING, lease_until=lease)
        .order_by("pk")
    )
    return list(mine.values_list(*fields) if fields else mine.values_list("pk", flat=True))


def contribution_reclaim_batch(*, ids: list[int], lease: datetime) -> Claim | None:
    """Take up again a claim whose delivery lost the database (its retry carries the IDs and
    the lease): the contributions still under that lease, with a fresh one. None when none
    is (the lease lapsed and another delivery took them over, or they were recorded)."""
    now = timezone.now()
    fresh = now + timedelta(seconds=LEASE_SECONDS)
    with transaction.atomic():
        mine = _locked_under(ids, lease)
        Contribution.objects.filter(pk__in=mine).update(lease_until=fresh, status_changed_at=now)
    return _load_claim(mine, fresh)


@dataclass
class Outcome:
    """What the slow work found for one claimed contribution."""

    contribution: Contribution
    validation: ValidationResult | None = None
    scored: Any = None  # contributions.pipeline.Scored, once scored
    cid: str = ""
    typed_data: dict[str, Any] | None = None
    signature: str = ""
    signer: str = ""
    pinned_cid: str | None = None  # None: not pinned here (the pin task takes over)
    error: str | None = None  # unexpected: the contribution goes back to the express lane


_SCORE_FIELDS = ("authenticity", "ownership", "quality", "uniqueness", "score", "validator_version")


@transaction.atomic
def contribution_record_batch(*, claim: Claim, outcomes: list[Outcome]) -> list[Contribution]:
    """Record a batch's results in one transaction. Only contributions still under this
    claim's lease are touched (a lease that lapsed means someone else may have taken over).
    Returns the contributions recorded."""
    from ipfs.services import pin_row, pins_record
    from rewards.services import reward_credit_contributions

    mine = set(_locked_under([o.contribution.pk for o in outcomes], claim.lease))
    stale = _claim_novelty([o for o in outcomes if o.contribution.pk in mine])
    recorded: list[Contribution] = []
    proofs: list[ContributionProof] = []
    prints: list[Fingerprint] = []
    pins = []
    credited: list[Contribution] = []
    events: list[AuditEvent] = []
    to_pin: list[int] = []
    to_express: list[Contribution] = []
    for outcome in outcomes:
        c = outcome.contribution
        if c.pk not in mine:
            continue
        recorded.append(c)
        c.lease_until = None
        if outcome.error is not None or c.pk in stale:
            # Back to the express lane, from the start: a crash there is counted per stage,
            # and a contribution whose novelty changed under it is scored again. Scores set
            # in memory by the work are dropped: it has none until that scoring.
            _apply(c, Status.VALIDATING, attempts=0, **dict.fromkeys(_SCORE_FIELDS))
            to_express.append(c)
            continue
        _record_one(outcome, events, proofs, prints)
        if c.status == Status.PINNING and outcome.pinned_cid is not None:
            if outcome.pinned_cid != c.cid:
                reason = common.cid_mismatch(returned=outcome.pinned_cid, computed=c.cid)
                _apply(c, Status.FAILED, failure=reason)
                events.append(_event(c, "contribution.failed", {"stage": "pin", "reason": reason}))
                continue
            pins.append(
                pin_row(
                    cid=c.cid,
                    size=c.size,
                    content_type=c.media_type or "application/octet-stream",
                    label=f"contribution:{c.pk}",
                )
            )
            _apply(c, Status.PINNED)
            credited.append(c)
            events.append(_event(c, "contribution.pinned", {"cid": c.cid}))
        elif c.status == Status.PINNING:
            to_pin.append(c.pk)
    _update_rows(recorded)
    ContributionProof.objects.bulk_create(proofs, ignore_conflicts=True)
    Fingerprint.objects.bulk_create(prints, ignore_conflicts=True)
    pins_record(pins)
    if credited:
        reward_credit_contributions(contributions=credited)
    AuditEvent.objects.bulk_create(events)
    for pk in to_pin:
        messages.dispatch("pin", pk)
    for c in to_express:
        messages.dispatch("validate", c.pk, size=c.size)
    return recorded


def _claim_novelty(outcomes: list[Outcome]) -> set[int]:
    """Claim what every contribution of the batch that its scores accept adds: a tabular
    one's new rows (``stages.rows_claim``, one statement), an image's or text's novelty
    (``stages.fingerprint_near`` against what other lanes recorded since the batch scored,
    under the dataset's fingerprint lock). Returns the contributions that add less than
    their scoring found (another lane recorded the same rows, or a near-identical file,
    first): their signed proof is wrong, so their claims are undone and they go back to the
    express lane, which scores them against the dataset as it now is."""
    digests: dict[int, tuple[int, list[bytes]]] = {}
    expected: dict[int, int] = {}
    printed: list[Outcome] = []
    for outcome in outcomes:
        c, scored = outcome.contribution, outcome.scored
        if outcome.error is not None or scored is None:
            continue
        if scores_outcome(c, **scored.outcome_args())[0] != Status.ACCEPTED:
            continue
        if scored.novelty is not None:
            digests[c.pk] = (c.dataset_id, scored.row_digests or [])
            expected[c.pk] = scored.novelty.new
        if scored.fingerprint:
            printed.append(outcome)
    stale: set[int] = set()
    if digests:
        claimed = rows_claim(digests)
        stale = {pk for pk, new in expected.items() if claimed[pk] < new}
        if stale:
            RowHash.objects.filter(contribution_id__in=stale).delete()
    if printed:
        fingerprints_lock([o.contribution.dataset_id for o in printed])
        stale |= {
            o.contribution.pk
            for o in printed
            if fingerprint_near(o.contribution, o.scored.fingerprint, after=o.scored.horizon)
            is not None
        }
    return stale


def _record_one(
    outcome: Outcome,
    events: list[AuditEvent],
    proofs: list[ContributionProof],
    prints: list[Fingerprint],
) -> None:
    """Move one contribution through validate → score → attest in memory, as the stage
    services would, collecting the rows to insert."""
    c = outcome.contribution
    result = outcome.validation
    assert result is not None
    report = {**c.report, "validation": result.report}
    media_type = result.media_type or ""
    if not result.accepted:
        _apply(c, Status.REJECTED, reasons=result.reasons, report=report, media_type=media_type)
        details = {"reasons": result.reasons[:10], "stage": "validate"}
        events.append(_event(c, "contribution.rejected", details))
        return
    c.report, c.media_type, c.reasons = report, media_type, result.reasons
    scored = outcome.scored
    status, fields, verb = scores_outcome(c, **scored.outcome_args())
    _apply(c, status, **fields)
    events.append(_event(c, verb, {"scores": scored.scores, "threshold": scored.threshold}))
    if status != Status.ACCEPTED:
        return
    if scored.fingerprint:
        prints.append(fingerprint_row(c, scored.fingerprint))
    proofs.append(
        ContributionProof(
            contribution=c,
            typed_data=outcome.typed_data,
            signature=outcome.signature,
            signer=outcome.signer,
        )
    )
    _apply(c, Status.PINNING, cid=outcome.cid)


def _event(c: Contribution, verb: str, details: dict[str, Any]) -> AuditEvent:
    return audit_event(actor=None, dao=c.dataset.dao, verb=verb, obj=c, details=details)


# Every column a batch may change, with its type: one UPDATE ... FROM unnest(arrays) writes
# them all (the ORM's bulk_update builds a CASE per column and row, slower than the work).
_COLUMNS = [
    ("status", "text"),
    ("status_changed_at", "timestamptz"),
    ("attempts", "int"),
    ("lease_until", "timestamptz"),
    ("reasons", "jsonb"),
    ("report", "jsonb"),
    ("media_type", "text"),
    ("authenticity", "int"),
    ("ownership", "int"),
    ("quality", "int"),
    ("uniqueness", "int"),
    ("score", "int"),
    ("validator_version", "int"),
    ("near_duplicate_of_id", "bigint"),
    ("review", "text"),
    ("cid", "text"),
    ("failure", "text"),
]
_JSONB = {name for name, kind in _COLUMNS if kind == "jsonb"}
_UPDATE_SQL = (
    "UPDATE contributions_contribution c SET "  # noqa: S608 (names from _COLUMNS only)
    + ", ".join(f"{name} = v.{name}::{kind}" for name, kind in _COLUMNS)
    # JSON travels as text (a jsonb[] parameter would need every element adapted).
    + " FROM unnest(%s::bigint[], "
    + ", ".join(f"%s::{'text' if kind == 'jsonb' else kind}[]" for _, kind in _COLUMNS)
    + ") AS v(id, "
    + ", ".join(name for name, _ in _COLUMNS)
    + ") WHERE c.id = v.id"
)


def _update_rows(contributions: list[Contribution]) -> None:
    if not contributions:
        return
    columns = [[c.pk for c in contributions]]
    for name, _ in _COLUMNS:
        values = [getattr(c, name) for c in contributions]
        columns.append([json.dumps(v) for v in values] if name in _JSONB else values)
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, columns)


def contribution_release_batch(*, claim: Claim) -> int:
    """Give a batch's contributions back (the batch failed for another reason than losing
    the database, e.g. no validator key): back to ``received``, lease cleared, each sent down
    the express lane. Their claimed delivery stays counted, which keeps them out of batches
    (those take only never-tried contributions): a failure that repeats is then met one stage
    at a time, counted and dead-lettered there, instead of looping through new batches. Best
    effort: if this fails too, the lease lapses and the sweeper takes over."""
    with transaction.atomic():
        released = _locked_under([c.pk for c in claim.contributions], claim.lease, "pk", "size")
        Contribution.objects.filter(pk__in=[pk for pk, _ in released]).update(
            status=Status.RECEIVED, lease_until=None
        )
        for pk, size in released:
            messages.dispatch("validate", pk, size=size)
    return len(released)
