"""Reads about pre-labels: how often the model is right, how often labelers take its
suggestions, and who takes more than their accuracy explains (``labeling.suggestions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Sum

from labeling import answers, suggestions
from labeling.conf import LabelingSettings
from labeling.models import LabelerStats, LabelTask

# The model's accuracy is measured on the latest decided items with a pre-label, at most this
# many: enough for a rate, bounded however large the dataset.
ACCURACY_SAMPLE = 5000
# Decided items with a pre-label before the model's accuracy is trusted (and the rule applied).
MIN_SETTLED = 20


def _matches(conf: LabelingSettings, prediction: Any, consensus: Any) -> bool:
    try:
        return answers.gold_correct(conf, prediction, consensus)
    except (KeyError, TypeError, ValueError):
        return False  # a consensus of another shape (the label set changed since)


def prediction_accuracy(dataset_id: int, conf: LabelingSettings) -> tuple[int, float | None]:
    """(items with a pre-label and a consensus, the share whose pre-label matches the
    consensus by the task type's rule; None under ``MIN_SETTLED``). Check questions are left
    out."""
    rows = list(
        LabelTask.objects.filter(
            dataset_id=dataset_id,
            is_gold=False,
            prediction__isnull=False,
            consensus__isnull=False,
        )
        .order_by("-consensus_at")
        .values_list("prediction", "consensus")[:ACCURACY_SAMPLE]
    )
    if len(rows) < MIN_SETTLED:
        return len(rows), None
    right = sum(_matches(conf, p, c) for p, c in rows)
    return len(rows), right / len(rows)


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
        "model_settled": metrics.get("model_settled"),
    }
