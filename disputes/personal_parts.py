"""Disputes' part of a personal export (``datadao.personal``): the challenges the person filed,
and those of their own work (contributions they made, items they labelled), each as the API
shows it to them (``disputes.api.serialize_challenge``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from datadao.personal import json_file
from disputes.api import serialize_challenge
from disputes.models import Challenge
from labeling.models import Label


def _challenges(user: Any) -> dict[str, list[dict[str, Any]]]:
    base = Challenge.objects.select_related("dao", "dataset", "challenger", "resolved_by").order_by(
        "pk"
    )
    raised = [serialize_challenge(c) for c in base.filter(challenger=user)]
    tasks = Label.objects.filter(labeler=user).values("task_id")
    of_mine = base.filter(contribution__contributor=user) | base.filter(label_task_id__in=tasks)
    return {"raised": raised, "of_your_work": [serialize_challenge(c) for c in of_mine]}


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield "challenges.json", json_file(_challenges(user))
