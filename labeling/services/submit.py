"""Labels: submit, undo, and the gold bookkeeping and pausing that come with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from datadao.errors import Detail
from datadao.models import User
from datadao.services import audit_record
from labeling import answers, errors, suggestion_draw
from labeling.conf import (
    GOLD_MIN_FOR_PAUSE,
    GOLD_REPORT_EVERY,
    GOLD_WINDOW,
    LabelingSettings,
    labeling_settings,
    undo_seconds,
)
from labeling.models import Assignment, HoldStatus, Label, LabelerStats, LabelTask, TaskStatus
from labeling.services import fastpath
from labeling.services.access import labeler_dataset, labeling_dataset
from labeling.services.assign import hold_seconds, lock_hold

MAX_DURATION_MS = 24 * 3600 * 1000


def parse_value(conf: LabelingSettings, value: Any) -> list[str]:
    """The submitted answer as a list of label names, or a refusal naming the problem."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.BadLabel(
            Detail("'label' must be a label name (or, for multi-choice, a list).")
        )
    if not value and not conf.multi_choice:
        raise errors.BadLabel(Detail("Choose one label."))
    if len(value) > 1 and not conf.multi_choice:
        raise errors.BadLabel(Detail("This dataset takes exactly one label per item."))
    unknown = [v for v in value if v not in conf.labels]
    if unknown:
        shown = ", ".join(conf.labels[:20]) + (" …" if len(conf.labels) > 20 else "")
        raise errors.BadLabel(
            Detail(
                "Unknown label %(unknown)s; this dataset's labels are: %(shown)s.",
                unknown=repr(unknown[0][:100]),
                shown=shown,
            )
        )
    if len(set(value)) != len(value):
        raise errors.BadLabel(Detail("A label is listed twice."))
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
    """Why a labeler with these reported check-question figures is paused; None when not."""
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


def score_check(stats: LabelerStats, *, correct: bool) -> None:
    """Score one answer against a known answer: the rule of check questions (and of answers a
    reviewer's fix judges, ``review.review_fix``). It moves the internal counters only,
    closing a window every ``GOLD_WINDOW``; the labeler, their pay and their pause see it at
    their next report point (``record_answer``)."""
    stats.gold_answered += 1
    stats.gold_correct += int(correct)
    if stats.gold_answered % GOLD_WINDOW == 0:
        stats.gold_window_correct = stats.gold_correct


def record_answer(stats: LabelerStats, *, scored: bool, correct: bool) -> bool:
    """Count one answer in ``stats`` (the hot statement's ``stats`` upsert does the same in
    SQL): a scored check answer moves the internal counters, closing a window every
    ``GOLD_WINDOW``; every ``GOLD_REPORT_EVERY`` answers of any kind the completed windows
    are reported. Returns whether this answer was a report point."""
    stats.labels += 1
    stats.answers += 1
    if scored:
        score_check(stats, correct=correct)
    if stats.answers % GOLD_REPORT_EVERY:
        return False
    stats.gold_shown_answered = stats.gold_answered // GOLD_WINDOW * GOLD_WINDOW
    stats.gold_shown_correct = stats.gold_window_correct
    return True


def _pause_at_report(stats: LabelerStats, conf: LabelingSettings) -> None:
    reason = _pause_reason(stats.gold_shown_answered, stats.gold_shown_correct, conf)
    if stats.paused_at is None and reason is not None:
        stats.paused_at = timezone.now()
        stats.paused_reason = reason


def _pause_if_due(done: fastpath.Submitted, conf: LabelingSettings, now: Any) -> None:
    """At a report point on the hot path: pause the labeler when their reported gold
    accuracy is under the floor (one more statement, only then)."""
    reason = _pause_reason(done.gold_shown_answered, done.gold_shown_correct, conf)
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

    Nothing in what the labeler gets back, or in when, tells a check question from ordinary
    work: a check question is scored on the first answer given on its hold and reported only
    in aggregate (``labeling.conf``), and every answer queues the same settle message.

    On PostgreSQL an answer by a labeler in good standing takes one statement (``hot``), two
    at a report point that pauses them; every refusal takes the general path.
    """
    if fastpath.enabled() and (known := fastpath.dataset_conf(dataset_id)) is not None:
        hot = _submit_hot_typed if known.conf.typed else _submit_hot
        done = hot(known, dataset_id, labeler, hold_id, value, duration_ms)
        if done is not None:
            return done
        # Not theirs, not live, a refusal or a changed schema: the general path says which.
        fastpath.forget(dataset_id)
    return _label_submit_general(
        dataset_id=dataset_id,
        labeler=labeler,
        hold_id=hold_id,
        value=value,
        duration_ms=duration_ms,
    )


def _submit_hot(
    known: fastpath.DatasetConf,
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
    done = fastpath.submit(
        known=known,
        dataset_id=dataset_id,
        labeler=labeler,
        hold_id=hold_id,
        names=names,
        choice=_choice(conf, names),
        duration_ms=_clamp_duration(duration_ms),
        now=now,
        shown=suggestion_draw.hold_shows(hold_id=hold_id, conf=conf),
    )
    if done is None:
        return None
    if done.answers % GOLD_REPORT_EVERY == 0 and not done.paused:
        _pause_if_due(done, conf, now)
    _dispatch_settle(done.label.task_id)
    return done.label


def _submit_hot_typed(
    known: fastpath.DatasetConf,
    dataset_id: int,
    labeler: User,
    hold_id: int,
    value: Any,
    duration_ms: int,
) -> Label | None:
    """The hot path of the task types beyond classification, in classification's one
    statement: the answer parsed here without its item, the statement checking that it fits
    the item (a box inside its image, a span inside its text) and judging it against a check
    question's gold answer, on the locked task."""
    conf = known.conf
    try:
        answer = answers.parse_answer(conf, value, None)
    except errors.BadLabel:
        # Judged on the memo, which may be behind the stored schema: the general path,
        # reading afresh, refuses (or accepts) for good.
        return None
    now = timezone.now()
    done = fastpath.submit(
        known=known,
        dataset_id=dataset_id,
        labeler=labeler,
        hold_id=hold_id,
        names=answer,
        choice=answers.answer_choice(conf, answer),
        duration_ms=_clamp_duration(duration_ms),
        now=now,
        shown=suggestion_draw.hold_shows(hold_id=hold_id, conf=conf),
    )
    if done is None:
        return None
    if done.answers % GOLD_REPORT_EVERY == 0 and not done.paused:
        _pause_if_due(done, conf, now)
    _dispatch_settle(done.label.task_id)
    return done.label


