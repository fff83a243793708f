"""Writes of disputes: file a challenge, record its bond, replay it, uphold or reject it.

Each service is one transaction under the challenge's row lock with a status guard, so a
challenge is decided once: a second decision (two reviewers, a reviewer racing the replay, a
redelivered task) finds it decided and is refused or does nothing. The reversal an upheld
challenge makes is also guarded below it: the item's own lock and state, one clawback per
credit, one upheld challenge per target (database constraints).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from contributions.models import Contribution, Status
from contributions.services import contribution_override
from datadao import events
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.labels import english
from datadao.models import DAO, MANAGER_ROLES, Membership, User, Visibility
from datadao.services import audit_record
from disputes import replay
from disputes.errors import ChallengeRefused
from disputes.models import (
    UNRESOLVED,
    BondStatus,
    Challenge,
    ChallengeStatus,
    Reason,
)
from labeling.models import Label, LabelTask, TaskStatus
from labeling.services.reverse import task_settlement_reverse
from rewards.allocations import CHALLENGE_BOND, CHALLENGE_REWARD, CHALLENGE_SHARE
from rewards.clawbacks import reward_reverse
from rewards.services import reward_credit_dispute

logger = logging.getLogger(__name__)
BPS = 10_000
MAX_STATEMENT = 2000
MAX_REPLAY_ATTEMPTS = 3
TARGETS = ("contribution", "item")
SOURCE = "disputes.challenge"


def _refuse(code: str, message: str, status: int = 400) -> ChallengeRefused:
    return ChallengeRefused(code, message, status)


def _id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise _refuse("bad_request", f"{name} must be a positive integer id.")
    return value


def _member(dao: DAO, user: User) -> bool:
    return Membership.objects.filter(dao=dao, user=user).exists()


def _window_refusal(dao: DAO, since: Any, what: str, now: Any) -> None:
    closes = since + timedelta(seconds=dao.challenge_window_seconds)
    if now > closes:
        raise _refuse(
            "window_closed",
            f"The challenge window of {what} closed at {closes.isoformat()} "
            f"({dao.name} allows {dao.challenge_window_seconds} seconds after it was accepted).",
            409,
        )


def _contribution_target(dao: DAO, user: User, pk: int, now: Any) -> Contribution:
    contribution = (
        Contribution.objects.select_related("dataset").filter(pk=pk, dataset__dao=dao).first()
    )
    hidden = (
        contribution is not None
        and contribution.dataset.visibility != Visibility.PUBLIC
        and not _member(dao, user)
    )
    if contribution is None or hidden:
        raise _refuse("not_found", f"{dao.name} has no contribution {pk} you can see.", 404)
    if contribution.contributor_id == user.pk:
        raise _refuse("own_work", f"Contribution {pk} is your own: you cannot challenge it.", 403)
    if contribution.status != Status.PINNED or contribution.withdrawn_at is not None:
        raise _refuse(
            "not_challengeable",
            f"Contribution {pk} is {contribution.status}"
            f"{' and withdrawn' if contribution.withdrawn_at else ''}: only an accepted "
            "(pinned) contribution can be challenged.",
            409,
        )
    _window_refusal(dao, contribution.status_changed_at, f"contribution {pk}", now)
    return contribution


def _item_target(dao: DAO, user: User, pk: int, now: Any) -> LabelTask:
    task = LabelTask.objects.select_related("dataset").filter(pk=pk, dataset__dao=dao).first()
    hidden = (
        task is not None and task.dataset.visibility != Visibility.PUBLIC and not _member(dao, user)
    )
    if task is None or hidden:
        raise _refuse("not_found", f"{dao.name} has no labeling item {pk} you can see.", 404)
    if Label.objects.filter(task=task, labeler=user).exists():
        raise _refuse(
            "own_work", f"You labelled item {pk}: you cannot challenge its settlement.", 403
        )
    if task.status != TaskStatus.COMPLETE or task.consensus_at is None or task.reversed_at:
        raise _refuse(
            "not_challengeable",
            f"Labeling item {pk} is not settled (or its settlement was already reversed).",
            409,
        )
    _window_refusal(dao, task.consensus_at, f"labeling item {pk}", now)
    return task


def _rate_limit(dao: DAO, user: User, now: Any) -> None:
    """At most DISPUTES_MAX_OPEN unresolved and DISPUTES_DAILY_LIMIT filed in 24 hours per
    challenger and DAO. Under a lock on the challenger's row, so parallel requests of one
    wallet are counted one after the other."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    mine = Challenge.objects.filter(dao=dao, challenger=user)
    max_open = settings.DISPUTES_MAX_OPEN
    if mine.filter(status__in=UNRESOLVED).count() >= max_open:
        raise ChallengeRefused(
            "too_many_open",
            Detail(
                "You have %(max_open)s unresolved challenges in %(name)s, "
                "the most allowed: wait for one to be decided.",
                max_open=max_open,
                name=dao.name,
            ),
            429,
            retry_after=3600,
        )
    daily = settings.DISPUTES_DAILY_LIMIT
    recent = mine.filter(created_at__gt=now - timedelta(days=1)).order_by("created_at")
    if recent.count() >= daily:
        first = recent.values_list("created_at", flat=True).first()
        wait = int((first + timedelta(days=1) - now).total_seconds()) + 1 if first else 3600
        raise ChallengeRefused(
            "rate_limited",
            Detail(
                "You filed %(daily)s challenges in %(name)s in the last 24 "
                "hours, the most allowed.",
                daily=daily,
                name=dao.name,
            ),
            429,
            retry_after=max(1, wait),
        )


