"""Labeling's part of a personal export (``datadao.personal``): every label the person gave.
Whether an item was a check question, and whether the answer matched it, are left out: they
would tell check questions apart (README, Security)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from labeling.models import Label


def _lines(user: Any) -> Iterator[bytes]:
    labels = (
        Label.objects.filter(labeler=user)
        .order_by("pk")
        .values_list(
            "dataset__dao__slug", "dataset__slug", "task_id", "value", "created_at", "duration_ms"
        )
    )
    for dao, dataset, task, value, created, duration in labels.iterator(chunk_size=2000):
        row = {
            "dao": dao,
            "dataset": dataset,
            "task": task,
            "label": value,
            "at": created.isoformat(),
            "duration_ms": duration,
        }
        yield json.dumps(row, ensure_ascii=False).encode() + b"\n"


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield "labels.jsonl", _lines(user)
