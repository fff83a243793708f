"""Writes of the contribution pipeline. The only code that changes a Contribution.

Each stage is split in two short transactions around the slow work: ``*_begin`` locks the
row and checks the status (a redelivered or duplicate message finds the work done and
returns None), ``*_record`` locks it again, re-checks, and moves it on. Slow work (reading,
hashing, pinning) never holds a row lock. Tasks are dispatched on commit, so a rolled-back
transaction never sends a message; the sweeper covers a message lost after commit.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from contributions import errors
from contributions.attestation import ownership_message
from contributions.models import (
    ACTIVE_STATUSES,
    Contribution,
    ContributionProof,
    Fingerprint,
    Review,
    RowHash,
    Status,
)
from contributions.uploads import StagedUpload
from contributions.validation import sniff
from datadao.models import Dataset, DatasetStatus, Membership, User
from datadao.schema import DEFAULT_MAX_SIZE
from datadao.services import audit_record

logger = logging.getLogger(__name__)

# Bumped whenever validation or scoring changes, so old proofs stay attributable.
VALIDATOR_VERSION = 1
# Deliveries of one stage before the contribution is dead-lettered as failed.
MAX_STAGE_ATTEMPTS = 5


def upload_root() -> Path:
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def contribution_file(contribution: Contribution) -> Path:
    return upload_root() / contribution.storage_name


def rows_sidecar(contribution: Contribution) -> Path:
    """Normalized row digests (16 bytes each) written by validation, read by scoring."""
    return upload_root() / f"{contribution.storage_name}.rows"


def dataset_max_size(dataset: Dataset) -> int:
    return int(dataset.schema.get("max_size", DEFAULT_MAX_SIZE))


# --- receiving ------------------------------------------------------------------------------------


def _check_signature(*, dataset: Dataset, contributor: User, sha256: str, signature: str) -> bool:
    if not signature:
        return False
    text = ownership_message(dataset.pk, sha256)
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception as exc:
        raise errors.BadSignature(
            "The ownership signature is not a valid EIP-191 signature "
            f"(sign the text '{text}' with personal_sign)."
        ) from exc
    if signer != contributor.address:
        raise errors.BadSignature(
            f"The ownership signature was made by {signer}, not by you ({contributor.address})."
        )
    return True


def contribution_receive(
    *,
    dataset_id: int,
    contributor: User,
    staged: StagedUpload,
    signature: str = "",
) -> Contribution:
    """Keep a staged upload as a new contribution and queue its validation.

    Refuses (``ContributionRefused``, with the HTTP status to answer) a closed dataset, a
    non-member, a contributor over their hourly quota, a file over the dataset's size limit,
    a signature not made by the contributor, and an exact duplicate. A refused upload leaves
    nothing: no row, no file.
    """
    storage_name = uuid.uuid4().hex
    try:
        return _receive(
            dataset_id=dataset_id,
            contributor=contributor,
            staged=staged,
            signature=signature,
            storage_name=storage_name,
        )
    except BaseException:
        # The move is the last step before commit; if the commit failed, drop the file too.
        (upload_root() / storage_name).unlink(missing_ok=True)
        raise
    finally:
        staged.discard()  # a no-op once moved into place


@transaction.atomic
def _receive(
    *, dataset_id: int, contributor: User, staged: StagedUpload, signature: str, storage_name: str
) -> Contribution:
    dataset = Dataset.objects.filter(pk=dataset_id).select_related("dao").first()
    if dataset is None:
        raise errors.ContributionRefused(f"There is no dataset {dataset_id}.")
    if dataset.status != DatasetStatus.OPEN:
        raise errors.DatasetNotOpen(f"The dataset '{dataset.name}' is not open for contributions.")
    if not Membership.objects.filter(dao_id=dataset.dao_id, user=contributor).exists():
        raise errors.NotAMember(f"Only members of {dataset.dao.name} can contribute to it.")
    # Lock the contributor's row so two parallel uploads cannot both slip under the quota.
    User.objects.select_for_update().filter(pk=contributor.pk).first()
    limit = settings.CONTRIBUTIONS_PER_HOUR
    recent = Contribution.objects.filter(
        contributor=contributor, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if recent >= limit:
        raise errors.QuotaExceeded(
            f"You have made {recent} contributions in the last hour; the limit is {limit}."
        )
    max_size = dataset_max_size(dataset)
    if staged.size > max_size:
        raise errors.TooLarge(f"The file is larger than this dataset's limit of {max_size} bytes.")
    if staged.size == 0:
        raise errors.BadUpload("The file is empty.")
    _check_type(dataset, staged)
    signed = _check_signature(
        dataset=dataset, contributor=contributor, sha256=staged.sha256, signature=signature
    )
    try:
        with transaction.atomic():
            contribution = Contribution.objects.create(
                dataset=dataset,
                contributor=contributor,
                sha256=staged.sha256,
                size=staged.size,
                original_name=_display_name(staged.client_name),
                storage_name=storage_name,
                signature=signature if signed else "",
                signed=signed,
            )
    except IntegrityError as exc:
        if Contribution.objects.filter(dataset=dataset, sha256=staged.sha256).exists():
            raise errors.Duplicate(
                "This exact file (same SHA-256) is already in this dataset."
            ) from exc
        raise
    _dispatch("validate", contribution.pk)
    staged.path.replace(upload_root() / storage_name)
    return contribution


def _accepted_types(dataset: Dataset) -> set[str]:
    if dataset.kind == "tabular":
        return {"text/csv", "application/x-ndjson"}
    return set(dataset.schema.get("media_types", []))


def _check_type(dataset: Dataset, staged: StagedUpload) -> None:
    """Refuse at upload what the content (magic bytes, text structure; a bounded read) shows
    the dataset can never take: a zip, an executable, a web page named .csv. The full
    validation of what passes runs in the worker."""
    sniffed = sniff(staged.path)
    accepted = _accepted_types(dataset)
    if not accepted & set(sniffed.acceptable):
        raise errors.UnsupportedType(
            f"This dataset accepts {', '.join(sorted(accepted))}, but the file's content is "
            f"{sniffed.describe()}."
        )


def _display_name(client_name: str) -> str:
    """The client's file name, for display only: no path, no control characters, bounded."""
    name = client_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\x00")
    return name[:255]


