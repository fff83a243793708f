"""Reviews of settled items: a reviewer accepts the settled answer, fixes it, or rejects it
(sends the item back for more labels). One review per settlement of an item
(``review_once_per_settlement``); an accepted or fixed answer is final.

A fix judges the item's labels as a check question would be judged, after the fact: each
labeler's answer is scored against the reviewer's by the schema's rule of check questions
(``answers.gold_correct``; for classification the same label set) and counted by
``submit.score_check``, the rule of check questions. So a labeler the fix overturns loses
reputation exactly as for a failed check question (reported at their next report point, paid
and paused on the reported figure), and one the fix upholds gains as for a passed one.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from datadao.errors import Detail
from datadao.models import User
from datadao.services import audit_record
from labeling import answers, errors
from labeling.conf import LabelingSettings, labeling_settings
from labeling.models import (
    Assignment,
    HoldStatus,
    Label,
    LabelerStats,
    LabelTask,
    Review,
    ReviewDecision,
    TaskStatus,
)
from labeling.services.access import labeling_dataset, require_reviewer
from labeling.services.settle import task_want_more
from labeling.services.submit import parse_value, score_check

# The most labels one rejection asks for: an item sent back is labeled again, not re-crowded.
MAX_MORE = 10


def _lock_for_review(
    *, dataset_id: int, task_id: int, reviewer: User, settlement: int | None
) -> tuple[LabelTask, LabelingSettings]:
    """The settled, unreviewed item, row-locked, once ``reviewer`` may review it; refusals
    name the problem. ``settlement``: the one the reviewer saw (None: the current one)."""
    dataset = labeling_dataset(dataset_id)
    require_reviewer(dataset, reviewer)
    task = (
        LabelTask.objects.select_for_update()
        .filter(pk=task_id, dataset_id=dataset.pk)
        .select_related("dataset__dao")
        .first()
    )
    if task is None:
        raise errors.NotFound(
            Detail("There is no item %(task_id)s in this dataset.", task_id=task_id)
        )
    # A check question is not reviewed, and is refused as an unsettled item is: the answer
    # does not tell a reviewer which items are check questions.
    if task.is_gold or task.status != TaskStatus.COMPLETE:
        raise errors.Conflict(
            Detail(
                "Item %(task_id)s is not awaiting review: only settled items are reviewed.",
                task_id=task_id,
            )
        )
    if settlement is not None and settlement != task.settlements:
        raise errors.Conflict(
            Detail(
                "Item %(task_id)s was labeled again and settled anew since you saw it; reload the "
                "review queue.",
                task_id=task_id,
            )
        )
    if task.review:
        raise errors.Conflict(
            Detail(
                "Item %(task_id)s was already reviewed (%(review)s).",
                task_id=task_id,
                review=task.review,
            )
        )
    if Label.objects.filter(task=task, labeler=reviewer).exists():
        raise errors.NotAllowed(
            Detail(
                "You labeled item %(task_id)s; another reviewer must review it.", task_id=task_id
            )
        )
    return task, labeling_settings(task.dataset.schema)


def _record(
    task: LabelTask, reviewer: User, decision: str, *, answer: Any = None, more: int = 0
) -> Review:
    review = Review.objects.create(
        dataset_id=task.dataset_id,
        task=task,
        settlement=task.settlements,
        reviewer=reviewer,
        decision=decision,
        answer=answer,
        seen_consensus=task.consensus,
        seen_posterior=task.posterior,
        more=more,
    )
    audit_record(
        actor=reviewer,
        dao=task.dataset.dao,
        verb=f"label_task.review_{decision}",
        obj=task,
        details={"settlement": task.settlements, "more": more} if more else {},
    )
    return review


@transaction.atomic
def review_accept(
    *, dataset_id: int, task_id: int, reviewer: User, settlement: int | None = None
) -> Review:
    """Accept a settled item's answer as final: it leaves the review queue, and a
    whole-dataset consensus run leaves it as it is. Reputation does not move: the
    settlement already credited its labels by their agreement."""
    task, _conf = _lock_for_review(
        dataset_id=dataset_id, task_id=task_id, reviewer=reviewer, settlement=settlement
    )
    review = _record(task, reviewer, ReviewDecision.ACCEPT, answer=task.consensus)
    task.review = ReviewDecision.ACCEPT
    task.save(update_fields=["review"])
    return review


def _parse_fix(conf: LabelingSettings, task: LabelTask, value: Any) -> Any:
    if conf.typed:
        return answers.parse_answer(conf, value, task.payload)
    return parse_value(conf, value)


def _agrees(conf: LabelingSettings, value: Any, final: Any) -> bool:
    """Whether a label's answer matches the final one by the rule of check questions."""
    if not conf.typed:
        return parse_value(conf, value) == final
    return answers.gold_correct(conf, value, final)