@transaction.atomic
def challenge_file(
    *,
    dao: DAO,
    challenger: User,
    target: Any,
    target_id: Any,
    reason: Any,
    duplicate_of: Any = None,
    statement: Any = "",
) -> Challenge:
    """File a challenge of a pinned contribution (``target`` "contribution") or a settled
    labeling item ("item") of ``dao``, within the DAO's challenge window, for ``reason``
    (``Reason``; a duplicate names the earlier work, of the same kind and dataset).

    Refused (nothing stored): a non-member where only members challenge (403), a target that
    is unknown or not visible (404), one's own work (403), a target not accepted or already
    reversed (409), after the window (409 window_closed), a second unresolved challenge of the
    same target by the same challenger (409, a database constraint), over the rate limits
    (429). With a bond, the challenge waits (``bond_due``) until an admin records it;
    otherwise its replay is queued."""
    if not dao.challenge_open_to_anyone and not _member(dao, challenger):
        raise _refuse(
            "not_member", f"Only members of {dao.name} may challenge its accepted work.", 403
        )
    if target not in TARGETS:
        raise _refuse("bad_request", "target must be 'contribution' or 'item'.")
    target_id = _id(target_id, "target_id")
    if reason not in Reason.values:
        raise _refuse("bad_request", f"reason must be one of {', '.join(Reason.values)}.")
    if not isinstance(statement, str) or len(statement) > MAX_STATEMENT:
        raise _refuse(
            "bad_request", f"statement must be text of at most {MAX_STATEMENT} characters."
        )
    now = timezone.now()
    fields: dict[str, Any] = {}
    if target == "contribution":
        contribution = _contribution_target(dao, challenger, target_id, now)
        fields.update(contribution=contribution, dataset_id=contribution.dataset_id)
    else:
        task = _item_target(dao, challenger, target_id, now)
        fields.update(label_task=task, dataset_id=task.dataset_id)
    if reason == Reason.DUPLICATE:
        fields.update(_duplicate_of(target, target_id, fields["dataset_id"], duplicate_of))
    elif duplicate_of is not None:
        raise _refuse("bad_request", "duplicate_of is only for the reason 'duplicate'.")
    _rate_limit(dao, challenger, now)
    bond = int(dao.challenge_bond)
    try:
        with transaction.atomic():
            challenge = Challenge.objects.create(
                dao=dao,
                challenger=challenger,
                reason=reason,
                statement=statement,
                status=ChallengeStatus.BOND_DUE if bond else ChallengeStatus.OPEN,
                bond=bond,
                bond_status=BondStatus.DUE if bond else BondStatus.NONE,
                created_at=now,
                updated_at=now,
                **fields,
            )
    except IntegrityError:
        raise _refuse(
            "already_challenged",
            f"You already have an unresolved challenge of this {target} ({target_id}).",
            409,
        ) from None
    audit_record(
        actor=challenger,
        dao=dao,
        verb="challenge.filed",
        obj=challenge,
        details={
            "target": challenge.target_label,
            "reason": reason,
            "bond": str(bond),
        },
    )
    _emit(challenge, events.EventType.CHALLENGE_OPENED)
    if challenge.status == ChallengeStatus.OPEN:
        send_on_commit("disputes.tasks.replay_challenge", challenge.pk)
    return challenge


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _event_payload(challenge: Challenge) -> dict[str, Any]:
    """A challenge as webhooks carry it: ids, statuses and amounts (decimal strings of the
    token's smallest unit), never its free-text statement or resolution."""
    if challenge.contribution_id is not None:
        target = {"type": "contribution", "id": challenge.contribution_id}
    else:
        target = {"type": "item", "id": challenge.label_task_id}
    payload: dict[str, Any] = {
        "id": challenge.pk,
        "dataset": {"id": challenge.dataset_id, "slug": challenge.dataset.slug},
        "target": target,
        "reason": challenge.reason,
        "challenger": challenge.challenger.address,
        "status": challenge.status,
        "bond": str(int(challenge.bond)),
        "bond_status": challenge.bond_status,
        "created_at": _iso(challenge.created_at),
    }
    if challenge.resolved_at is not None:
        payload.update(
            resolved_at=_iso(challenge.resolved_at),
            # Moot challenges are closed by the one upheld, neither replayed nor reviewed.
            by_replay=challenge.resolved_by_id is None and challenge.status != ChallengeStatus.MOOT,
            withdrawn=str(int(challenge.withdrawn)),
            clawed_back=str(int(challenge.clawed_back)),
        )
    return payload