def _dispatch(stage: str, contribution_id: int) -> None:
    from contributions import tasks

    task = {
        "validate": tasks.validate_contribution,
        "score": tasks.score_contribution,
        "attest": tasks.attest_contribution,
        "pin": tasks.pin_contribution,
    }[stage]
    transaction.on_commit(lambda: task.delay(contribution_id))


# --- stage bookkeeping ----------------------------------------------------------------------------


def _move(contribution: Contribution, status: Status, **fields: Any) -> None:
    contribution.status = status
    contribution.status_changed_at = timezone.now()
    contribution.attempts = 0
    for key, value in fields.items():
        setattr(contribution, key, value)
    # Only what changed: the row carries the (possibly large) validation report.
    names = {key.removesuffix("_id") if key.endswith("_id") else key for key in fields}
    contribution.save(update_fields=["status", "status_changed_at", "attempts", *sorted(names)])


def _fail(contribution: Contribution, reason: str) -> None:
    stage = contribution.status
    _move(contribution, Status.FAILED, failure=reason)
    audit_record(
        actor=None,
        dao=contribution.dataset.dao,
        verb="contribution.failed",
        obj=contribution,
        details={"stage": stage, "reason": reason},
    )
    logger.error("contribution %s failed at %s: %s", contribution.pk, stage, reason)


def stage_of(contribution: Contribution) -> str | None:
    """The stage an active contribution waits for (what the sweeper re-dispatches)."""
    if contribution.status == Status.RECEIVED:
        return "validate"
    if contribution.status == Status.VALIDATING:
        return "score" if "validation" in contribution.report else "validate"
    if contribution.status == Status.ACCEPTED:
        return "attest"
    if contribution.status == Status.PINNING:
        return "pin"
    return None


