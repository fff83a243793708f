"""A labeling dataset's settings, read from its schema with the defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_OVERLAP = 3
DEFAULT_CONFIDENCE_TARGET = 0.95
DEFAULT_GOLD_FLOOR = 0.6
# Gold answers a labeler gives before the floor can pause them (the "≥ 20").
GOLD_MIN_FOR_PAUSE = 20
# Gold answers before a labeler is shown their gold accuracy: fewer would let them work out
# which single task was gold from the change in the figure.
GOLD_MIN_FOR_REVEAL = 5
UNDO_SECONDS = 60


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

    def index(self, label: str) -> int:
        return self.labels.index(label)


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
        item_kind=str(schema.get("item_kind", "text")),
    )
