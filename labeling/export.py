"""Streaming exports of a labeling dataset: per task the consensus label, its posterior and
the raw labels (labeler address, label, time). Rows are produced in id-ordered chunks, never
built in memory, and every text cell is escaped against spreadsheet formula injection.

Each task says whether a reviewer looked at it and how (``review``: accepted, fixed,
sent_back or none; ``sent_back``: how many times it was sent back for more labels; see
``export_types.review_state``).

Only settled (complete) tasks are exported, so an export can never show a labeler the
labels of a task they could still be asked to label. Gold tasks are left out unless the
caller asks for them (the DAO's own export): publishing their answers would reveal them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from contributions.export import escape_formula
from labeling import export_types
from labeling.conf import labeling_settings
from labeling.export_types import CHUNK, consented, review_state, with_reviews
from labeling.models import Label, LabelTask, TaskStatus

CSV_HEADER = [
    "task", "source", "consensus", "posterior", "n_labels", "gold", "labels", "review",
    "sent_back",
]  # fmt: skip


def _chunks(dataset_id: int, include_gold: bool) -> Iterator[list[dict[str, Any]]]:
    tasks = consented(LabelTask.objects.filter(dataset_id=dataset_id)).order_by("id")
    if include_gold:
        tasks = tasks.filter(Q(status=TaskStatus.COMPLETE) | Q(is_gold=True))
    else:
        tasks = tasks.filter(status=TaskStatus.COMPLETE, is_gold=False)
    tasks = with_reviews(tasks)
    last = 0
    while True:
        batch = list(
            tasks.filter(id__gt=last).values(
                "id", "source_key", "consensus", "posterior", "label_count", "gold", "review",
                "sent_back",
            )[:CHUNK]
        )  # fmt: skip
        if not batch:
            return
        last = batch[-1]["id"]
        raw: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in batch}
        for task_id, address, value, created in (
            Label.objects.filter(task_id__in=raw)
            .order_by("task_id", "id")
            .values_list("task_id", "labeler__address", "value", "created_at")
        ):
            raw[task_id].append({"labeler": address, "label": value, "at": created.isoformat()})
        for row in batch:
            row["labels"] = raw[row["id"]]
            row["review"] = review_state(row["review"], row["sent_back"])
        yield batch


def _label_text(value: Any) -> str:
    """Label names joined by ``|``; any other answer (boxes, spans, a comparison, a text) as
    JSON, its strings escaped like every other cell's."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "|".join(value)
    return json.dumps(_escape_deep(value), ensure_ascii=False)


def _escape_deep(value: Any) -> Any:
    """Every string inside ``value`` escaped against formula injection."""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, list):
        return [_escape_deep(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape_deep(v) for k, v in value.items()}
    return value


def iter_csv(dataset_id: int, *, include_gold: bool = False) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for batch in _chunks(dataset_id, include_gold):
        for row in batch:
            labels = [{**item, "label": _escape_deep(item["label"])} for item in row["labels"]]
            writer.writerow(
                [
                    row["id"],
                    escape_formula(row["source_key"]),
                    escape_formula(_label_text(row["consensus"])),
                    "" if row["posterior"] is None else f"{row['posterior']:.6f}",
                    row["label_count"],
                    escape_formula(_label_text(row["gold"])),
                    escape_formula(json.dumps(labels, ensure_ascii=False)),
                    row["review"] or "",
                    row["sent_back"],
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def iter_jsonl(dataset_id: int, *, include_gold: bool = False) -> Iterator[str]:
    for batch in _chunks(dataset_id, include_gold):
        yield "".join(
            json.dumps(
                {
                    "task": row["id"],
                    "source": row["source_key"],
                    "consensus": row["consensus"],
                    "posterior": row["posterior"],
                    "n_labels": row["label_count"],
                    **({"gold": row["gold"]} if include_gold else {}),
                    "labels": row["labels"],
                    "review": row["review"],
                    "sent_back": row["sent_back"],
                },
                ensure_ascii=False,
            )
            + "\n"
            for row in batch
        )


def release_entry(dataset_id: int, *, pin_label: str) -> dict[str, Any]:
    """Pin the settled labels (CSV and JSON Lines, gold left out) for a dataset release and
    describe them for its manifest. Streamed through a spooled file, never held whole."""
    import tempfile

    from contributions.services.sealed_pins import content_add_for
    from datadao.models import Dataset

    dataset = Dataset.objects.select_related("dao").get(pk=dataset_id)
    conf = labeling_settings(dataset.schema)
    entry: dict[str, Any] = {
        "settled_tasks": consented(
            LabelTask.objects.filter(
                dataset_id=dataset_id, status=TaskStatus.COMPLETE, is_gold=False
            )
        ).count()
    }
    formats: list[tuple[str, Iterator[str] | Iterator[bytes], str]] = [
        ("csv", iter_csv(dataset_id), "text/csv"),
        ("jsonl", iter_jsonl(dataset_id), "application/x-ndjson"),
    ]
    if conf.typed:
        entry["task_type"] = conf.task_type
        # The type's own formats too, under their names (``coco``, ``yolo``, ``conll``, and
        # ``typed_jsonl`` for the type's JSON Lines).
        for fmt in export_types.FORMATS[conf.task_type]:
            formats.append(
                (
                    "typed_jsonl" if fmt == "jsonl" else fmt,
                    export_types.render(conf, dataset_id, fmt),
                    export_types.CONTENT_TYPES[fmt].split(";")[0],
                )
            )
    for fmt, chunks, content_type in formats:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            for chunk in chunks:
                spool.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
            size = spool.tell()
            spool.seek(0)
            # Sealed for a members-only dataset, like its files and its manifest.
            pin = content_add_for(
                dataset=dataset, stream=spool, label=pin_label, content_type=content_type
            )
        entry[fmt] = {"cid": pin.cid, "bytes": size}
    return entry
