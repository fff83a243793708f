"""Reads of the labeling app: progress, dataset summaries, serializers of runs and imports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from contributions.selectors import dataset_visible_to
from datadao.models import Dataset, User
from labeling.conf import GOLD_POOL_LOW
from labeling.models import (
    ConsensusRun,
    Label,
    LabelerStats,
    LabelImport,
    LabelTask,
    Review,
    RunStatus,
    TaskStatus,
)


def may_view(dataset: Dataset, user: User | None) -> bool:
    return dataset_visible_to(user, dataset)


def may_read_item_pin(user: User, dataset_id: str) -> bool:
    dataset = Dataset.objects.filter(pk=int(dataset_id)).first() if dataset_id.isdigit() else None
    user = user if getattr(user, "is_authenticated", False) else None
    return dataset is not None and dataset_visible_to(user, dataset)


# Today's labels and the labeler's counters in one round trip: every ``next`` and submit
# answer carries this.
_PROGRESS_SQL = """
SELECT
  (SELECT count(*) FROM labeling_label
   WHERE labeler_id = %s AND dataset_id = %s AND created_at >= %s),
  s.labels, s.gold_shown_answered, s.gold_shown_correct, s.paused_at, s.paused_reason
FROM (SELECT 1) AS one
LEFT JOIN labeling_labelerstats s ON s.dataset_id = %s AND s.labeler_id = %s
"""


def labeler_progress(*, dataset_id: int, labeler: User) -> dict[str, Any]:
    """What a labeler may know about their own work: nothing here moves with a single check
    answer. Gold accuracy is the reported figure (completed windows of ``GOLD_WINDOW``
    answers, as of the last report point, see ``labeling.conf``), None before the first."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_SQL, [labeler.pk, dataset_id, midnight, dataset_id, labeler.pk])
        today, labels, answered, correct, paused_at, reason = cursor.fetchone()
    revealed = bool(answered)
    return {
        "done_today": today,
        "done_total": labels or 0,
        "gold_accuracy": correct / answered if revealed else None,
        "gold_answered": answered if revealed else None,
        "paused": paused_at is not None,
        "paused_reason": reason if paused_at is not None else "",
    }


def task_counts(dataset_id: int) -> dict[str, int]:
    counts = LabelTask.objects.filter(dataset_id=dataset_id).aggregate(
        total=Count("id", filter=Q(is_gold=False)),
        complete=Count("id", filter=Q(is_gold=False, status="complete")),
        gold=Count("id", filter=Q(is_gold=True)),
    )
    counts["open"] = counts["total"] - counts["complete"]
    counts["labels"] = Label.objects.filter(dataset_id=dataset_id).count()
    return counts


@dataclass(frozen=True)
class GoldPool:
    """How much of a labeling dataset's gold pool is left (for DAO admins only: a labeler who
    knew the pool was spent would know nothing is checked)."""

    dataset_id: int
    gold_rate: float
    open: int  # check questions still servable (open, not yet retired)
    slots: int  # holds they can still take
    needed: int  # holds of check questions the open ordinary work will draw at the gold rate

    @property
    def low(self) -> bool:
        return self.gold_rate > 0 and (self.open < GOLD_POOL_LOW or self.slots < self.needed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "slots": self.slots,
            "needed": self.needed,
            "low": self.low,
        }


def gold_pools(schemas: dict[int, dict[str, Any]]) -> dict[int, GoldPool]:
    """The gold pool of each labeling dataset (id -> schema), in one query over open tasks."""
    from labeling.conf import labeling_settings

    if not schemas:
        return {}
    rows = {
        row["dataset_id"]: row
        for row in LabelTask.objects.filter(dataset_id__in=list(schemas), status="open")
        .values("dataset_id")
        .annotate(
            gold_open=Count("id", filter=Q(is_gold=True)),
            gold_slots=Sum(F("wanted") - F("reserved"), filter=Q(is_gold=True)),
            work_left=Sum(F("wanted") - F("label_count"), filter=Q(is_gold=False)),
        )
        .order_by()
    }
    pools = {}
    for dataset_id, schema in schemas.items():
        row = rows.get(dataset_id, {})
        rate = labeling_settings(schema).gold_rate
        work = max(0, int(row.get("work_left") or 0))
        # A hand-out is a check question with probability ``rate``: per ordinary label,
        # rate / (1 - rate) check questions.
        needed = math.ceil(work * rate / (1 - rate)) if 0 < rate < 1 else 0
        pools[dataset_id] = GoldPool(
            dataset_id=dataset_id,
            gold_rate=rate,
            open=int(row.get("gold_open") or 0),
            slots=max(0, int(row.get("gold_slots") or 0)),
            needed=needed,
        )
    return pools


