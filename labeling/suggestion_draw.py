"""Which holds show their item's pre-label (the per-hold draw of ``labeling.suggestions``,
keyed by the server's secret) and what is shown and recorded. No queries: everything is read
from the task row the hold came with."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings

from labeling import suggestions
from labeling.conf import LabelingSettings
from labeling.models import Assignment, LabelTask


def _draw_key() -> bytes:
    """The key of the per-hold draw: from the server's secret, so a labeler cannot compute
    which holds were drawn without a suggestion (and so tell check questions apart)."""
    return hashlib.sha256(b"datadao/suggestion-draw/" + settings.SECRET_KEY.encode()).digest()


def hold_shows(*, hold_id: int, conf: LabelingSettings) -> bool:
    """Whether this hold shows its item's pre-label, where the item has one and is no check
    question: the dataset's ``suggestion_rate`` share of holds, drawn per hold."""
    return suggestions.shown(hold_id=hold_id, rate=conf.suggestion_rate, key=_draw_key())


def hold_suggestion(hold: Assignment, conf: LabelingSettings) -> dict[str, Any] | None:
    """The suggestion ``next`` shows with the hold (None: none). Read from the task row the
    hold came with: no query."""
    task = hold.task
    if task.is_gold or task.prediction is None or not hold_shows(hold_id=hold.pk, conf=conf):
        return None
    return {
        "value": task.prediction,
        "model_version": task.prediction_model,
        "score": task.prediction_score,
    }


def suggestion_taken(
    *, hold_id: int, conf: LabelingSettings, task: LabelTask, answer: Any
) -> bool | None:
    """``Label.suggested`` on the general path (the hot statement computes the same in SQL):
    whether the answer equals the suggestion the hold showed; None when it showed none."""
    if task.is_gold or task.prediction is None or not hold_shows(hold_id=hold_id, conf=conf):
        return None
    return bool(answer == task.prediction)
