"""A labeling dataset's settings, read from its schema with the defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from datadao.schema import (
    LABELING_DEFAULT_CONFIDENCE_TARGET as DEFAULT_CONFIDENCE_TARGET,
)
from datadao.schema import (
    LABELING_DEFAULT_GOLD_FLOOR as DEFAULT_GOLD_FLOOR,
)
from datadao.schema import (
    LABELING_DEFAULT_IOU_THRESHOLD,
    LABELING_DEFAULT_MAX_CER,
    labeling_item_kind,
)
from datadao.schema import (
    LABELING_DEFAULT_OVERLAP as DEFAULT_OVERLAP,
)
from datadao.schema import (
    LABELING_DEFAULT_SUGGESTION_RATE as DEFAULT_SUGGESTION_RATE,
)

# How a labeler's accuracy on check questions is reported, so that nothing they see points
# at a single item (``LabelerStats``):
# * scored answers are grouped in windows of GOLD_WINDOW, and only completed windows count:
#   a reported figure is right answers out of a multiple of GOLD_WINDOW, never a single one;
# * the figure changes only at report points, every GOLD_REPORT_EVERY answers of any kind
#   (an undone one included), never at the answer that completes a window: so a change
#   does not mark the item just answered as a check question;
# * the pause under the floor is decided at report points too, over the reported figure,
#   and pay (``settle.reputation_bps``) reads the reported figure.
GOLD_WINDOW = 10
GOLD_REPORT_EVERY = 25
# Reported check answers before the floor can pause a labeler (two windows).
GOLD_MIN_FOR_PAUSE = 2 * GOLD_WINDOW
# Reported check answers before pay follows gold accuracy (the first window).
GOLD_MIN_FOR_REVEAL = GOLD_WINDOW
# A check question is served to at most as many labelers as an ordinary item and then
# retired, so the gold pool runs down. The console warns a DAO admin when fewer than this
# many check questions are still open, or when their free slots will not cover the open
# ordinary work at the gold rate (``selectors.gold_pools``); once the pool is spent,
# labelers get ordinary work only, unchecked.
GOLD_POOL_LOW = 20


def undo_seconds() -> int:
    """How long an answer can be taken back. A task settles only once its newest label is
    older than this, so an undo is never refused for a settled task (which a check question
    never is): undo behaves the same for every item."""
    return int(getattr(settings, "LABEL_UNDO_SECONDS", 60))


# How many of the first open items of a kind a hand-out picks from, at random. An item's
# viewers then arrive at its kind's draw rate divided by its kind's window; windows in
# proportion to the kinds' rates make that pace the same for a check question and for
# ordinary work (one viewer in about HANDOUT_SPREAD hand-outs of the dataset), so a fleet of
# wallets pooling when each item was seen cannot tell the kinds by it. The ordinary window
# is capped (each hand-out reads that many candidates): under a gold rate of
# 1 / HANDOUT_WINDOW_MAX a check question's viewers come faster than ordinary work's.
HANDOUT_SPREAD = 20
HANDOUT_WINDOW_MAX = 64


def handout_windows(gold_rate: float) -> tuple[int, int]:
    """(ordinary window, check-question window) for a dataset's gold rate."""
    if gold_rate <= 0 or gold_rate >= 1:
        return 1, 1
    gold = max(1, round(HANDOUT_SPREAD * gold_rate))
    ordinary = round(gold * (1 - gold_rate) / gold_rate)
    return max(1, min(HANDOUT_WINDOW_MAX, ordinary)), gold


@dataclass(frozen=True)
class Handout:
    """One hand-out's random choices, drawn once and used by whichever path serves it."""

    gold: bool  # a check question, where one is left for the labeler
    window: int  # ordinary work: pick among this many first open tasks
    start: int  # ... starting at this place among them
    gold_window: int
    gold_start: int


class _Rng(Protocol):
    def random(self) -> float: ...
    def randrange(self, stop: int) -> int: ...


def handout_draw(gold_rate: float, rng: _Rng) -> Handout:
    window, gold_window = handout_windows(gold_rate)
    return Handout(
        gold=gold_rate > 0 and rng.random() < gold_rate,
        window=window,
        start=rng.randrange(window),
        gold_window=gold_window,
        gold_start=rng.randrange(gold_window),
    )


@dataclass(frozen=True)
class LabelingSettings:
    labels: tuple[str, ...]
    multi_choice: bool
    overlap: int
    max_overlap: int
    gold_rate: float
    confidence_target: float
    gold_floor: float
    item_kind: str
    # The task type (``datadao.schema.LABELING_TASKS``) and its own settings.
    task_type: str = "classification"
    iou_threshold: float = LABELING_DEFAULT_IOU_THRESHOLD
    overlapping: bool = False
    allow_tie: bool = True
    max_cer: float = LABELING_DEFAULT_MAX_CER
    # The order ``next`` serves open ordinary items in (``datadao.schema.LABELING_ORDERS``).
    order: str = "arrival"
    # The share of ordinary holds that show their item's pre-label (``labeling.suggestions``).
    suggestion_rate: float = DEFAULT_SUGGESTION_RATE

    @property
    def uncertain_first(self) -> bool:
        return self.order == "uncertain"

    def index(self, label: str) -> int:
        return self.labels.index(label)

    @property
    def typed(self) -> bool:
        """Whether answers are boxes, spans, a comparison or a text, not label names."""
        return self.task_type != "classification"


def labeling_settings(schema: dict[str, Any]) -> LabelingSettings:
    overlap = int(schema.get("overlap", DEFAULT_OVERLAP))
    return LabelingSettings(
        labels=tuple(str(x) for x in schema.get("labels", [])),
        multi_choice=bool(schema.get("multi_choice", False)),
        overlap=overlap,
        max_overlap=max(overlap, int(schema.get("max_overlap", overlap + 2))),
        gold_rate=float(schema.get("gold_rate", 0.0)),
        confidence_target=float(schema.get("confidence_target", DEFAULT_CONFIDENCE_TARGET)),
        gold_floor=float(schema.get("gold_accuracy_floor", DEFAULT_GOLD_FLOOR)),
        item_kind=labeling_item_kind(schema),
        task_type=str(schema.get("task", "classification")),
        iou_threshold=float(schema.get("iou_threshold", LABELING_DEFAULT_IOU_THRESHOLD)),
        overlapping=bool(schema.get("overlapping", False)),
        allow_tie=bool(schema.get("allow_tie", True)),
        max_cer=float(schema.get("max_cer", LABELING_DEFAULT_MAX_CER)),
        order=str(schema.get("order", "arrival")),
        suggestion_rate=float(schema.get("suggestion_rate", DEFAULT_SUGGESTION_RATE)),
    )
