"""The pipeline's stage services: claim a delivery, record its result."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone

from contributions import kinds, messages, scoring
from contributions.models import (
    ACTIVE_STATUSES,
    Contribution,
    ContributionProof,
    Fingerprint,
    Review,
    RowHash,
    Status,
)
from contributions.novelty import Novelty
from contributions.services import common
from contributions.services.common import (
    MAX_STAGE_ATTEMPTS,
    VALIDATOR_VERSION,
    _fail,
    _lock_at,
    _move,
    stage_of,
)
from datadao.schema import scoring_policy
from datadao.services import audit_record


@transaction.atomic
def contribution_begin(*, contribution_id: int, stage: str | None) -> Contribution | None:
    """Claim one delivery of ``stage`` (None: of whichever stage the contribution waits for, as
    the express task does); None when there is nothing to do (gone, already past that stage,
    or final). Counts deliveries: past MAX_STAGE_ATTEMPTS the contribution is failed, so a
    poison contribution that crashes its worker is dead-lettered instead of looping forever."""
    contribution = _lock_at(contribution_id, stage)
    if contribution is None:
        return None
    if contribution.lease_until is not None and contribution.lease_until > timezone.now():
        return None  # a batch is working on it (contributions.services.batch)
    if contribution.attempts >= MAX_STAGE_ATTEMPTS:
        stage = stage_of(contribution)
        _fail(contribution, f"gave up after {MAX_STAGE_ATTEMPTS} attempts at the {stage} stage")
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
    *, contribution_id: int, accepted: bool, media_type: str, reasons: list[str], report: dict
) -> Contribution | None:
    """Store the validation result: rejected (final) or on to scoring."""
    contribution = _lock_at(contribution_id, "validate")
    if contribution is None:
        return None
    report = {**contribution.report, "validation": report}
    if not accepted:
        _move(contribution, Status.REJECTED, reasons=reasons, report=report, media_type=media_type)
        audit_record(
            actor=None,
            dao=contribution.dataset.dao,
            verb="contribution.rejected",
            obj=contribution,
            details={"reasons": reasons[:10], "stage": "validate"},
        )
        return contribution
    contribution.report = report
    contribution.media_type = media_type
    contribution.reasons = reasons
    contribution.attempts = 0
    contribution.status_changed_at = timezone.now()
    contribution.save(
        update_fields=["report", "media_type", "reasons", "attempts", "status_changed_at"]
    )
    messages.dispatch("score", contribution.pk)
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
) -> Contribution | None:
    """Store the proof-of-contribution scores and decide (``scores_outcome``): accepted (on
    to attestation) or rejected; a near-duplicate is flagged for the DAO's review.

    ``row_digests`` are the digests of the rows scoring found new. An accepted tabular
    contribution claims them in the dataset's row index (``rows_claim``), where the unique
    constraint decides between contributions recorded at the same time: what it records as
    new, and is paid for, is what it claimed. An accepted image or text is compared again
    with the fingerprints recorded since scoring (after ``fingerprint_horizon``), under the
    dataset's fingerprint lock: two near-identical files scored at the same time cannot both
    pass as new."""
    contribution = _lock_at(contribution_id, "score")
    if contribution is None:
        return None
    outcome = {
        "scores": scores,
        "threshold": threshold,
        "near_duplicate_of": near_duplicate_of,
        "novelty": novelty,
    }
    status, fields, verb = scores_outcome(contribution, **outcome)
    if status == Status.ACCEPTED and novelty is not None:
        claimed = rows_claim({contribution.pk: (contribution.dataset_id, row_digests or [])})
        if claimed.get(contribution.pk, 0) < novelty.new:
            outcome |= claimed_outcome(outcome, claimed.get(contribution.pk, 0))
            status, fields, verb = scores_outcome(contribution, **outcome)
    if status == Status.ACCEPTED and fingerprint:
        fingerprints_lock([contribution.dataset_id])
        near = fingerprint_near(contribution, fingerprint, after=fingerprint_horizon)
        if near is not None:
            outcome["near_duplicate_of"] = near
            status, fields, verb = scores_outcome(contribution, **outcome)
    _move(contribution, status, **fields)
    if status == Status.ACCEPTED:
        if fingerprint:
            # One statement (INSERT ... ON CONFLICT DO NOTHING), where get_or_create takes four.
            Fingerprint.objects.bulk_create(
                [fingerprint_row(contribution, fingerprint)], ignore_conflicts=True
            )
        messages.dispatch("attest", contribution.pk)
    audit_record(
        actor=None,
        dao=contribution.dataset.dao,
        verb=verb,
        obj=contribution,
        details={"scores": outcome["scores"], "threshold": threshold},
    )
    return contribution


def scores_outcome(
    contribution: Contribution,
    *,
    scores: dict[str, int],
    threshold: int,
    near_duplicate_of: int | None,
    novelty: Novelty | None = None,
) -> tuple[Status, dict[str, Any], str]:
    """Where scores take a contribution: the status, the fields to set with it, the audit
    verb. Novelty is a gate: a near-duplicate of any accepted contribution (the uploader's
    own included) is flagged for the DAO's review, and a tabular file with no new row is
    rejected as a duplicate, whatever its scores. ``novelty`` goes on the report."""
    fields: dict[str, Any] = {**scores, "validator_version": VALIDATOR_VERSION}
    if novelty is not None:
        fields["report"] = {**contribution.report, "novelty": novelty.to_dict()}
    if near_duplicate_of is not None:
        reason = (
            f"Near-duplicate of contribution #{near_duplicate_of}, already in this dataset; "
            "flagged for the DAO's review. It earns nothing unless a reviewer accepts it."
        )
        fields |= {
            "near_duplicate_of_id": near_duplicate_of,
            "review": Review.PENDING,
            "reasons": [*contribution.reasons, reason],
        }
        return Status.REJECTED, fields, "contribution.flagged"
    if novelty is not None and novelty.new == 0:
        reason = f"Duplicate: {novelty.summary()}"
        fields["reasons"] = [*contribution.reasons, reason]
        return Status.REJECTED, fields, "contribution.rejected"
    if scores["score"] < threshold:
        reason = f"Combined score {scores['score']} is below this dataset's threshold {threshold}."
        fields["reasons"] = [*contribution.reasons, reason]
        return Status.REJECTED, fields, "contribution.rejected"
    return Status.ACCEPTED, fields, "contribution.accepted"


def claimed_outcome(outcome: dict[str, Any], claimed: int) -> dict[str, Any]:
    """``scores_outcome``'s arguments once only ``claimed`` of the new rows were claimed:
    the novelty and the uniqueness it signs shrink to what the contribution adds."""
    novelty = outcome["novelty"].claimed(claimed)
    return {"novelty": novelty, "scores": {**outcome["scores"], "uniqueness": novelty.share_bps}}


def novelty_on_accept(contribution: Contribution) -> dict[str, Any]:
    """The fields of a tabular contribution the DAO accepts on review: it claims its rows
    now (``rows_claim``), so what it adds, signs and is paid for is what the dataset lacks
    at acceptance (the rows it claimed itself before, if it was accepted once, included)."""
    if "novelty" not in contribution.report:
        return {}
    digests = common.read_row_digests(common.rows_sidecar(contribution))
    rows_claim({contribution.pk: (contribution.dataset_id, digests)})
    new = RowHash.objects.filter(contribution_id=contribution.pk).count()
    before = Novelty.from_dict(contribution.report["novelty"])
    novelty = Novelty(rows=before.rows, distinct=before.distinct, new=min(new, before.distinct))
    return {
        "report": {**contribution.report, "novelty": novelty.to_dict()},
        "uniqueness": novelty.share_bps,
    }


def rows_claim(digests: dict[int, tuple[int, list[bytes]]]) -> dict[int, int]:
    """Insert the row digests of accepted contributions (contribution → dataset, digests new
    to it) into the row index; returns how many each inserted. A digest already there stays
    its first contributor's (``rowhash_unique``): a contribution recorded at the same time as
    another with the same rows claims only what the other did not. Inserted in digest order,
    so that two transactions claiming overlapping rows lock them in the same order."""
    rows = sorted(
        (digest, dataset_id, contribution_id)
        for contribution_id, (dataset_id, many) in digests.items()
        for digest in many
    )
    counts: dict[int, int] = dict.fromkeys(digests, 0)
    if connection.vendor != "postgresql":  # SQLite (development): one row at a time
        with connection.cursor() as cursor:
            for row in rows:
                cursor.execute(
                    "INSERT INTO contributions_rowhash (digest, dataset_id, contribution_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    list(row),
                )
                counts[row[2]] += cursor.rowcount
        return counts
    for start in range(0, len(rows), 20_000):
        chunk = rows[start : start + 20_000]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO contributions_rowhash (digest, dataset_id, contribution_id) "
                "SELECT * FROM unnest(%s::bytea[], %s::bigint[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING RETURNING contribution_id",
                [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
            )
            for (contribution_id,) in cursor.fetchall():
                counts[contribution_id] += 1
    return counts


# The advisory lock class of a dataset's fingerprints (the dataset id is the other key).
_FINGERPRINT_LOCK = 0x6670


def fingerprints_lock(dataset_ids: list[int]) -> None:
    """Serialize, until commit, the recording of new fingerprints in these datasets: a
    recorder that compares then inserts sees every fingerprint committed before it."""
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time anyway
    with connection.cursor() as cursor:
        for dataset_id in sorted(set(dataset_ids)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_FINGERPRINT_LOCK, dataset_id])


def fingerprint_near(
    contribution: Contribution, fingerprint: dict[str, Any], *, after: int
) -> int | None:
    """The accepted contribution whose fingerprint, recorded after fingerprint ``after``
    (scoring compared the ones before), is a near-duplicate of ``fingerprint``; else None."""
    policy = scoring_policy(contribution.dataset.scoring)
    field = "phash" if fingerprint.get("phash") is not None else "minhash"
    rows = list(
        Fingerprint.objects.filter(
            dataset_id=contribution.dataset_id, id__gt=after, **{f"{field}__isnull": False}
        )
        .exclude(contribution_id=contribution.pk)
        .values_list("contribution_id", field)
    )
    if not rows:
        return None
    if field == "phash":
        others = np.array([value for _, value in rows], dtype=np.int64)
        index, distance = scoring.nearest_hamming(fingerprint["phash"], others)
        return rows[index][0] if distance <= policy["image_hamming"] else None
    index, similarity = scoring.nearest_jaccard(
        bytes(fingerprint["minhash"]), [bytes(value) for _, value in rows]
    )
    return rows[index][0] if similarity >= policy["text_jaccard"] else None


def fingerprint_row(contribution: Contribution, fingerprint: dict[str, Any]) -> Fingerprint:
    return Fingerprint(contribution=contribution, dataset_id=contribution.dataset_id, **fingerprint)


@transaction.atomic
def contribution_record_attestation(
    *, contribution_id: int, cid: str, typed_data: dict, signature: str, signer: str
) -> Contribution | None:
    """Store the signed proof (one per contribution, DB-enforced) and move on to pinning."""
    contribution = _lock_at(contribution_id, "attest")
    if contribution is None:
        return None
    # A proof already there (an overridden-then-re-accepted contribution) stays: one statement,
    # INSERT ... ON CONFLICT DO NOTHING on the one-proof-per-contribution constraint.
    ContributionProof.objects.bulk_create(
        [
            ContributionProof(
                contribution=contribution, typed_data=typed_data, signature=signature, signer=signer
            )
        ],
        ignore_conflicts=True,
    )
    _move(contribution, Status.PINNING, cid=cid)
    messages.dispatch("pin", contribution.pk)
    return contribution


@transaction.atomic
def contribution_record_pin(*, contribution_id: int, cid: str) -> Contribution | None:
    """Mark pinned. The backend's CID must equal the one computed locally and signed."""
    from ipfs.services import pin_record

    contribution = _lock_at(contribution_id, "pin")
    if contribution is None:
        return None
    if cid != contribution.cid:
        _fail(contribution, common.cid_mismatch(returned=cid, computed=contribution.cid))
        return contribution
    pin_record(
        cid=cid,
        size=contribution.size,
        content_type=contribution.media_type or "application/octet-stream",
        label=f"contribution:{contribution.pk}",
    )
    _move(contribution, Status.PINNED)
    from rewards.services import reward_credit_contribution

    reward_credit_contribution(contribution=contribution)
    on_pinned = kinds.hooks_for(contribution.dataset.kind).on_pinned
    if on_pinned is not None:
        on_pinned(contribution, common.contribution_file(contribution))
    audit_record(
        actor=None,
        dao=contribution.dataset.dao,
        verb="contribution.pinned",
        obj=contribution,
        details={"cid": cid},
    )
    return contribution


@transaction.atomic
def contribution_fail(*, contribution_id: int, stage: str, reason: str) -> Contribution | None:
    """Dead-letter a contribution whose stage exhausted its retries."""
    contribution = _lock_at(contribution_id, stage)
    if contribution is None:
        return None
    _fail(contribution, reason)
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
    stage = stage_of(contribution) if contribution else None
    if stage is not None:
        # Bump the clock so the same item is not re-sent on every sweep while it runs.
        Contribution.objects.filter(pk=contribution_id).update(status_changed_at=timezone.now())
        with transaction.atomic():
            messages.dispatch(stage, contribution_id, size=contribution.size)


def contribution_release_attempt(*, contribution_id: int) -> None:
    """Give back a delivery counted by ``contribution_begin`` when the task retries on an
    expected error (backend down): only crashes count towards dead-lettering."""
    Contribution.objects.filter(pk=contribution_id, attempts__gt=0).update(
        attempts=models.F("attempts") - 1
    )
