"""The batch lane's services: claim many small contributions at once, record them at once.

A batch is the express lane (every stage in one delivery) for up to ``PIPELINE_BATCH_SIZE``
small contributions that are waiting in ``received``: one statement claims them, the slow
work runs on each (``contributions.lanes.batch``), and one transaction records every result with
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

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contributions import messages
from contributions.decide import scores_outcome
from contributions.models import Contribution, RowHash, Status
from contributions.services.claims import fingerprint_near, fingerprints_lock, rows_claim
from contributions.services.record import Recorder
from contributions.validation.base import ValidationResult

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
    if status in (Status.PINNED, Status.REJECTED, Status.FAILED, Status.ATTESTING, Status.HELD):
        return "done"  # final, or waiting for the DAO's validators: nothing for the fleet
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
    by_validators: bool = False  # the DAO's validator set attests it, not the fleet key
    error: str | None = None  # unexpected: the contribution goes back to the express lane


@transaction.atomic
def contribution_record_batch(*, claim: Claim, outcomes: list[Outcome]) -> list[Contribution]:
    """Record a batch's results in one transaction, through the recorder every lane uses
    (``services.record``). Only contributions still under this claim's lease are touched (a
    lease that lapsed means someone else may have taken over). Returns the contributions
    recorded."""
    mine = set(_locked_under([o.contribution.pk for o in outcomes], claim.lease))
    stale = _claim_novelty([o for o in outcomes if o.contribution.pk in mine])
    recorder = Recorder()
    recorded: list[Contribution] = []
    for outcome in outcomes:
        c = outcome.contribution
        if c.pk not in mine:
            continue
        recorded.append(c)
        recorder.change(c, lease_until=None)
        if outcome.error is not None or c.pk in stale:
            # Back to the stages one at a time, from where its report says: a crash there is
            # counted per stage, and a contribution whose novelty changed under it is scored
            # again. Scores set in memory by the work are dropped: it has none until then.
            recorder.restart(c)
            continue
        _record_one(recorder, outcome)
    recorder.write()
    return recorded


def _claim_novelty(outcomes: list[Outcome]) -> set[int]:
    """Claim what every contribution of the batch that its scores accept adds: a tabular
    one's new rows (``claims.rows_claim``, one statement), an image's or text's novelty
    (``claims.fingerprint_near`` against what other lanes recorded since the batch scored,
    under the dataset's fingerprint lock). Returns the contributions that add less than
    their scoring found (another lane recorded the same rows, or a near-identical file,
    first): their signed proof is wrong, so their claims are undone and they go back to the
    stages, which score them against the dataset as it now is."""
    digests: dict[int, tuple[int, list[bytes]]] = {}
    expected: dict[int, int] = {}
    printed: list[Outcome] = []
    for outcome in outcomes:
        c, scored = outcome.contribution, outcome.scored
        if outcome.error is not None or scored is None:
            continue
        if not scores_outcome(c, **scored.outcome_args()).accepted:
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


def _record_one(recorder: Recorder, outcome: Outcome) -> None:
    """Record one contribution's every stage the batch ran: validate, score, attest, pin."""
    c = outcome.contribution
    result = outcome.validation
    assert result is not None
    valid = recorder.validation(
        c,
        accepted=result.accepted,
        media_type=result.media_type or "",
        reasons=result.reasons,
        report=result.report,
    )
    if not valid:
        return
    scored = outcome.scored
    if not recorder.scores(c, scores_outcome(c, **scored.outcome_args()), scored.fingerprint):
        return
    if outcome.by_validators:
        recorder.awaiting_validators(c, cid=outcome.cid)
        return
    recorder.attestation(
        c,
        cid=outcome.cid,
        typed_data=outcome.typed_data or {},
        signature=outcome.signature,
        signer=outcome.signer,
    )
    if outcome.pinned_cid is not None:
        recorder.pin(c, cid=outcome.pinned_cid)


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
            messages.send_stage("validate", pk, size=size)
    return len(released)