def _lock_at(contribution_id: int, stage: str) -> Contribution | None:
    """The row, locked, if it still waits for ``stage``; else None (gone or already past).

    Worker-side stage transactions commit without waiting for the WAL flush: if the database
    crashed and lost the last of them, the contribution would simply be back at an earlier
    stage, which the sweeper re-dispatches and the idempotent, deterministic stages redo with
    the same result. (Receiving an upload keeps full durability: the client was told 201.)
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    contribution = (
        Contribution.objects.select_for_update()
        .select_related("dataset__dao")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None or stage_of(contribution) != stage:
        return None
    return contribution


@transaction.atomic
def contribution_begin(*, contribution_id: int, stage: str) -> Contribution | None:
    """Claim one delivery of ``stage``; None when there is nothing to do (gone, or already past
    that stage). Counts deliveries: past MAX_STAGE_ATTEMPTS the contribution is failed, so a
    poison contribution that crashes its worker is dead-lettered instead of looping forever."""
    contribution = _lock_at(contribution_id, stage)
    if contribution is None:
        return None
    if contribution.attempts >= MAX_STAGE_ATTEMPTS:
        _fail(contribution, f"gave up after {MAX_STAGE_ATTEMPTS} attempts at the {stage} stage")
        return None
    contribution.attempts += 1
    if contribution.status == Status.RECEIVED:
        contribution.status = Status.VALIDATING
        contribution.status_changed_at = timezone.now()
    contribution.save(update_fields=["attempts", "status", "status_changed_at"])
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
    _dispatch("score", contribution.pk)
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
) -> Contribution | None:
    """Store the proof-of-contribution scores and decide: accepted (on to attestation) or
    rejected. A near-duplicate of another contributor's data is flagged for the DAO's review."""
    contribution = _lock_at(contribution_id, "score")
    if contribution is None:
        return None
    fields: dict[str, Any] = {**scores, "validator_version": VALIDATOR_VERSION}
    if near_duplicate_of is not None:
        fields |= {"near_duplicate_of_id": near_duplicate_of, "review": Review.PENDING}
    if near_duplicate_of is not None:
        reason = (
            f"Near-duplicate of contribution #{near_duplicate_of} by another contributor; "
            "flagged for the DAO's review."
        )
        _move(contribution, Status.REJECTED, reasons=[*contribution.reasons, reason], **fields)
        verb = "contribution.flagged"
    elif scores["score"] < threshold:
        reason = f"Combined score {scores['score']} is below this dataset's threshold {threshold}."
        _move(contribution, Status.REJECTED, reasons=[*contribution.reasons, reason], **fields)
        verb = "contribution.rejected"
    else:
        _move(contribution, Status.ACCEPTED, **fields)
        if row_digests:
            RowHash.objects.bulk_create(
                [
                    RowHash(dataset_id=contribution.dataset_id, digest=d, contribution=contribution)
                    for d in row_digests
                ],
                ignore_conflicts=True,
                batch_size=5000,
            )
        if fingerprint:
            Fingerprint.objects.get_or_create(
                contribution=contribution,
                defaults={"dataset_id": contribution.dataset_id, **fingerprint},
            )
        _dispatch("attest", contribution.pk)
        verb = "contribution.accepted"
    audit_record(
        actor=None,
        dao=contribution.dataset.dao,
        verb=verb,
        obj=contribution,
        details={"scores": scores, "threshold": threshold},
    )
    return contribution


@transaction.atomic
def contribution_record_attestation(
    *, contribution_id: int, cid: str, typed_data: dict, signature: str, signer: str
) -> Contribution | None:
    """Store the signed proof (one per contribution, DB-enforced) and move on to pinning."""
    contribution = _lock_at(contribution_id, "attest")
    if contribution is None:
        return None
    ContributionProof.objects.get_or_create(
        contribution=contribution,
        defaults={"typed_data": typed_data, "signature": signature, "signer": signer},
    )
    _move(contribution, Status.PINNING, cid=cid)
    _dispatch("pin", contribution.pk)
    return contribution


@transaction.atomic
def contribution_record_pin(*, contribution_id: int, cid: str) -> Contribution | None:
    """Mark pinned. The backend's CID must equal the one computed locally and signed."""
    from ipfs.services import pin_record

    contribution = _lock_at(contribution_id, "pin")
    if contribution is None:
        return None
    if cid != contribution.cid:
        _fail(
            contribution,
            f"the IPFS backend returned CID {cid}, but the bytes hash to {contribution.cid}",
        )
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


