"""Consensus: per task as its labels arrive (adaptive redundancy, settlement, rewards) and for
the whole dataset on demand (Dawid–Skene or majority vote, reputation, agreement metrics)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from datadao import events
from datadao.dispatch import send, send_on_commit
from datadao.errors import Detail
from datadao.models import Dataset, User
from datadao.queues import MAX_COUNTDOWN_SECONDS
from datadao.services import audit_record
from labeling import prelabel_selectors
from labeling import suggestions as suggestion_rule
from labeling.conf import GOLD_MIN_FOR_REVEAL, LabelingSettings, labeling_settings, undo_seconds
from labeling.consensus import dawid_skene
from labeling.consensus.dataset_run import ChoiceUpdates
from labeling.consensus.typed import aggregate_typed
from labeling.models import (
    ConsensusRun,
    Label,
    LabelerStats,
    LabelTask,
    RunStatus,
    TaskStatus,
)
from labeling.services.access import labeling_dataset, require_manager

logger = logging.getLogger(__name__)
BPS = 10_000
MAX_RUN_ATTEMPTS = 3


def dispatch_task_consensus(task_id: int) -> None:
    """Queue the task's consensus for when its newest label leaves the undo window (a message
    that finds it not yet due changes nothing; the sweeper dispatches it again)."""
    # Capped like every countdown (below the broker's visibility timeout); a window longer
    # than the cap settles at the sweeper's next pass instead.
    countdown = min(MAX_COUNTDOWN_SECONDS, undo_seconds() + 1)
    transaction.on_commit(
        lambda: send("labeling.tasks.update_task_consensus", task_id, countdown=countdown)
    )


def dispatch_run(run_id: int) -> None:
    send_on_commit("labeling.tasks.run_consensus", run_id)


def reputation_bps(stats: LabelerStats | None, suggestions: SuggestionContext | None = None) -> int:
    """Reported gold accuracy once there is enough of it, else the Dawid–Skene estimate, else
    full trust: a newcomer is not paid less for being new. The reported figure, not the
    running one: pay moving with each check answer would point at it.

    With the dataset's pre-label context (``suggestions``), scaled down for taking the model's
    suggestions more often than that accuracy explains (``labeling.suggestions``)."""
    if stats is None:
        return BPS
    if stats.gold_shown_answered >= GOLD_MIN_FOR_REVEAL:
        base = round(BPS * stats.gold_shown_correct / stats.gold_shown_answered)
    elif stats.ds_accuracy is not None:
        base = round(BPS * stats.ds_accuracy)
    else:
        base = BPS
    if suggestions is None:
        return base
    verdict = prelabel_selectors.acceptance_of(stats, suggestions.conf, suggestions.model_accuracy)
    return suggestion_rule.penalized_bps(base, verdict)


@dataclass(frozen=True)
class SuggestionContext:
    """What the blind-acceptance rule needs of a dataset: its settings and the model's
    accuracy (from the latest consensus run; None until measured)."""

    conf: LabelingSettings
    model_accuracy: float | None


def suggestion_context(dataset_id: int, conf: LabelingSettings) -> SuggestionContext | None:
    """The dataset's pre-label context for pay, read from its latest finished run's metrics
    (one query); None when no model accuracy is measured yet."""
    metrics = (
        ConsensusRun.objects.filter(dataset_id=dataset_id, status=RunStatus.DONE)
        .order_by("-finished_at", "-id")
        .values_list("metrics", flat=True)
        .first()
    )
    accuracy = (metrics or {}).get("model_accuracy")
    if not isinstance(accuracy, int | float):
        return None
    return SuggestionContext(conf=conf, model_accuracy=float(accuracy))


def _latest_priors(dataset_id: int, n_classes: int) -> np.ndarray | None:
    metrics = (
        ConsensusRun.objects.filter(dataset_id=dataset_id, status=RunStatus.DONE, method="ds")
        .values_list("metrics", flat=True)
        .first()
    )
    priors = (metrics or {}).get("priors")
    if isinstance(priors, list) and len(priors) == n_classes:
        return np.asarray(priors, dtype=float)
    return None


def _single_posterior(
    conf: LabelingSettings, dataset_id: int, rows: list[tuple[Any, ...]], stats: dict[int, Any]
) -> tuple[np.ndarray, list[float]]:
    n_classes = len(conf.labels)
    known: list[Any] = []
    workers = []
    for _pk, labeler_id, _choice, _value in rows:
        matrix = getattr(stats.get(labeler_id), "confusion", None)
        if isinstance(matrix, list) and len(matrix) == n_classes:
            workers.append(len(known))
            known.append(matrix)
        else:
            workers.append(-1)
    probs = dawid_skene.posterior_for_task(
        np.asarray(workers),
        np.asarray([r[2] for r in rows]),
        confusion=np.asarray(known, dtype=float) if known else None,
        priors=_latest_priors(dataset_id, n_classes),
        n_classes=n_classes,
    )
    return probs, [float(probs[r[2]]) for r in rows]


def _multi_posterior(
    conf: LabelingSettings, rows: list[tuple[Any, ...]]
) -> tuple[np.ndarray, list[float]]:
    chosen = np.array([[name in r[3] for name in conf.labels] for r in rows], dtype=bool)
    share = chosen.mean(axis=0)
    agree = [float(np.mean(np.where(c, share, 1 - share))) for c in chosen]
    return share, agree


# Tasks whose labels give a typed task's consensus its context (``_typed_posterior``).
CONTEXT_TASKS = 50
_CONTEXT_LABELS = 6 * CONTEXT_TASKS


def _typed_context(task: LabelTask, labels: list[Label]) -> list[LabelTask]:
    """Up to ``CONTEXT_TASKS`` other tasks its labelers labelled last, with their labels."""
    recent = (
        Label.objects.filter(
            dataset_id=task.dataset_id, labeler_id__in=[label.labeler_id for label in labels]
        )
        .exclude(task_id=task.pk)
        .order_by("-created_at")
        .values_list("task_id", flat=True)[:_CONTEXT_LABELS]
    )
    ids = list(dict.fromkeys(recent))[:CONTEXT_TASKS]
    if not ids:
        return []
    tasks = {
        t.pk: t for t in LabelTask.objects.filter(pk__in=ids).only("payload", "is_gold", "gold")
    }
    for t in tasks.values():
        t.context_labels = []  # type: ignore[attr-defined]
    for label in Label.objects.filter(task_id__in=ids).only("task_id", "labeler_id", "value"):
        tasks[label.task_id].context_labels.append(label)  # type: ignore[attr-defined]
    return list(tasks.values())


def _typed_posterior(conf: LabelingSettings, task: LabelTask, labels: list[Label]) -> list[float]:
    """The consensus of one task of a type beyond classification: sets the task's consensus
    and confidence, returns each label's probability of being right.

    The type's aggregator runs over this task's labels together with the last tasks its
    labelers labelled (``_typed_context``, gold answers included there): a labeler's skill
    estimated from one task alone would be the task's own agreement read back as confidence.
    The task's own gold answer, if any, is not used: a check question settles like any
    item."""
    context = _typed_context(task, labels)
    workers: dict[int, int] = {}
    rows: list[tuple[int, Label]] = [(0, label) for label in labels]
    gold: dict[int, Any] = {}
    for n, other in enumerate(context, start=1):
        rows += [(n, label) for label in other.context_labels]  # type: ignore[attr-defined]
        if other.is_gold and other.gold is not None:
            gold[n] = other.gold
    worker_col = [workers.setdefault(label.labeler_id, len(workers)) for _, label in rows]
    result = aggregate_typed(
        conf.task_type,
        classes=conf.labels,
        tasks=[n for n, _ in rows],
        workers=worker_col,
        values=[label.value for _, label in rows],
        n_tasks=1 + len(context),
        n_workers=len(workers),
        items=[task.payload, *(other.payload for other in context)],
        gold=gold,
        iou_threshold=conf.iou_threshold,
        overlapping=conf.overlapping,
    )
    task.consensus = result.answers[0]
    task.posterior = float(result.confidence[0])
    return [float(p) for p in result.label_prob[: len(labels)]]


@transaction.atomic
def task_consensus_update(*, task_id: int) -> LabelTask | None:
    """Decide a task that has the labels it wants: settle it (consensus, rewards) when the
    posterior reaches the dataset's confidence target or the max overlap is reached, else
    ask for one more label. Idempotent: a settled task, one still waiting for labels, and
    one with a label still in the undo window (its labeler may yet take it back) are left as
    they are.

    A check question settles by the same rule, from its labels alone (not its known answer):
    its labels get more when they disagree and are credited like any, and once complete it
    leaves the gold pool. So neither how many labelers see it nor what they are paid for it
    tells it from ordinary work."""
    task = LabelTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None or task.status == TaskStatus.COMPLETE:
        return task
    if task.label_count < task.wanted:
        return task
    undo_cutoff = timezone.now() - timedelta(seconds=undo_seconds())
    if task.labels.filter(created_at__gt=undo_cutoff).exists():
        return task
    # With its DAO, in the same query: a settled task is an event the DAO may subscribe to.
    dataset = Dataset.objects.select_related("dao").get(pk=task.dataset_id)
    conf = labeling_settings(dataset.schema)
    # Read once: the rows feed the posterior, the Label objects the reward credits.
    labels = list(task.labels.order_by("pk"))
    for label in labels:
        label.dataset = dataset  # the credit reads it; spare a query per label
    rows = [(label.pk, label.labeler_id, label.choice, label.value) for label in labels]
    stats = {
        s.labeler_id: s
        for s in LabelerStats.objects.filter(
            dataset_id=dataset.pk, labeler_id__in=[r[1] for r in rows]
        )
    }
    if conf.typed:
        agree = _typed_posterior(conf, task, labels)
    elif conf.multi_choice:
        share, agree = _multi_posterior(conf, rows)
        task.consensus = [name for name, p in zip(conf.labels, share, strict=True) if p > 0.5]
        task.posterior = float(np.min(np.maximum(share, 1 - share)))
    else:
        probs, agree = _single_posterior(conf, dataset.pk, rows, stats)
        best = int(np.argmax(probs))
        task.consensus = [conf.labels[best]]
        task.posterior = float(probs[best])
    task.consensus_at = timezone.now()
    if task.posterior >= conf.confidence_target or task.wanted >= conf.max_overlap:
        task.status = TaskStatus.COMPLETE
        # A new settlement, not yet reviewed: it joins the review queue.
        task.settlements += 1
        task.review = ""
        task.save(
            update_fields=[
                "consensus",
                "posterior",
                "consensus_at",
                "status",
                "settlements",
                "review",
            ]
        )
        _settle_rewards(labels, agree, stats, suggestion_context(dataset.pk, conf))
        events.emit(
            dao=dataset.dao,
            event_type=events.EventType.LABELING_ITEM_SETTLED,
            payload={
                "item": {
                    "id": task.pk,
                    "dataset": {"id": dataset.pk, "slug": dataset.slug},
                    "status": str(task.status),
                    "labels": len(labels),
                    "settled_at": task.consensus_at.isoformat().replace("+00:00", "Z"),
                }
            },
        )
    else:
        # Adaptive redundancy: one more label; the slot opens because reserved < wanted.
        task.wanted = F("wanted") + 1
        task.save(update_fields=["consensus", "posterior", "consensus_at", "wanted"])
        task.refresh_from_db(fields=["wanted"])
    return task


def task_want_more(task: LabelTask, more: int) -> None:
    """Ask for ``more`` labels on a task (locked by the caller, saved by them): it is open
    with free slots again, so ``next`` hands it out, and ``task_consensus_update`` decides it
    anew once they are in, by the rule of adaptive redundancy."""
    task.wanted = max(task.reserved, task.label_count + more)
    task.status = TaskStatus.OPEN


def _settle_rewards(
    labels: list[Label],
    agree: list[float],
    stats: dict[int, Any],
    context: SuggestionContext | None,
) -> None:
    from rewards.services import reward_credit_label

    for label, p in zip(labels, agree, strict=True):
        reward_credit_label(
            label=label,
            agreement_bps=round(BPS * p),
            reputation_bps=reputation_bps(stats.get(label.labeler_id), context),
        )


# --- whole-dataset runs ---------------------------------------------------------------------------


@transaction.atomic
def consensus_run_request(
    *, dataset_id: int, actor: User | None, method: str = "ds"
) -> ConsensusRun:
    """Queue a whole-dataset consensus; asking while one is queued or running returns it."""
    dataset = labeling_dataset(dataset_id)
    if actor is not None:
        require_manager(dataset, actor)
    if method not in ("ds", "mv"):
        from labeling import errors

        raise errors.LabelingRefused(
            Detail("Unknown method %(method)s: use 'ds' or 'mv'.", method=repr(method))
        )
    active = (
        ConsensusRun.objects.select_for_update()
        .filter(dataset=dataset, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .first()
    )
    if active is not None:
        return active
    run = ConsensusRun.objects.create(dataset=dataset, method=method, requested_by=actor)
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="consensus.requested",
        obj=run,
        details={"method": method},
    )
    dispatch_run(run.pk)
    return run


@transaction.atomic
def consensus_run_begin(*, run_id: int) -> ConsensusRun | None:
    run = ConsensusRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
        return None
    if run.attempts >= MAX_RUN_ATTEMPTS:
        run.status = RunStatus.FAILED
        run.error = f"gave up after {run.attempts} attempts (the worker kept dying)"
        run.finished_at = timezone.now()
        run.save()
        return None
    run.status = RunStatus.RUNNING
    run.attempts += 1
    run.started_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def consensus_run_finish(*, run_id: int, outcome: Any) -> ConsensusRun | None:
    """Store a computed run (``consensus.dataset_run.RunOutcome``) in one transaction."""
    run = ConsensusRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != RunStatus.RUNNING:
        return None
    now = timezone.now()
    if outcome.choice_updates is not None:
        if connection.vendor == "postgresql":
            _copy_set_consensus(outcome.choice_updates, now)
        else:
            _bulk_set_consensus(outcome.choice_updates.as_list())
    _bulk_set_consensus(outcome.task_updates)
    _store_labeler_stats(run.dataset_id, outcome.labeler_updates, now)
    # The model's accuracy on unassisted answers (never the consensus, which suggestion-takers
    # pull to the model): what pay's blind-acceptance rule reads until the next run.
    conf = labeling_settings(run.dataset.schema)
    measured, model_accuracy = prelabel_selectors.prediction_accuracy(run.dataset_id, conf)
    run.metrics = {**outcome.metrics, "model_measured": measured, "model_accuracy": model_accuracy}
    run.status = RunStatus.DONE
    run.finished_at = now
    run.save()
    return run


def _bulk_set_consensus(updates: list[tuple[int, list[str], float]]) -> None:
    """Store a run's consensus, except on items a reviewer made final (accepted or fixed)."""
    now = timezone.now()
    for start in range(0, len(updates), 2000):
        batch = updates[start : start + 2000]
        # A reversed item (an upheld challenge) keeps no consensus; a reviewed one keeps its
        # final answer.
        untouched = set(
            LabelTask.objects.filter(pk__in=[pk for pk, _, _ in batch])
            .filter(Q(reversed_at__isnull=False) | ~Q(review=""))
            .values_list("pk", flat=True)
        )
        objs = [
            LabelTask(pk=pk, consensus=value, posterior=posterior, consensus_at=now)
            for pk, value, posterior in batch
            if pk not in untouched
        ]
        LabelTask.objects.bulk_update(objs, ["consensus", "posterior", "consensus_at"])


