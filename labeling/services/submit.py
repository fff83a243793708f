"""Labels: submit, undo, and the gold bookkeeping and pausing that come with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from datadao.models import User
from datadao.services import audit_record
from labeling import errors
from labeling.conf import (
    GOLD_MIN_FOR_PAUSE,
    UNDO_SECONDS,
    LabelingSettings,
    labeling_settings,
)
from labeling.models import Assignment, HoldStatus, Label, LabelerStats, LabelTask, TaskStatus
from labeling.services import hot
from labeling.services.access import labeler_dataset, labeling_dataset
from labeling.services.assign import hold_seconds, lock_hold

MAX_DURATION_MS = 24 * 3600 * 1000


def parse_value(conf: LabelingSettings, value: Any) -> list[str]:
    """The submitted answer as a list of label names, or a refusal naming the problem."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.BadLabel("'label' must be a label name (or, for multi-choice, a list).")
    if not value and not conf.multi_choice:
        raise errors.BadLabel("Choose one label.")
    if len(value) > 1 and not conf.multi_choice:
        raise errors.BadLabel("This dataset takes exactly one label per item.")
    unknown = [v for v in value if v not in conf.labels]
    if unknown:
        shown = ", ".join(conf.labels[:20]) + (" …" if len(conf.labels) > 20 else "")
        raise errors.BadLabel(
            f"Unknown label {unknown[0][:100]!r}; this dataset's labels are: {shown}."
        )
    if len(set(value)) != len(value):
        raise errors.BadLabel("A label is listed twice.")
    # A canonical order, so equal answers compare equal.
    return sorted(value, key=conf.index)


def _stats_for_update(dataset_id: int, labeler: User) -> LabelerStats:
    """The labeler's stats row, locked (made on their first label)."""
    mine = LabelerStats.objects.select_for_update().filter(dataset_id=dataset_id, labeler=labeler)
    stats = mine.first()
    if stats is None:
        LabelerStats.objects.bulk_create(
            [LabelerStats(dataset_id=dataset_id, labeler=labeler)], ignore_conflicts=True
        )
        stats = mine.get()
    return stats


def _pause_reason(answered: int, correct: int, conf: LabelingSettings) -> str | None:
    """Why a labeler with these check-question counters is paused; None when they are not."""
    if answered < GOLD_MIN_FOR_PAUSE:
        return None
    accuracy = correct / answered
    if accuracy >= conf.gold_floor:
        return None
    return (
        f"your accuracy on check questions is {accuracy:.0%} after {answered} "
        f"answers, under this dataset's floor of {conf.gold_floor:.0%}. "
        "A DAO admin can review and resume you."
    )


def _maybe_pause(stats: LabelerStats, conf: LabelingSettings) -> None:
    reason = _pause_reason(stats.gold_answered, stats.gold_correct, conf)
    if stats.paused_at is None and reason is not None:
        stats.paused_at = timezone.now()
        stats.paused_reason = reason


def _pause_if_due(done: hot.Submitted, conf: LabelingSettings, now: Any) -> None:
    """After a check question answered on the hot path: pause the labeler when their gold
    accuracy fell under the floor (one more statement, only then)."""
    reason = _pause_reason(done.gold_answered, done.gold_correct, conf)
    if reason is not None:
        LabelerStats.objects.filter(pk=done.stats_id, paused_at__isnull=True).update(
            paused_at=now, paused_reason=reason
        )


def label_submit(
    *, dataset_id: int, labeler: User, hold_id: int, value: Any, duration_ms: int = 0
) -> Label:
    """Record the labeler's answer on a task they hold. Refuses (4xx, nothing stored) a
    closed dataset, a paused labeler, a task not held by them, a second answer, an expired
    hold and a label outside the dataset's label set. Queues the task's consensus once it
    has the labels it wants.

    On PostgreSQL an answer by a labeler in good standing takes one statement (``hot``), two
    when a check question pauses them; every refusal takes the general path.
    """
    if hot.enabled() and (known := hot.dataset_conf(dataset_id)) is not None:
        done = _submit_hot(known, dataset_id, labeler, hold_id, value, duration_ms)
        if done is not None:
            return done
        # Not theirs, not live, a refusal or a changed schema: the general path says which.
        hot.forget(dataset_id)
    return _label_submit_general(
        dataset_id=dataset_id,
        labeler=labeler,
        hold_id=hold_id,
        value=value,
        duration_ms=duration_ms,
    )


