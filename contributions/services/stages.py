"""The stage lane's services: claim a delivery of one stage, record its result.

Each stage is split in two short transactions around the slow work
(``contributions.pipeline``): ``contribution_begin`` locks the row and checks that it still
waits for the stage (a redelivered or duplicate message finds the work done and does
nothing); ``contribution_record_*`` locks it again, re-checks, and records the result through
the recorder (``services.record``), the same writer the batch lane uses. The express lane
calls the same services with ``send_next=False`` and runs the next stage itself.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from contributions import lifecycle, messages
from contributions.decide import claimed_outcome, scores_outcome
from contributions.models import ACTIVE_STATUSES, Contribution, Status
from contributions.novelty import Novelty
from contributions.services.claims import fingerprint_near, fingerprints_lock, rows_claim
from contributions.services.common import MAX_STAGE_ATTEMPTS, lock_at
from contributions.services.record import Recorder


@transaction.atomic
def contribution_begin(*, contribution_id: int, stage: str | None) -> Contribution | None:
    """Claim one delivery of ``stage`` (None: of whichever stage the contribution waits for, as
    the express task does); None when there is nothing to do (gone, already past that stage,
    or final). Counts deliveries: past MAX_STAGE_ATTEMPTS the contribution is failed, so a
    poison contribution that crashes its worker is dead-lettered instead of looping forever."""
    contribution = lock_at(contribution_id, stage)
    if contribution is None:
        return None
    if contribution.lease_until is not None and contribution.lease_until > timezone.now():
        return None  # a batch is working on it (contributions.services.batch)
    if contribution.attempts >= MAX_STAGE_ATTEMPTS:
        stage = lifecycle.stage_of(contribution)
        recorder = Recorder()
        recorder.failure(
            contribution, f"gave up after {MAX_STAGE_ATTEMPTS} attempts at the {stage} stage"
        )
        recorder.write()
        return None
    contribution.attempts += 1
    contribution.lease_until = None  # a lapsed batch lease: this delivery takes over
    if contribution.status == Status.RECEIVED:
        contribution.status = Status.VALIDATING
        contribution.status_changed_at = timezone.now()
    contribution.save(update_fields=["attempts", "status", "status_changed_at", "lease_until"])
    return contribution


# --- stage results --------------------------------------------------------------------------------


@transaction.atomic
def contribution_record_validation(
    *,
    contribution_id: int,
    accepted: bool,
    media_type: str,
    reasons: list[str],
    report: dict,
    send_next: bool = True,
) -> Contribution | None:
    """Store the validation result: rejected (final) or on to scoring."""
    contribution = lock_at(contribution_id, "validate")
    if contribution is None:
        return None
    recorder = Recorder(send_next=send_next)
    recorder.validation(
        contribution, accepted=accepted, media_type=media_type, reasons=reasons, report=report
    )
    recorder.write()
    return contribution


@transaction.atomic
def contribution_record_scores(
    *,
    contribution_id: int,
    scores: dict[str, int],
    threshold: int,
    near_duplicate_of: int | None,
    row_digests: list[bytes] | None = None,
    fingerprint: dict[str, Any] | None = None,
    novelty: Novelty | None = None,
    fingerprint_horizon: int = 0,
    send_next: bool = True,
) -> Contribution | None:
    """Store the proof-of-contribution scores and the decision (``decide.scores_outcome``):
    accepted (on to attestation) or rejected; a near-duplicate is flagged for the DAO's
    review.

    ``row_digests`` are the digests of the rows scoring found new. An accepted tabular
    contribution claims them in the dataset's row index (``claims.rows_claim``), where the
    unique constraint decides between contributions recorded at the same time: what it
    records as new, and is paid for, is what it claimed. An accepted image or text is compared
    again with the fingerprints recorded since scoring (after ``fingerprint_horizon``), under
    the dataset's fingerprint lock: two near-identical files scored at the same time cannot
    both pass as new."""
    contribution = lock_at(contribution_id, "score")
    if contribution is None:
        return None
    outcome = {
        "scores": scores,
        "threshold": threshold,
        "near_duplicate_of": near_duplicate_of,
        "novelty": novelty,
    }
    decision = scores_outcome(contribution, **outcome)
    if decision.accepted and novelty is not None:
        claimed = rows_claim({contribution.pk: (contribution.dataset_id, row_digests or [])})
        if claimed.get(contribution.pk, 0) < novelty.new:
            outcome |= claimed_outcome(outcome, claimed.get(contribution.pk, 0))
            decision = scores_outcome(contribution, **outcome)
    if decision.accepted and fingerprint:
        fingerprints_lock([contribution.dataset_id])
        near = fingerprint_near(contribution, fingerprint, after=fingerprint_horizon)
        if near is not None:
            outcome["near_duplicate_of"] = near
            decision = scores_outcome(contribution, **outcome)
    recorder = Recorder(send_next=send_next)
    recorder.scores(contribution, decision, fingerprint)
    recorder.write()
    return contribution


@transaction.atomic
def contribution_record_attestation(
    *,
    contribution_id: int,
    cid: str,
    typed_data: dict,
    signature: str,
    signer: str,
    send_next: bool = True,
) -> Contribution | None:
    """Store the signed proof (one per contribution, DB-enforced) and move on to pinning."""
    contribution = lock_at(contribution_id, "attest")
    if contribution is None:
        return None
    recorder = Recorder(send_next=send_next)
    recorder.attestation(
        contribution, cid=cid, typed_data=typed_data, signature=signature, signer=signer
    )
    recorder.write()
    return contribution


@transaction.atomic
def contribution_await_validators(
    *, contribution_id: int, cid: str, send_next: bool = True
) -> Contribution | None:
    """Hand an accepted contribution of a DAO with a validator set to its validators: it
    waits in ``attesting`` (``contributions.quorum``) instead of being signed by the fleet."""
    contribution = lock_at(contribution_id, "attest")
    if contribution is None:
        return None
    recorder = Recorder(send_next=send_next)
    recorder.awaiting_validators(contribution, cid=cid)
    recorder.write()
    return contribution


@transaction.atomic
def contribution_record_pin(
    *, contribution_id: int, cid: str, send_next: bool = True
) -> Contribution | None:
    """Mark pinned. The backend's CID must equal the one computed locally and signed."""
    contribution = lock_at(contribution_id, "pin")
    if contribution is None:
        return None
    recorder = Recorder(send_next=send_next)
    recorder.pin(contribution, cid=cid)
    recorder.write()
    return contribution