@transaction.atomic
def contribution_retry(*, contribution: Contribution, actor: User | None) -> Contribution:
    """Console's "retry": put a failed contribution back where it stopped."""
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    if contribution.status != Status.FAILED:
        raise errors.ContributionRefused("Only a failed contribution can be retried.")
    if contribution.cid and hasattr(contribution, "proof"):
        status, stage = Status.PINNING, "pin"
    elif contribution.score is not None:
        status, stage = Status.ACCEPTED, "attest"
    else:
        status, stage = Status.RECEIVED, "validate"
        contribution.report = {}
    _move(contribution, status, failure="")
    audit_record(
        actor=actor,
        dao=contribution.dataset.dao,
        verb="contribution.retried",
        obj=contribution,
        details={"stage": stage},
    )
    _dispatch(stage, contribution.pk)
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
            _dispatch(stage, contribution_id)


def contribution_release_attempt(*, contribution_id: int) -> None:
    """Give back a delivery counted by ``contribution_begin`` when the task retries on an
    expected error (backend down): only crashes count towards dead-lettering."""
    Contribution.objects.filter(pk=contribution_id, attempts__gt=0).update(
        attempts=models.F("attempts") - 1
    )


@transaction.atomic
def contribution_override(
    *, contribution: Contribution, actor: User, decision: str, note: str = ""
) -> Contribution:
    """The DAO overrides the pipeline's decision (audited with the note).

    ``accept``: a rejected contribution that passed validation goes on to attestation and
    pinning. ``reject``: an accepted or pinned contribution is rejected (its pin stays: content
    addressing cannot be taken back, but it leaves releases and rewards). ``confirm``: a
    flagged near-duplicate stays rejected and leaves the review queue.
    """
    contribution = (
        Contribution.objects.select_for_update()
        .select_related("dataset__dao")
        .get(pk=contribution.pk)
    )
    before = contribution.status
    review = Review.OVERRIDDEN if contribution.review == Review.PENDING else contribution.review
    if decision == "accept":
        if before != Status.REJECTED:
            raise errors.ContributionRefused("Only a rejected contribution can be accepted.")
        if contribution.score is None:
            raise errors.ContributionRefused(
                "This contribution failed validation; it cannot be accepted."
            )
        _move(contribution, Status.ACCEPTED, review=review)
        _dispatch("attest", contribution.pk)
    elif decision == "reject":
        if before not in (Status.ACCEPTED, Status.PINNED):
            raise errors.ContributionRefused(
                "Only an accepted or pinned contribution can be rejected."
            )
        reason = f"Rejected by the DAO: {note}" if note else "Rejected by the DAO."
        _move(contribution, Status.REJECTED, review=review, reasons=[*contribution.reasons, reason])
        from rewards.services import reward_withdraw_contribution

        reward_withdraw_contribution(contribution=contribution)
    elif decision == "confirm":
        if contribution.review != Review.PENDING:
            raise errors.ContributionRefused("This contribution is not waiting for review.")
        contribution.review = Review.CONFIRMED
        contribution.save(update_fields=["review"])
    else:
        raise errors.ContributionRefused(f"Unknown decision {decision!r}.")
    audit_record(
        actor=actor,
        dao=contribution.dataset.dao,
        verb=f"contribution.override_{decision}",
        obj=contribution,
        details={"from": before, "to": contribution.status, "note": note[:500]},
    )
    return contribution