def _submit_hot(
    known: hot.DatasetConf,
    dataset_id: int,
    labeler: User,
    hold_id: int,
    value: Any,
    duration_ms: int,
) -> Label | None:
    conf = known.conf
    try:
        names = parse_value(conf, value)
    except errors.BadLabel:
        # Judged on the memo, which may be behind the stored label set: the general path,
        # reading afresh, refuses (or accepts) for good.
        return None
    now = timezone.now()
    done = hot.submit(
        known=known,
        dataset_id=dataset_id,
        labeler=labeler,
        hold_id=hold_id,
        names=names,
        choice=_choice(conf, names),
        duration_ms=_clamp_duration(duration_ms),
        now=now,
    )
    if done is None:
        return None
    if done.label.gold_correct is not None and not done.paused:
        _pause_if_due(done, conf, now)
    if done.filled:
        from labeling.services.settle import dispatch_task_consensus

        dispatch_task_consensus(done.label.task_id)
    return done.label


def _choice(conf: LabelingSettings, names: list[str]) -> int | None:
    """A single-choice answer's index in the label set (None for multi-choice)."""
    return None if conf.multi_choice else conf.index(names[0])


def _clamp_duration(duration_ms: int) -> int:
    return max(0, min(int(duration_ms or 0), MAX_DURATION_MS))


@transaction.atomic
def _label_submit_general(
    *, dataset_id: int, labeler: User, hold_id: int, value: Any, duration_ms: int
) -> Label:
    """``label_submit`` with every check, in one transaction."""
    dataset = labeler_dataset(dataset_id, labeler, for_work=True)
    conf = labeling_settings(dataset.schema)
    names = parse_value(conf, value)
    hold = lock_hold(dataset=dataset, labeler=labeler, hold_id=hold_id)
    task = LabelTask.objects.select_for_update().get(pk=hold.task_id)
    gold_correct = None
    if task.is_gold:
        gold_correct = names == parse_value(conf, task.gold)
    label = Label.objects.create(
        dataset=dataset,
        task=task,
        labeler=labeler,
        value=names,
        choice=_choice(conf, names),
        duration_ms=_clamp_duration(duration_ms),
        gold_correct=gold_correct,
    )
    hold.status = HoldStatus.SUBMITTED
    hold.save(update_fields=["status"])
    task.label_count += 1
    task.save(update_fields=["label_count"])
    # An ordinary label only counts: one UPDATE. A check question may pause the labeler, which
    # needs the row's figures, so it locks and reads the row.
    counted = gold_correct is None and LabelerStats.objects.filter(
        dataset_id=dataset.pk, labeler=labeler
    ).update(labels=F("labels") + 1, updated_at=timezone.now())
    if not counted:
        stats = _stats_for_update(dataset.pk, labeler)
        stats.labels += 1
        if gold_correct is not None:
            stats.gold_answered += 1
            stats.gold_correct += int(gold_correct)
            _maybe_pause(stats, conf)
        stats.updated_at = timezone.now()
        stats.save()
    if not task.is_gold and task.label_count >= task.wanted:
        from labeling.services.settle import dispatch_task_consensus

        dispatch_task_consensus(task.pk)
    return label


@transaction.atomic
def label_undo(*, dataset_id: int, labeler: User) -> Assignment:
    """Take back the labeler's last answer if it is under a minute old and its task has not
    reached consensus; the task is held for them again so they can answer anew."""
    dataset = labeler_dataset(dataset_id, labeler, for_work=False)
    mine = Label.objects.filter(dataset=dataset, labeler=labeler)
    label = mine.order_by("-created_at", "-id").first()
    cutoff = timezone.now() - timedelta(seconds=UNDO_SECONDS)
    if label is None or label.created_at < cutoff:
        raise errors.Conflict(
            f"Nothing to undo: only an answer from the last {UNDO_SECONDS} seconds can be undone."
        )
    hold = Assignment.objects.select_for_update().get(task_id=label.task_id, labeler=labeler)
    task = LabelTask.objects.select_for_update().get(pk=label.task_id)
    if task.status == TaskStatus.COMPLETE:
        raise errors.Conflict("That task already reached consensus; its labels are final.")
    stats = _stats_for_update(dataset.pk, labeler)
    stats.labels -= 1
    if label.gold_correct is not None:
        stats.gold_answered -= 1
        stats.gold_correct -= int(label.gold_correct)
    stats.save()
    label.delete()
    task.label_count -= 1
    task.save(update_fields=["label_count"])
    hold.status = HoldStatus.ACTIVE
    hold.expires_at = timezone.now() + timedelta(seconds=hold_seconds())
    hold.save(update_fields=["status", "expires_at"])
    return hold


@transaction.atomic
def labeler_resume(*, dataset_id: int, labeler: User, actor: User) -> LabelerStats:
    """A DAO admin lifts a pause (audited); the gold counters start over."""
    from labeling.services.access import require_manager

    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, actor)
    stats = _stats_for_update(dataset.pk, labeler)
    if stats.paused_at is None:
        raise errors.Conflict(f"{labeler.address} is not paused on this dataset.")
    stats.paused_at = None
    stats.paused_reason = ""
    stats.gold_answered = stats.gold_correct = 0
    stats.save()
    audit_record(actor=actor, dao=dataset.dao, verb="labeler.resumed", obj=stats, details={})
    return stats
