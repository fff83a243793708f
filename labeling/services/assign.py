"""Handing out tasks: ``next`` and ``skip``.

Lock order, everywhere in labeling: a hold (``Assignment``) before its task. The candidate
search never waits (``SKIP LOCKED``), so two labelers asking at once can never be handed the
same slot and never deadlock.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from datadao.errors import Detail
from datadao.models import Dataset, User
from labeling import errors
from labeling.conf import Handout, handout_draw, labeling_settings
from labeling.models import Assignment, HoldStatus, LabelTask
from labeling.services import fastpath
from labeling.services.access import labeler_dataset

_random = secrets.SystemRandom()
# Expired holds released per ``next`` call; the periodic sweep catches up on the rest.
RELEASE_BATCH = 100


def hold_seconds() -> int:
    return int(getattr(settings, "LABEL_HOLD_SECONDS", 300))


def holds_release_expired(*, dataset_id: int, limit: int = RELEASE_BATCH) -> int:
    """Give the slots of holds past their TTL back to their tasks. Returns how many.

    A hold never answered goes, so the task may be offered to the labeler again later; one
    answered and then taken back (undo) ends as a skip, the same for every task: a check
    question offered again would be scored again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                WITH expired AS (
                    SELECT id, answered FROM labeling_assignment
                    WHERE dataset_id = %s AND status = 'active' AND expires_at < %s
                    ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED),
                dropped AS (
                    DELETE FROM labeling_assignment
                    WHERE id IN (SELECT id FROM expired WHERE NOT answered)
                    RETURNING task_id),
                abandoned AS (
                    UPDATE labeling_assignment SET status = 'skipped'
                    WHERE id IN (SELECT id FROM expired WHERE answered)
                    RETURNING task_id),
                gone AS (SELECT task_id FROM dropped UNION ALL SELECT task_id FROM abandoned),
                per_task AS (SELECT task_id, count(*) AS n FROM gone GROUP BY task_id),
                _ AS (
                    UPDATE labeling_labeltask t SET reserved = t.reserved - per_task.n
                    FROM per_task WHERE t.id = per_task.task_id)
                SELECT count(*) FROM gone
                """,
                [dataset_id, timezone.now(), limit],
            )
            return int(cursor.fetchone()[0])
    # SQLite (the embedded default): writes are serialized, so plain statements suffice.
    expired = list(
        Assignment.objects.filter(
            dataset_id=dataset_id, status=HoldStatus.ACTIVE, expires_at__lt=timezone.now()
        ).values_list("id", "task_id", "answered")[:limit]
    )
    for hold_id, task_id, answered in expired:
        if answered:
            Assignment.objects.filter(pk=hold_id).update(status=HoldStatus.SKIPPED)
        else:
            Assignment.objects.filter(pk=hold_id).delete()
        LabelTask.objects.filter(pk=task_id).update(reserved=F("reserved") - 1)
    return len(expired)


# ``OFFSET 0`` (the fence) keeps PostgreSQL from rewriting NOT EXISTS as a merge anti join,
# which reads the labeler's assignments from the dataset's first task onwards on every call
# (64 ms and 14k buffers at 1M tasks); as a per-row lookup on ``assignment_once`` it is 0.1 ms.
#
# One rule for both kinds (``{gold}``: ordinary work or check questions): among the first
# ``window`` open tasks of the kind, in id order, with a free slot, that the labeler has not
# seen, the one at a random place (``start``), the next ones after it (then the first ones)
# where it is being claimed, and where all of them are, the first free one after them. A
# check question is therefore shown to no more labelers than an ordinary item, and its
# viewers come at the pace of ordinary work's (``conf.handout_windows``); once settled it is
# complete and leaves the gold pool (``label_task_gold_open``).
_OPEN_TASK = """t.dataset_id = %s AND t.status = 'open' AND {gold} t.is_gold
    AND t.reserved < t.wanted
    AND NOT EXISTS (
        SELECT 1 FROM labeling_assignment a
        WHERE a.task_id = t.id AND a.labeler_id = %s {fence})"""
_WINDOW_SQL = "SELECT t.id FROM labeling_labeltask t WHERE {open_task} ORDER BY {order} LIMIT %s"
# Where every task of the window is being claimed by others: the first free one after them.
_FIRST_SQL = """
SELECT t.* FROM labeling_labeltask t WHERE {open_task}
ORDER BY {order} LIMIT 1 {lock}
"""
_TASK_SQL = """
SELECT t.* FROM labeling_labeltask t
WHERE t.id = %s AND t.status = 'open' AND t.reserved < t.wanted {lock}
"""


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _pick(
    dataset_id: int,
    labeler_id: int,
    *,
    window: int,
    start: int,
    gold: bool = False,
    uncertain: bool = False,
) -> LabelTask | None:
    """``uncertain``: ordinary work by its current consensus, least confident first
    (``fastpath.UNCERTAIN``); check questions always by arrival."""
    open_task = _OPEN_TASK.format(gold="" if gold else "NOT", fence="OFFSET 0" if _pg() else "")
    lock = "FOR UPDATE SKIP LOCKED" if _pg() else ""
    order = fastpath.UNCERTAIN if uncertain and not gold else fastpath.ARRIVAL
    if order == fastpath.UNCERTAIN and not _pg():
        # SQLite sorts NULL first; PostgreSQL (and its index) last.
        order = "t.posterior IS NULL, t.posterior, t.id"
    with connection.cursor() as cursor:
        cursor.execute(
            _WINDOW_SQL.format(open_task=open_task, order=order), [dataset_id, labeler_id, window]
        )
        ids = [row[0] for row in cursor.fetchall()]
    # The whole row, locked: the hold is built on it without reading the task again.
    for task_id in ids[start:] + ids[:start]:
        task = next(iter(LabelTask.objects.raw(_TASK_SQL.format(lock=lock), [task_id])), None)
        if task is not None:
            return task
    if not ids:
        return None
    first = _FIRST_SQL.format(open_task=open_task, lock=lock, order=order)
    return next(iter(LabelTask.objects.raw(first, [dataset_id, labeler_id])), None)


def task_next(*, dataset_id: int, labeler: User) -> Assignment | None:
    """Hold the next task for ``labeler``: one they have not labeled, skipped or held, with a
    free slot. A live hold of theirs is returned again (a reload does not burn a slot).
    Check questions are mixed in at the dataset's gold rate, by the same rule as ordinary
    work (``_NEXT_SQL``); with none left for the labeler, they get ordinary work.
    Returns None when nothing is left for this labeler.

    This is the hottest call of a labeling project. On PostgreSQL the common case (a task,
    ordinary or a check question, for a labeler in good standing) takes one statement
    (``hot``), the same statement either way; everything else, and every refusal, takes the
    general path below.
    """
    draw: Handout | None = None
    if fastpath.enabled() and (known := fastpath.dataset_conf(dataset_id)) is not None:
        draw = handout_draw(known.conf.gold_rate, _random)
        hold = fastpath.next_task(known, dataset_id, labeler, timezone.now(), hold_seconds(), draw)
        if hold is not None:
            return hold
        # A live hold, no free slot, a refusal or a changed schema: the general path says which
        # (with the same draw).
        fastpath.forget(dataset_id)
    return _task_next_general(dataset_id=dataset_id, labeler=labeler, draw=draw)


@transaction.atomic
def _task_next_general(
    *, dataset_id: int, labeler: User, draw: Handout | None
) -> Assignment | None:
    """``task_next`` with every check, in one transaction. ``draw``: the hand-out's random
    choices, when the caller already drew them (None: draw here)."""
    dataset = labeler_dataset(dataset_id, labeler, for_work=True)
    now = timezone.now()
    live = (
        Assignment.objects.filter(
            dataset_id=dataset.pk, labeler=labeler, status=HoldStatus.ACTIVE, expires_at__gt=now
        )
        .select_related("task")
        .order_by("id")
        .first()
    )
    if live is not None:
        return live
    conf = labeling_settings(dataset.schema)
    # Real work first: with none left, a labeler is not kept busy on check questions alone.
    if draw is None:
        draw = handout_draw(conf.gold_rate, _random)
    uncertain = conf.uncertain_first
    task = _pick(dataset.pk, labeler.pk, window=draw.window, start=draw.start, uncertain=uncertain)
    # Slots of expired holds go back before the answer is "nothing left" (the periodic sweep,
    # labeling.tasks.release_expired_holds, returns the rest every minute).
    if task is None and holds_release_expired(dataset_id=dataset.pk):
        task = _pick(
            dataset.pk, labeler.pk, window=draw.window, start=draw.start, uncertain=uncertain
        )
    if task is None:
        return None
    if draw.gold:
        # A drawn check question with none left for the labeler (the gold pool spent) falls
        # back to the ordinary task.
        gold = _pick(
            dataset.pk, labeler.pk, window=draw.gold_window, start=draw.gold_start, gold=True
        )
        task = gold or task
    LabelTask.objects.filter(pk=task.pk).update(reserved=F("reserved") + 1)
    task.reserved += 1
    return Assignment.objects.create(
        dataset=dataset,
        task=task,
        labeler=labeler,
        expires_at=now + timedelta(seconds=hold_seconds()),
    )


def lock_hold(*, dataset: Dataset, labeler: User, hold_id: int) -> Assignment:
    """The labeler's own hold, row-locked; refusals name what is wrong."""
    hold = (
        Assignment.objects.select_for_update()
        .filter(pk=hold_id, dataset_id=dataset.pk, labeler=labeler)
        .first()
    )
    if hold is None:
        raise errors.NotFound(
            Detail(
                "You hold no task %(hold_id)s in this dataset; ask for the next task first.",
                hold_id=hold_id,
            )
        )
    if hold.status == HoldStatus.SUBMITTED:
        raise errors.Conflict(Detail("You already labeled task %(hold_id)s.", hold_id=hold_id))
    if hold.status == HoldStatus.SKIPPED and hold.answered:
        raise errors.Conflict(
            Detail(
                "Your hold on task %(hold_id)s expired after you took your answer back; ask for "
                "the next task.",
                hold_id=hold_id,
            )
        )
    if hold.status == HoldStatus.SKIPPED:
        raise errors.Conflict(
            Detail("You skipped task %(hold_id)s; it cannot be labeled now.", hold_id=hold_id)
        )
    if hold.expires_at <= timezone.now():
        raise errors.Conflict(
            Detail(
                "Your hold on task %(hold_id)s expired after %(hold_seconds)s s; ask for the next "
                "task.",
                hold_id=hold_id,
                hold_seconds=hold_seconds(),
            )
        )
    return hold


@transaction.atomic
def task_skip(*, dataset_id: int, labeler: User, hold_id: int) -> Assignment:
    """Give the slot back; the labeler is never offered this task again."""
    dataset = labeler_dataset(dataset_id, labeler, for_work=False)
    hold = lock_hold(dataset=dataset, labeler=labeler, hold_id=hold_id)
    task = LabelTask.objects.select_for_update().get(pk=hold.task_id)
    hold.status = HoldStatus.SKIPPED
    hold.save(update_fields=["status"])
    # The slot goes back for either kind: a skipped check question is offered to another
    # labeler as an ordinary item is.
    task.reserved -= 1
    task.save(update_fields=["reserved"])
    return hold