@transaction.atomic
def review_fix(
    *, dataset_id: int, task_id: int, reviewer: User, answer: Any, settlement: int | None = None
) -> Review:
    """Replace a settled item's answer with the reviewer's (in the task type's answer format,
    checked as a labeler's is): final, with confidence 1. Each labeler of the item is scored
    against it by the rule of check questions (see the module's docstring)."""
    task, conf = _lock_for_review(
        dataset_id=dataset_id, task_id=task_id, reviewer=reviewer, settlement=settlement
    )
    final = _parse_fix(conf, task, answer)
    review = _record(task, reviewer, ReviewDecision.FIX, answer=final)
    verdicts = {
        label.labeler_id: _agrees(conf, label.value, final)
        for label in Label.objects.filter(task=task).only("labeler_id", "value")
    }
    # Locked in labeler order: two fixes sharing labelers take their rows in the same order.
    rows = LabelerStats.objects.select_for_update().filter(
        dataset_id=task.dataset_id, labeler_id__in=list(verdicts)
    )
    now = timezone.now()
    for stats in rows.order_by("labeler_id"):
        score_check(stats, correct=verdicts[stats.labeler_id])
        stats.updated_at = now
        stats.save(
            update_fields=["gold_answered", "gold_correct", "gold_window_correct", "updated_at"]
        )
    review.upheld = sum(verdicts.values())
    review.overturned = len(verdicts) - review.upheld
    review.save(update_fields=["upheld", "overturned"])
    task.consensus = final
    task.posterior = 1.0
    task.review = ReviewDecision.FIX
    task.save(update_fields=["consensus", "posterior", "review"])
    return review


@transaction.atomic
def review_reject(
    *, dataset_id: int, task_id: int, reviewer: User, more: int, settlement: int | None = None
) -> Review:
    """Send a settled item back for ``more`` labels (1 to ``MAX_MORE``): reopened by the
    adaptive-redundancy path (``settle.task_want_more``), it is handed out again and settles
    anew, and that settlement joins the review queue. The reviewer, who has seen its
    labels, is never handed it to label."""
    if not isinstance(more, int) or isinstance(more, bool) or not 1 <= more <= MAX_MORE:
        raise errors.LabelingRefused(
            Detail(
                "'more' must be a whole number of labels from 1 to %(max_more)s.", max_more=MAX_MORE
            )
        )
    task, _conf = _lock_for_review(
        dataset_id=dataset_id, task_id=task_id, reviewer=reviewer, settlement=settlement
    )
    review = _record(task, reviewer, ReviewDecision.REJECT, more=more)
    task_want_more(task, more)
    task.save(update_fields=["wanted", "status"])
    # A finished hold of theirs keeps ``next`` from handing them the item (``assignment_once``).
    Assignment.objects.bulk_create(
        [
            Assignment(
                dataset_id=task.dataset_id,
                task=task,
                labeler=reviewer,
                status=HoldStatus.SKIPPED,
                expires_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    return review
