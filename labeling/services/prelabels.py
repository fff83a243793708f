"""Pre-labels: storing imported model predictions on their items. Which hold shows one is
``labeling.suggestion_draw``; how blind acceptance is judged, ``labeling.suggestions``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling import answers, errors
from labeling.conf import LabelingSettings, labeling_settings
from labeling.models import LabelImport, LabelTask
from labeling.prelabel_import import ImportedPrediction
from labeling.services.submit import parse_value


def parse_prediction(conf: LabelingSettings, value: Any, payload: dict[str, Any]) -> Any:
    """A prediction in the stored answer shape, checked against its item like a labeler's
    answer (so it can be compared with one); a ``BadLabel`` naming the problem otherwise."""
    if conf.typed:
        return answers.parse_answer(conf, value, payload)
    return parse_value(conf, value)


def predictions_store(
    conf: LabelingSettings,
    found: list[tuple[LabelTask, ImportedPrediction]],
    bad: list[str],
    *,
    where: Callable[[ImportedPrediction], str],
) -> dict[int, LabelTask]:
    """Parse each prediction against its item and store the good ones (a later one for the
    same item wins); a bad one is added to ``bad``, named by ``where``, and not stored. The
    one writer of pre-labels, for imports and model servers alike. Returns the items
    changed."""
    changed: dict[int, LabelTask] = {}
    for task, p in found:
        try:
            value = parse_prediction(conf, p.prediction, task.payload)
        except errors.LabelingRefused as exc:
            bad.append(f"{where(p)}: prediction: {exc.message}")
            continue
        task.prediction = value
        task.prediction_model = p.model_version
        task.prediction_score = p.score
        changed[task.pk] = task
    LabelTask.objects.bulk_update(
        list(changed.values()),
        ["prediction", "prediction_model", "prediction_score"],
        batch_size=1000,
    )
    return changed


@transaction.atomic
def prediction_import_batch(
    *, import_id: int, predictions: list[ImportedPrediction], bad: list[str], done_bytes: int
) -> None:
    """Store one batch of parsed pre-labels on their items, and the progress, in one
    transaction. A line naming no item of the dataset, or whose prediction does not fit its
    item, is refused by line number; a re-import replaces an item's pre-label (so a retried
    batch writes the same values again)."""
    job = LabelImport.objects.select_for_update().select_related("dataset").get(pk=import_id)
    conf = labeling_settings(job.dataset.schema)
    rows = len(predictions) + len(bad)
    mine = LabelTask.objects.filter(dataset_id=job.dataset_id)
    ids = [p.task_id for p in predictions if p.task_id is not None]
    keys = [p.key for p in predictions if p.key]
    by_id = {t.pk: t for t in mine.filter(pk__in=ids).only("id", "payload")} if ids else {}
    keyed = mine.filter(source_key__in=keys).only("id", "payload", "source_key") if keys else []
    by_key = {t.source_key: t for t in keyed}
    found: list[tuple[LabelTask, ImportedPrediction]] = []
    for p in predictions:
        task = by_id.get(p.task_id) if p.task_id is not None else by_key.get(p.key)
        if task is None:
            named = f"id {p.task_id}" if p.task_id is not None else f"external_id {p.key[3:]!r}"
            bad.append(f"line {p.line}: no item with {named} in this dataset")
            continue
        found.append((task, p))
    changed = predictions_store(conf, found, bad, where=lambda p: f"line {p.line}")
    job.rows_done += rows
    job.rows_created += len(changed)
    job.rows_failed += len(bad)
    job.errors = (job.errors + bad)[:50]
    job.done_bytes = done_bytes
    job.updated_at = timezone.now()
    job.save()
