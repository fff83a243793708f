"""The task types ``bench.labeling_assign --task`` loads: for each, the item, the stored answer
of a given class (gold, labels and consensus in SQL) and the answer a labeler process sends.

Every type keeps the classification data's shape (the same tasks, labels, holds and seeded
truth ``truth(i)`` in 0..9), so the hot path's figures of two types compare like for like: a
box, a span, a transcription or a side of a comparison stands for the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TASK_TYPES = ("classification", "boxes", "spans", "pairwise", "text")


@dataclass(frozen=True)
class TypeSql:
    """SQL fragments; ``{c}`` is an int class expression, ``{i}`` the task id expression."""

    kind: str
    payload: str
    answer: str  # the stored answer (gold and labels) of class {c}
    consensus: str  # the stored consensus of class {c}
    choice: str  # ``Label.choice`` for class {c}


_BOX = (
    "jsonb_build_array(jsonb_build_object('x', ({i}) %% 100, 'y', ({i}) %% 50, 'w', 40, "
    "'h', 30, 'label', 'class-' || ({c}){score}))"
)
_SPAN = (
    "jsonb_build_array(jsonb_build_object('start', 0, 'end', 4, 'label', 'class-' || ({c}){score}))"
)
_SIDE = "to_jsonb(CASE WHEN ({c}) %% 2 = 0 THEN 'left' ELSE 'right' END)"

SQL: dict[str, TypeSql] = {
    "classification": TypeSql(
        kind="text",
        payload="jsonb_build_object('text', 'item ' || ({i}))",
        answer="jsonb_build_array('class-' || ({c}))",
        consensus="jsonb_build_array('class-' || ({c}))",
        choice="({c})",
    ),
    "boxes": TypeSql(
        kind="image",
        payload="jsonb_build_object('cid', 'bafkreibenchimage' || ({i}), "
        "'media_type', 'image/png', 'width', 160, 'height', 96)",
        answer=_BOX.replace("{score}", ""),
        consensus=_BOX.replace("{score}", ", 'score', 0.97"),
        choice="NULL::int",
    ),
    "spans": TypeSql(
        kind="text",
        payload="jsonb_build_object('text', 'item ' || ({i}) || ' names a person and a place')",
        answer=_SPAN.replace("{score}", ""),
        consensus=_SPAN.replace("{score}", ", 'score', 0.97"),
        choice="NULL::int",
    ),
    "pairwise": TypeSql(
        kind="pair",
        payload="jsonb_build_object('prompt', 'question ' || ({i}), "
        "'left', jsonb_build_object('id', 'a', 'text', 'answer a to ' || ({i})), "
        "'right', jsonb_build_object('id', 'b', 'text', 'answer b to ' || ({i})))",
        answer=_SIDE,
        consensus=_SIDE,
        choice="(({c}) %% 2)",
    ),
    "text": TypeSql(
        kind="image",
        payload="jsonb_build_object('cid', 'bafkreibenchsign' || ({i}), "
        "'media_type', 'image/png', 'width', 160, 'height', 40)",
        answer="to_jsonb('sign number ' || ({c}))",
        consensus="to_jsonb('sign number ' || ({c}))",
        choice="NULL::int",
    ),
}


def schema_extra(task_type: str) -> dict[str, Any]:
    """What the dataset's schema adds for the type (classification: nothing)."""
    return {
        "classification": {"item_kind": "text"},
        "boxes": {"task": "boxes", "iou_threshold": 0.5},
        "spans": {"task": "spans"},
        "pairwise": {"task": "pairwise", "allow_tie": True},
        "text": {"task": "text", "item_kind": "image", "max_cer": 0.1},
    }[task_type]


def uses_labels(task_type: str) -> bool:
    return task_type in ("classification", "boxes", "spans")


def answer_of(task_type: str, task_id: int, klass: int) -> Any:
    """What a labeler sends for class ``klass`` of task ``task_id`` (the API's shapes)."""
    if task_type == "classification":
        return f"class-{klass}"
    if task_type == "boxes":
        box = {"x": task_id % 100, "y": task_id % 50, "w": 40, "h": 30}
        return [box | {"label": f"class-{klass}"}]
    if task_type == "spans":
        return [{"start": 0, "end": 4, "label": f"class-{klass}"}]
    if task_type == "pairwise":
        return "left" if klass % 2 == 0 else "right"
    return f"sign number {klass}"


def class_of(task_type: str, gold: Any) -> int:
    """The class a gold answer stands for (the inverse of ``SQL[...].answer``)."""
    if task_type in ("classification",):
        return int(str(gold[0]).split("-")[1])
    if task_type in ("boxes", "spans"):
        return int(str(gold[0]["label"]).split("-")[1])
    if task_type == "pairwise":
        return 0 if gold == "left" else 1
    return int(str(gold).rsplit(" ", 1)[1])