def latest_run(dataset_id: int) -> ConsensusRun | None:
    return ConsensusRun.objects.filter(dataset_id=dataset_id).order_by("-created_at", "-id").first()


def latest_done_run(dataset_id: int) -> ConsensusRun | None:
    return (
        ConsensusRun.objects.filter(dataset_id=dataset_id, status=RunStatus.DONE)
        .order_by("-finished_at", "-id")
        .first()
    )


def serialize_run(run: ConsensusRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    metrics = {k: v for k, v in run.metrics.items() if k != "priors"}
    return {
        "id": run.pk,
        "method": run.method,
        "status": run.status,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "metrics": metrics,
        "error": run.error or None,
    }


def dataset_summary(dataset: Dataset, *, manager: bool = False) -> dict[str, Any]:
    """Counts and the latest runs; for a DAO admin (``manager``) also the gold pool."""
    summary = {
        "dataset": dataset.pk,
        "tasks": task_counts(dataset.pk),
        "latest_run": serialize_run(latest_run(dataset.pk)),
        "latest_done_run": serialize_run(latest_done_run(dataset.pk)),
    }
    if manager:
        summary["gold_pool"] = gold_pools({dataset.pk: dataset.schema})[dataset.pk].as_dict()
    return summary


def serialize_import(job: LabelImport) -> dict[str, Any]:
    return {
        "id": job.pk,
        "dataset": job.dataset_id,
        "status": job.status,
        "file_name": job.file_name,
        "format": job.format,
        "kind": job.kind,
        "progress": round(job.progress, 4),
        "rows_done": job.rows_done,
        "rows_created": job.rows_created,
        "rows_failed": job.rows_failed,
        "errors": job.errors,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def labeler_table(dataset_id: int, limit: int = 50) -> list[LabelerStats]:
    return list(
        LabelerStats.objects.filter(dataset_id=dataset_id)
        .select_related("labeler")
        .order_by("-labels")[:limit]
    )


def page_summary(dataset: Dataset) -> dict[str, Any]:
    """What the dataset page shows of a labeling dataset: settings in plain words, task
    counts, and the latest finished consensus with its agreement metrics."""
    from labeling import prelabel_selectors
    from labeling.conf import labeling_settings

    conf = labeling_settings(dataset.schema)
    run = latest_done_run(dataset.pk)
    metrics = dict(run.metrics) if run else {}
    confusion = metrics.get("gold_confusion")
    rows = []
    if isinstance(confusion, list) and len(confusion) == len(conf.labels):
        for name, row in zip(conf.labels, confusion, strict=True):
            total = sum(row)
            rows.append(
                {
                    "label": name,
                    "cells": row,
                    "total": total,
                    "recall": row[conf.labels.index(name)] / total if total else None,
                }
            )
    return {
        "conf": conf,
        "counts": task_counts(dataset.pk),
        "run": run,
        "metrics": metrics,
        "gold_rows": rows,
        "labelers": LabelerStats.objects.filter(dataset=dataset).count(),
        "typed": type_metrics(dataset.pk, conf.task_type, metrics) if conf.typed else None,
        "prelabels": prelabel_selectors.page_figures(dataset.pk, metrics),
    }


TASK_TYPE_NAMES = {
    "classification": "Classification",
    "boxes": "Bounding boxes",
    "spans": "Text spans",
    "pairwise": "Pairwise comparison",
    "text": "Transcription",
}


def type_metrics(dataset_id: int, task_type: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """What the dataset page shows of a task type beyond classification: settled items and
    their mean confidence, the answers' size (boxes or spans per settled item), and from the
    latest run the mean probability that a label is right and, for pairwise, the best
    candidates."""
    from django.db.models import Avg

    settled = LabelTask.objects.filter(
        dataset_id=dataset_id, is_gold=False, status=TaskStatus.COMPLETE
    )
    summary = settled.aggregate(n=Count("id"), confidence=Avg("posterior"))
    out: dict[str, Any] = {
        "name": TASK_TYPE_NAMES.get(task_type, task_type),
        "settled": summary["n"],
        "mean_confidence": summary["confidence"],
        "mean_label_prob": metrics.get("mean_label_prob"),
        "run_confidence": metrics.get("mean_confidence"),
        "candidates": (metrics.get("candidates") or [])[:10],
        "n_candidates": metrics.get("n_candidates"),
    }
    if task_type in ("boxes", "spans") and summary["n"]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT avg(jsonb_array_length(consensus)) FROM labeling_labeltask "
                "WHERE dataset_id = %s AND NOT is_gold AND status = 'complete' "
                "AND jsonb_typeof(consensus) = 'array'",
                [dataset_id],
            )
            out["per_item"] = cursor.fetchone()[0]
    return out


def card_fill_items(datasets: list[Any]) -> None:
    """Each listed dataset's items to label (``items``, check questions left out) and how many
    are settled (``settled``), for its card on the DAO's page (``datadao.cards``)."""
    ids = [dataset.pk for dataset in datasets]
    items = {
        row["dataset_id"]: row
        for row in LabelTask.objects.filter(dataset_id__in=ids, is_gold=False)
        .values("dataset_id")
        .annotate(total=Count("id"), settled=Count("id", filter=Q(status=TaskStatus.COMPLETE)))
    }
    for dataset in datasets:
        row = items.get(dataset.pk, {})
        dataset.items = row.get("total", 0)
        dataset.settled = row.get("settled", 0)


# --- the review queue -------------------------------------------------------------------------

REVIEW_PAGE = 20
REVIEW_PAGE_MAX = 100


@dataclass(frozen=True)
class ReviewPage:
    """One page of a review queue: items with their labels' answers (no labeler named), and
    the cursor of the next page (None at the end)."""

    items: list[LabelTask]
    answers: dict[int, list[Any]]
    cursor: str | None


def parse_review_cursor(text: str | None) -> tuple[float, int] | None:
    """``"<posterior>:<id>"`` (from a page's ``next``) as a key, None for the first page;
    ValueError for anything else."""
    if not text:
        return None
    posterior, _, task_id = text.partition(":")
    key = (float(posterior), int(task_id))
    if not math.isfinite(key[0]):
        raise ValueError(text)
    return key


def review_queue(
    *, dataset_id: int, reviewer: User, after: tuple[float, int] | None, limit: int = REVIEW_PAGE
) -> ReviewPage:
    """Settled, unreviewed items (check questions left out), least confident first, by
    keyset from ``after`` (posterior, id): a walk of ``label_task_review_queue``, however
    long the queue. Items the reviewer labeled are left out (another reviewer reviews them)."""
    limit = max(1, min(limit, REVIEW_PAGE_MAX))
    queue = LabelTask.objects.filter(
        dataset_id=dataset_id, status=TaskStatus.COMPLETE, is_gold=False, review=""
    ).exclude(Exists(Label.objects.filter(task_id=OuterRef("pk"), labeler_id=reviewer.pk)))
    if after is not None:
        posterior, task_id = after
        queue = queue.filter(Q(posterior__gt=posterior) | Q(posterior=posterior, pk__gt=task_id))
    items = list(queue.order_by("posterior", "id")[: limit + 1])
    more, items = len(items) > limit, items[:limit]
    answers: dict[int, list[Any]] = {item.pk: [] for item in items}
    for task_id, value in (
        Label.objects.filter(task_id__in=list(answers))
        .order_by("task_id", "id")
        .values_list("task_id", "value")
    ):
        answers[task_id].append(value)
    cursor = f"{items[-1].posterior!r}:{items[-1].pk}" if more else None
    return ReviewPage(items=items, answers=answers, cursor=cursor)


def serialize_review(review: Review) -> dict[str, Any]:
    return {
        "id": review.pk,
        "item": review.task_id,
        "settlement": review.settlement,
        "decision": review.decision,
        "answer": review.answer,
        "more": review.more or None,
        "overturned": review.overturned,
        "upheld": review.upheld,
        "reviewer": review.reviewer.address,
        "at": review.created_at.isoformat(),
    }