# One row of ``COPY ... (FORMAT binary)`` of (task id, label index, posterior).
_CONSENSUS_ROW = np.dtype(
    [("n", ">i2"), ("l1", ">i4"), ("task", ">i8"), ("l2", ">i4"), ("choice", ">i4"),
     ("l3", ">i4"), ("posterior", ">f8")]
)  # fmt: skip


def _copy_set_consensus(updates: ChoiceUpdates, now: Any) -> None:
    """``_bulk_set_consensus`` for a single-choice run on PostgreSQL: the arrays go to a
    temporary table by one binary COPY, then one UPDATE stores what changed (the same rule:
    reversed and reviewed items untouched). An item whose consensus and posterior are what
    they were keeps its ``consensus_at``, so a re-run does not restart its challenge window."""
    rows = np.zeros(len(updates.task_ids), dtype=_CONSENSUS_ROW)
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 8, 4, 8
    rows["task"] = updates.task_ids
    rows["choice"] = updates.choices
    rows["posterior"] = updates.posteriors
    stream = b"PGCOPY\n\xff\r\n\x00" + bytes(8) + rows.tobytes() + b"\xff\xff"
    answers = [json.dumps([name]) for name in updates.classes]
    table = LabelTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE run_consensus (task bigint, choice int, posterior float8) "
            "ON COMMIT DROP"
        )
        raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
        with raw.copy("COPY run_consensus FROM STDIN (FORMAT binary)") as copy:
            for start in range(0, len(stream), 1 << 20):
                copy.write(stream[start : start + (1 << 20)])
        cursor.execute(
            f"UPDATE {table} AS t SET consensus = (%s::jsonb[])[r.choice + 1], "  # noqa: S608 (our table)
            "posterior = r.posterior, consensus_at = %s FROM run_consensus AS r "
            "WHERE t.id = r.task AND t.reversed_at IS NULL AND t.review = '' "
            "AND (t.consensus IS DISTINCT FROM (%s::jsonb[])[r.choice + 1] "
            "OR t.posterior IS DISTINCT FROM r.posterior)",
            [answers, now, answers],
        )
        cursor.execute("DROP TABLE run_consensus")


def _store_labeler_stats(dataset_id: int, updates: dict[int, dict[str, Any]], now: Any) -> None:
    """Each labeler's run figures: one upsert for all when every labeler has the same fields."""
    if not updates:
        return
    names = {frozenset(fields) for fields in updates.values()}
    if len(names) == 1:
        fields = sorted(next(iter(names)))
        LabelerStats.objects.bulk_create(
            [
                LabelerStats(dataset_id=dataset_id, labeler_id=labeler, updated_at=now, **values)
                for labeler, values in updates.items()
            ],
            update_conflicts=True,
            unique_fields=["dataset", "labeler"],
            update_fields=[*fields, "updated_at"],
            batch_size=2000,
        )
        return
    for labeler_id, values in updates.items():
        LabelerStats.objects.update_or_create(
            dataset_id=dataset_id, labeler_id=labeler_id, defaults={**values, "updated_at": now}
        )


@transaction.atomic
def consensus_run_fail(*, run_id: int, error: str) -> None:
    ConsensusRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )
