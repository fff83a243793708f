"""Reads about pre-labels: how often the model is right, how often labelers take its
suggestions, and who takes more than their accuracy explains (``labeling.suggestions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Sum

from labeling import answers, suggestions
from labeling.conf import LabelingSettings
from labeling.models import Label, LabelerStats, LabelTask

# The model's accuracy is measured on the latest unassisted answers on items with a
# pre-label, at most this many labels and this many check questions: enough for a rate,
# bounded however large the dataset.
ACCURACY_SAMPLE = 5000


def _matches(conf: LabelingSettings, prediction: Any, answer: Any) -> bool:
    try:
        return answers.gold_correct(conf, prediction, answer)
    except (KeyError, TypeError, ValueError):
        return False  # an answer of another shape (the label set changed since)


def prediction_accuracy(dataset_id: int, conf: LabelingSettings) -> tuple[int, float | None]:
    """(answers measured on, the model's accuracy; None while they say too little).

    Measured on answers given without a suggestion only (``suggestions.model_accuracy``):
    check questions' known answers, and labels whose hold showed no pre-label (the dataset's
    no-suggestion share, or given before the item had one), each weighted by its labeler's
    accuracy. Never on the consensus: labelers taking suggestions pull it to the model."""
    checks = list(
        LabelTask.objects.filter(
            dataset_id=dataset_id, is_gold=True, prediction__isnull=False, gold__isnull=False
        )
        .order_by("-id")
        .values_list("prediction", "gold")[:ACCURACY_SAMPLE]
    )
    labels = list(
        Label.objects.filter(
            dataset_id=dataset_id,
            suggested__isnull=True,
            task__is_gold=False,
            task__prediction__isnull=False,
        )
        .order_by("-id")
        .values_list("labeler_id", "value", "task__prediction")[:ACCURACY_SAMPLE]
    )
    stats = LabelerStats.objects.filter(
        dataset_id=dataset_id, labeler_id__in={labeler for labeler, _, _ in labels}
    )
    accuracy = {s.labeler_id: labeler_accuracy(s) for s in stats}
    measured = [suggestions.Unassisted(_matches(conf, p, g), 1.0) for p, g in checks]
    measured += [
        suggestions.Unassisted(_matches(conf, p, value), accuracy.get(labeler, 1.0))
        for labeler, value, p in labels
    ]
    return len(measured), suggestions.model_accuracy(measured, answer_classes(conf))


def answer_classes(conf: LabelingSettings) -> int | None:
    """How many answers a wrong one can be among, for chance agreement; None where two wrong
    answers practically never coincide (boxes, spans, texts, multi-choice sets)."""
    if conf.task_type == "classification" and not conf.multi_choice:
        return len(conf.labels)
    if conf.task_type == "pairwise":
        return 3 if conf.allow_tie else 2
    return None


def labeler_accuracy(stats: LabelerStats) -> float:
    """The accuracy the rule assumes for a labeler: the reported check-question figure, else
    the Dawid–Skene estimate, else full (``settle.reputation_bps``'s order)."""
    from labeling.conf import GOLD_MIN_FOR_REVEAL

    if stats.gold_shown_answered >= GOLD_MIN_FOR_REVEAL:
        return stats.gold_shown_correct / stats.gold_shown_answered
    if stats.ds_accuracy is not None:
        return float(stats.ds_accuracy)
    return 1.0


def acceptance_of(
    stats: LabelerStats, conf: LabelingSettings, model_accuracy: float | None
) -> suggestions.Acceptance | None:
    if model_accuracy is None:
        return None
    return suggestions.acceptance(
        shown=stats.suggestions_shown,
        taken=stats.suggestions_taken,
        accuracy=labeler_accuracy(stats),
        model_accuracy=model_accuracy,
        classes=answer_classes(conf),
    )


@dataclass(frozen=True)
class SuggestionMetrics:
    items_with_prediction: int
    shown: int
    taken: int
    settled: int
    model_accuracy: float | None
    flagged: list[dict[str, Any]]  # labelers the rule marks down, most excess first

    @property
    def taken_rate(self) -> float | None:
        return self.taken / self.shown if self.shown else None


def suggestion_metrics(dataset_id: int, conf: LabelingSettings) -> SuggestionMetrics:
    """A dataset's pre-label figures for its admins (the console)."""
    with_prediction = LabelTask.objects.filter(
        dataset_id=dataset_id, prediction__isnull=False, is_gold=False
    ).count()
    stats = LabelerStats.objects.filter(dataset_id=dataset_id)
    totals = stats.aggregate(shown=Sum("suggestions_shown"), taken=Sum("suggestions_taken"))
    settled, model_accuracy = prediction_accuracy(dataset_id, conf)
    flagged = []
    if model_accuracy is not None:
        for row in stats.filter(suggestions_shown__gte=suggestions.MIN_SHOWN).select_related(
            "labeler"
        )[:500]:
            verdict = acceptance_of(row, conf, model_accuracy)
            if verdict is not None and verdict.factor < 1:
                flagged.append(
                    {
                        "labeler": row.labeler.address,
                        "shown": verdict.shown,
                        "taken_rate": verdict.taken / verdict.shown,
                        "expected": verdict.expected,
                        "factor": verdict.factor,
                    }
                )
        flagged.sort(key=lambda f: f["factor"])
    return SuggestionMetrics(
        items_with_prediction=with_prediction,
        shown=totals["shown"] or 0,
        taken=totals["taken"] or 0,
        settled=settled,
        model_accuracy=model_accuracy,
        flagged=flagged,
    )


def page_figures(dataset_id: int, metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset page's pre-label figures (None when no item has one): counts and the
    model's accuracy from the latest run's ``metrics``, nothing computed per view."""
    items = LabelTask.objects.filter(
        dataset_id=dataset_id, prediction__isnull=False, is_gold=False
    ).count()
    if not items:
        return None
    totals = LabelerStats.objects.filter(dataset_id=dataset_id).aggregate(
        shown=Sum("suggestions_shown"), taken=Sum("suggestions_taken")
    )
    shown, taken = totals["shown"] or 0, totals["taken"] or 0
    return {
        "items": items,
        "shown": shown,
        "taken": taken,
        "taken_rate": taken / shown if shown else None,
        "model_accuracy": metrics.get("model_accuracy"),
        "model_measured": metrics.get("model_measured"),
    }


def serialize_prediction_endpoint(dataset_id: int) -> dict[str, Any]:
    """The dataset's prediction endpoint as its admins see it (never its token: only whether
    one is set; the URL without its query, which may carry a secret), and how many open
    items have no pre-label yet. ``endpoint`` null when none is registered."""
    from urllib.parse import urlsplit

    from labeling.models import PredictionEndpoint, TaskStatus

    waiting = LabelTask.objects.filter(
        dataset_id=dataset_id, status=TaskStatus.OPEN, prediction__isnull=True
    ).count()
    endpoint = PredictionEndpoint.objects.filter(dataset_id=dataset_id).first()
    if endpoint is None:
        return {"endpoint": None, "open_items_without_prediction": waiting}
    parts = urlsplit(endpoint.url)

    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "endpoint": {
            "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "token": bool(endpoint.sealed_token),
            "batch_size": endpoint.batch_size,
            "state": endpoint.state,
            "items_sent": endpoint.items_sent,
            "predictions_stored": endpoint.predictions_stored,
            "predictions_refused": endpoint.predictions_refused,
            "refusals": endpoint.refusals,
            "last_error": endpoint.last_error,
            "attempts": endpoint.attempts,
            "run_started_at": when(endpoint.run_started_at),
            "run_finished_at": when(endpoint.run_finished_at),
        },
        "open_items_without_prediction": waiting,
    }
