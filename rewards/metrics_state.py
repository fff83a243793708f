"""Rewards' state metrics (``datadao.metrics``): epochs by status and what the closed ones
allocate. Amounts are in the token's smallest unit; Prometheus holds them as floats, so a
figure above 2^53 is approximate here (the ledger itself is exact)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Sum

from datadao.metrics import gauge
from rewards.models import Epoch, EpochStatus


def epochs() -> Iterator[Any]:
    family = gauge("datadao_reward_epochs", "Reward epochs by status.", ["status"])
    counts = dict(Epoch.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in EpochStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
    allocated = gauge(
        "datadao_reward_allocated", "Total allocated by closed reward epochs, all DAOs."
    )
    total = Epoch.objects.filter(status=EpochStatus.CLOSED).aggregate(t=Sum("total"))["t"]
    allocated.add_metric([], float(total or 0))
    yield allocated
