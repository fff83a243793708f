"""Contributions' state metrics (``datadao.metrics``): how many are in each status, from the
tallies (the same counts the pages show, without a scan of the table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Sum

from contributions.models import Status, Tally, TallyDelta
from datadao.metrics import gauge


def by_status() -> Iterator[Any]:
    family = gauge("datadao_contributions", "Contributions by status.", ["status"])
    counts: dict[str, int] = {}
    # Folded tallies plus the deltas not folded yet, as the pages read them (tally.tally).
    for model in (Tally, TallyDelta):
        for status, n in (
            model.objects.values("status").annotate(n=Sum("n")).values_list("status", "n")
        ):
            counts[status] = counts.get(status, 0) + int(n or 0)
    for status in Status.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