def _emit(challenge: Challenge, event_type: str) -> None:
    """Record the event in the caller's transaction; the payload is read only when some
    endpoint of the DAO receives it."""
    if events.subscribed(challenge.dao, event_type):
        events.emit(
            dao=challenge.dao,
            event_type=event_type,
            payload={"challenge": _event_payload(challenge)},
        )


def _emit_resolved(challenge: Challenge) -> None:
    _emit(challenge, events.EventType.CHALLENGE_RESOLVED)


def _duplicate_of(target: str, target_id: int, dataset_id: int, value: Any) -> dict[str, Any]:
    original = _id(value, "duplicate_of")
    if original == target_id:
        raise _refuse("bad_request", "duplicate_of must name another item than the one challenged.")
    model = Contribution if target == "contribution" else LabelTask
    found = model.objects.filter(pk=original, dataset_id=dataset_id).first()
    if found is None:
        raise _refuse(
            "bad_request",
            f"duplicate_of: there is no {target} {original} in the same dataset.",
        )
    if original > target_id:
        raise _refuse(
            "bad_request", f"duplicate_of: {target} {original} came after {target_id}, not before."
        )
    key = "duplicate_of_contribution" if target == "contribution" else "duplicate_of_task"
    return {key: found}


def _locked(challenge_id: int) -> Challenge:
    challenge = (
        Challenge.objects.select_for_update()
        .select_related("dao", "dataset")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise _refuse("not_found", f"There is no challenge {challenge_id}.", 404)
    return challenge


def _require_reviewer(challenge: Challenge, actor: User) -> None:
    """A manager of the DAO (or a superuser) who is neither the challenger nor the author of
    the work challenged: nobody decides a dispute they are party to."""
    manager = (
        actor.is_superuser
        or Membership.objects.filter(
            dao_id=challenge.dao_id, user=actor, role__in=MANAGER_ROLES
        ).exists()
    )
    if not manager:
        raise _refuse(
            "forbidden", f"Only the creator or an admin of {challenge.dao.name} decides.", 403
        )
    if challenge.challenger_id == actor.pk:
        raise _refuse("party", "You filed this challenge: another manager must decide it.", 403)
    if challenge.contribution_id is not None:
        party = Contribution.objects.filter(
            pk=challenge.contribution_id, contributor=actor
        ).exists()
    else:
        party = Label.objects.filter(task_id=challenge.label_task_id, labeler=actor).exists()
    if party:
        raise _refuse("party", "The challenged work is yours: another manager must decide it.", 403)


@transaction.atomic
def challenge_bond_record(*, challenge_id: int, actor: User, reference: Any) -> Challenge:
    """An admin records that the challenger posted the bond (``reference``: where, e.g. the
    transfer's transaction hash); the challenge opens and its replay is queued. The
    distributor contract has no bond function, so bonds are recorded here, not read from the
    chain."""
    challenge = _locked(challenge_id)
    _require_reviewer(challenge, actor)
    if not isinstance(reference, str) or not 0 < len(reference.strip()) <= 200:
        raise _refuse(
            "bad_request", "reference must name where the bond was paid (1-200 characters)."
        )
    if challenge.status != ChallengeStatus.BOND_DUE:
        raise _refuse(
            "not_bond_due",
            f"Challenge {challenge.pk} is {challenge.status}, not waiting for a bond.",
            409,
        )
    challenge.status = ChallengeStatus.OPEN
    challenge.bond_status = BondStatus.POSTED
    challenge.bond_reference = reference.strip()
    challenge.bond_recorded_by = actor
    challenge.updated_at = timezone.now()
    challenge.save()
    audit_record(
        actor=actor,
        dao=challenge.dao,
        verb="challenge.bond_posted",
        obj=challenge,
        details={"bond": str(int(challenge.bond)), "reference": challenge.bond_reference},
    )
    send_on_commit("disputes.tasks.replay_challenge", challenge.pk)
    return challenge


@transaction.atomic
def challenge_replay_begin(*, challenge_id: int) -> Challenge | None:
    """Claim an open challenge for a replay: None when it is gone or no longer open (already
    replayed or decided: a redelivered message does nothing). After MAX_REPLAY_ATTEMPTS the
    replay is given up and a reviewer decides."""
    challenge = (
        Challenge.objects.select_for_update().select_related("dao").filter(pk=challenge_id).first()
    )
    if challenge is None or challenge.status != ChallengeStatus.OPEN:
        return None
    if challenge.replay_attempts >= MAX_REPLAY_ATTEMPTS:
        challenge.status = ChallengeStatus.REVIEW
        challenge.replay = replay.Verdict(
            replay.REVIEW, [f"the replay failed {challenge.replay_attempts} times"]
        ).as_json()
        challenge.updated_at = timezone.now()
        challenge.save()
        return None
    challenge.replay_attempts += 1
    challenge.updated_at = timezone.now()
    challenge.save(update_fields=["replay_attempts", "updated_at"])
    return challenge


def challenge_replay_compute(challenge: Challenge) -> replay.Verdict:
    """The replay's verdict (reads the stored bytes; outside any transaction)."""
    if challenge.label_task_id is not None:
        return replay.replay_item()
    contribution = Contribution.objects.select_related("dataset__dao").get(
        pk=challenge.contribution_id
    )
    original = None
    if challenge.duplicate_of_contribution_id is not None:
        original = Contribution.objects.get(pk=challenge.duplicate_of_contribution_id)
    return replay.replay_contribution(contribution, reason=challenge.reason, duplicate_of=original)


@transaction.atomic
def challenge_replay_finish(*, challenge_id: int, verdict: replay.Verdict) -> Challenge | None:
    """Apply a replay's verdict to a challenge still open: uphold, reject, or hand it to a
    reviewer. A challenge decided meanwhile (a reviewer was faster) is left as it is."""
    challenge = (
        Challenge.objects.select_for_update()
        .select_related("dao", "dataset")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None or challenge.status != ChallengeStatus.OPEN:
        return challenge
    challenge.replay = verdict.as_json()
    note = "Decided by replay: " + "; ".join(verdict.findings)
    if verdict.outcome == replay.UPHELD:
        return _uphold(challenge, actor=None, note=note)
    if verdict.outcome == replay.REJECTED:
        return _reject(challenge, actor=None, note=note)
    challenge.status = ChallengeStatus.REVIEW
    challenge.updated_at = timezone.now()
    challenge.save()
    audit_record(
        actor=None,
        dao=challenge.dao,
        verb="challenge.to_review",
        obj=challenge,
        details={"findings": verdict.findings},
    )
    return challenge


def _decidable(challenge: Challenge, *, allow_bond_due: bool = False) -> None:
    allowed = [ChallengeStatus.OPEN, ChallengeStatus.REVIEW]
    if allow_bond_due:
        allowed.append(ChallengeStatus.BOND_DUE)
    if challenge.status not in allowed:
        if challenge.status == ChallengeStatus.BOND_DUE:
            raise _refuse(
                "bond_due",
                f"Challenge {challenge.pk} waits for its bond: record it before upholding.",
                409,
            )
        raise _refuse(
            "already_decided",
            f"Challenge {challenge.pk} is already decided ({challenge.status}).",
            409,
        )


@transaction.atomic
def challenge_uphold(*, challenge_id: int, actor: User, note: Any = "") -> Challenge:
    """A reviewer upholds a challenge the replay could not decide (or before it did): see
    ``_uphold``. Refused when already decided (409) or by a party to it (403)."""
    challenge = _locked(challenge_id)
    _require_reviewer(challenge, actor)
    _decidable(challenge)
    return _uphold(challenge, actor=actor, note=_note(note))


@transaction.atomic
def challenge_reject(*, challenge_id: int, actor: User, note: Any = "") -> Challenge:
    """A reviewer rejects a challenge: the bond, if posted, is forfeited. Refused when already
    decided (409) or by a party to it (403)."""
    challenge = _locked(challenge_id)
    _require_reviewer(challenge, actor)
    _decidable(challenge, allow_bond_due=True)
    return _reject(challenge, actor=actor, note=_note(note))


def _note(note: Any) -> str:
    if not isinstance(note, str) or len(note) > MAX_STATEMENT:
        raise _refuse("bad_request", f"note must be text of at most {MAX_STATEMENT} characters.")
    return note.strip()


def _uphold(challenge: Challenge, *, actor: User | None, note: str) -> Challenge:
    """Reverse the work and its reward, pay the challenger back, close the rest.

    The contribution is rejected (``contribution_override``) or the item's settlement
    reversed; their unsettled credits are withdrawn and the settled ones clawed back
    (``rewards.clawbacks.reward_reverse``), royalties the work earned with them. The challenger
    is credited their bond and ``challenge_share_bps`` of what was withdrawn now (of a reward:
    scaled by the epoch budget, as the reward would have been); of a clawback, that share as it
    is recovered. Other unresolved challenges of the same target become moot, bonds returned."""
    dao = challenge.dao
    # Stored with the reversal: in English, whatever the language of the reviewer's request.
    reason = f"Challenge {challenge.pk} upheld: {english(Reason(challenge.reason)).lower()}." + (
        f" {note}" if note else ""
    )
    if challenge.contribution_id is not None:
        contribution = Contribution.objects.select_for_update().get(pk=challenge.contribution_id)
        source_type, source_ids = "contributions.contribution", [str(contribution.pk)]
    else:
        labels = task_settlement_reverse(task_id=challenge.label_task_id)
        source_type, source_ids = "labeling.label", [str(pk) for pk in labels]
    reversal = reward_reverse(
        dao=dao,
        source_type=source_type,
        source_ids=source_ids,
        reason=reason,
        ordered_by=(SOURCE, str(challenge.pk)),
        beneficiary=challenge.challenger,
        share_bps=dao.challenge_share_bps,
        actor=actor,
    )
    if challenge.contribution_id is not None and contribution.status in (
        Status.ACCEPTED,
        Status.PINNED,
    ):
        contribution_override(
            contribution=contribution,
            actor=actor,  # type: ignore[arg-type]  (None: decided by the replay)
            decision="reject",
            note=reason,
        )
    _return_bond(challenge)
    # The share of a withdrawn reward is minted in its place (budgeted); of withdrawn
    # royalties, consumers' money already paid in (unscaled).
    reward_credit_dispute(
        dataset=challenge.dataset,
        account_id=challenge.challenger_id,
        amount=reversal.withdrawn_minted * dao.challenge_share_bps // BPS,
        reason=CHALLENGE_REWARD,
        challenge_id=challenge.pk,
    )
    reward_credit_dispute(
        dataset=challenge.dataset,
        account_id=challenge.challenger_id,
        amount=(reversal.withdrawn - reversal.withdrawn_minted) * dao.challenge_share_bps // BPS,
        reason=CHALLENGE_SHARE,
        challenge_id=challenge.pk,
    )
    now = timezone.now()
    challenge.status = ChallengeStatus.UPHELD
    challenge.resolution = note
    challenge.resolved_by = actor
    challenge.resolved_at = now
    challenge.updated_at = now
    challenge.withdrawn = Decimal(reversal.withdrawn)
    challenge.clawed_back = Decimal(reversal.clawed)
    challenge.save()
    others = Challenge.objects.select_for_update().filter(status__in=UNRESOLVED)
    if challenge.contribution_id is not None:
        others = others.filter(contribution_id=challenge.contribution_id)
    else:
        others = others.filter(label_task_id=challenge.label_task_id)
    mooted = []
    for other in others.select_related("dataset"):
        _return_bond(other)
        if other.bond_status == BondStatus.DUE:
            other.bond_status = BondStatus.NONE
        other.status = ChallengeStatus.MOOT
        other.resolution = f"Challenge {challenge.pk} of the same work was upheld first."
        other.resolved_at = now
        other.updated_at = now
        other.save()
        mooted.append(other)
    audit_record(
        actor=actor,
        dao=dao,
        verb="challenge.upheld",
        obj=challenge,
        details={
            "target": challenge.target_label,
            "withdrawn": str(reversal.withdrawn),
            "clawed_back": str(reversal.clawed),
            "clawbacks": [c.pk for c in reversal.clawbacks],
            "moot": [other.pk for other in mooted],
            "note": note[:500],
            "by_replay": actor is None,
        },
    )
    _emit_resolved(challenge)
    for other in mooted:  # after the one upheld, which made them moot
        other.dao = dao  # the instance whose subscriptions the caller holds: no query
        _emit_resolved(other)
    return challenge


def _return_bond(challenge: Challenge) -> None:
    if challenge.bond_status != BondStatus.POSTED:
        return
    reward_credit_dispute(
        dataset=challenge.dataset,
        account_id=challenge.challenger_id,
        amount=int(challenge.bond),
        reason=CHALLENGE_BOND,
        challenge_id=challenge.pk,
    )
    challenge.bond_status = BondStatus.RETURNED


def _reject(challenge: Challenge, *, actor: User | None, note: str) -> Challenge:
    now = timezone.now()
    if challenge.bond_status == BondStatus.POSTED:
        challenge.bond_status = BondStatus.FORFEITED
    elif challenge.bond_status == BondStatus.DUE:
        challenge.bond_status = BondStatus.NONE
    challenge.status = ChallengeStatus.REJECTED
    challenge.resolution = note
    challenge.resolved_by = actor
    challenge.resolved_at = now
    challenge.updated_at = now
    challenge.save()
    audit_record(
        actor=actor,
        dao=challenge.dao,
        verb="challenge.rejected",
        obj=challenge,
        details={
            "target": challenge.target_label,
            "bond": challenge.bond_status,
            "note": note[:500],
            "by_replay": actor is None,
        },
    )
    _emit_resolved(challenge)
    return challenge