def _judge(conf: LabelingSettings, answer: Any, gold: Any) -> bool | None:
    """Whether a typed answer matches the check question's gold answer (None: no check
    question). Ordinary work is judged too, against the answer itself, so answering a check
    question takes the server no longer than answering anything else (the hot statement does
    the same in SQL)."""
    verdict = answers.gold_correct(conf, answer, answer if gold is None else gold)
    return None if gold is None else verdict


def _dispatch_settle(task_id: int) -> None:
    """Queue the task's consensus after any answer, to any task: the settle service decides
    whether it is due (by one rule for both kinds). Queued only when due, the publish would
    mark the answer that filled an ordinary task by the time it takes."""
    from labeling.services.settle import dispatch_task_consensus

    dispatch_task_consensus(task_id)


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
    if not conf.typed:
        names = parse_value(conf, value)
    hold = lock_hold(dataset=dataset, labeler=labeler, hold_id=hold_id)
    task = LabelTask.objects.select_for_update().get(pk=hold.task_id)
    if conf.typed:
        # A typed answer is checked against its item (the image's size, the text's length).
        names = answers.parse_answer(conf, value, task.payload)
        verdict = _judge(conf, names, task.gold if task.is_gold else None)
        choice = answers.answer_choice(conf, names)
    else:
        verdict = names == parse_value(conf, task.gold) if task.is_gold else None
        choice = _choice(conf, names)
    # The first answer on the hold is scored; one given again after an undo is stored (it is
    # the labeler's answer now) but not scored again.
    scored = task.is_gold and not hold.answered
    suggested = suggestion_draw.suggestion_taken(
        hold_id=hold.pk, conf=conf, task=task, answer=names
    )
    label = Label.objects.create(
        dataset=dataset,
        task=task,
        labeler=labeler,
        value=names,
        choice=choice,
        duration_ms=_clamp_duration(duration_ms),
        gold_correct=verdict,
        suggested=suggested,
    )
    hold.status = HoldStatus.SUBMITTED
    hold.answered = True
    if scored:
        hold.gold_correct = verdict
    hold.save(update_fields=["status", "answered", "gold_correct"])
    task.label_count += 1
    task.save(update_fields=["label_count"])
    # The same reads and writes for every answer, a check question or not.
    stats = _stats_for_update(dataset.pk, labeler)
    if record_answer(stats, scored=scored, correct=bool(verdict)):
        _pause_at_report(stats, conf)
    if suggested is not None:
        stats.suggestions_shown += 1
        stats.suggestions_taken += int(suggested)
    stats.updated_at = timezone.now()
    stats.save()
    _dispatch_settle(task.pk)
    return label


@transaction.atomic
def label_undo(*, dataset_id: int, labeler: User) -> Assignment:
    """Take back the labeler's last answer if it is younger than the undo window (a minute);
    the task is held for them again so they can answer anew.

    The same for every item as the labeler sees it: a task does not settle while a label of
    it is in the undo window (``settle``), and the stats change alike (one label fewer). A
    check question's score stays as its first answer made it (``label_submit``)."""
    dataset = labeler_dataset(dataset_id, labeler, for_work=False)
    mine = Label.objects.filter(dataset=dataset, labeler=labeler)
    label = mine.order_by("-created_at", "-id").first()
    window = undo_seconds()
    cutoff = timezone.now() - timedelta(seconds=window)
    if label is None or label.created_at < cutoff:
        raise errors.Conflict(
            Detail(
                "Nothing to undo: only an answer from the last %(window)s seconds can be undone.",
                window=window,
            )
        )
    hold = Assignment.objects.select_for_update().get(task_id=label.task_id, labeler=labeler)
    task = LabelTask.objects.select_for_update().get(pk=label.task_id)
    if task.status == TaskStatus.COMPLETE:
        raise errors.Conflict(Detail("That task already reached consensus; its labels are final."))
    stats = _stats_for_update(dataset.pk, labeler)
    stats.labels -= 1
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
        raise errors.Conflict(
            Detail("%(address)s is not paused on this dataset.", address=labeler.address)
        )
    stats.paused_at = None
    stats.paused_reason = ""
    stats.gold_answered = stats.gold_correct = stats.gold_window_correct = 0
    stats.gold_shown_answered = stats.gold_shown_correct = 0
    stats.save()
    audit_record(actor=actor, dao=dataset.dao, verb="labeler.resumed", obj=stats, details={})
    return stats