@transaction.atomic
def contribution_fail(*, contribution_id: int, stage: str, reason: str) -> Contribution | None:
    """Dead-letter a contribution whose stage exhausted its retries."""
    contribution = lock_at(contribution_id, stage)
    if contribution is None:
        return None
    recorder = Recorder()
    recorder.failure(contribution, reason)
    recorder.write()
    return contribution


def contributions_stuck(cutoff: Any, limit: int) -> list[int]:
    """Active contributions untouched since ``cutoff`` (oldest first), for the sweeper."""
    return list(
        Contribution.objects.filter(status__in=ACTIVE_STATUSES, status_changed_at__lt=cutoff)
        .order_by("status_changed_at")
        .values_list("pk", flat=True)[:limit]
    )


def contribution_redispatch(contribution_id: int) -> None:
    """Send the task for the stage a contribution waits for (idempotent on the task side)."""
    contribution = Contribution.objects.filter(pk=contribution_id).first()
    stage = lifecycle.stage_of(contribution) if contribution else None
    if stage is not None:
        # Bump the clock so the same item is not re-sent on every sweep while it runs.
        Contribution.objects.filter(pk=contribution_id).update(status_changed_at=timezone.now())
        with transaction.atomic():
            messages.send_stage(stage, contribution_id, size=contribution.size)


def contribution_release_attempt(*, contribution_id: int) -> None:
    """Give back a delivery counted by ``contribution_begin`` when the task retries on an
    expected error (backend down): only crashes count towards dead-lettering."""
    Contribution.objects.filter(pk=contribution_id, attempts__gt=0).update(
        attempts=models.F("attempts") - 1
    )
