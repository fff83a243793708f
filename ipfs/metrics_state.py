"""The IPFS layer's state metrics (``datadao.metrics``): pins by audit status and what the
latest audit found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count

from datadao.metrics import gauge
from ipfs.models import Pin, PinAuditRun, PinStatus


def pins() -> Iterator[Any]:
    family = gauge("datadao_pins", "Pinned CIDs by audit status.", ["status"])
    counts = dict(Pin.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in PinStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
    latest = PinAuditRun.objects.exclude(finished_at=None).order_by("-id").first()
    missing = gauge(
        "datadao_pin_audit_missing", "Pins the latest finished audit found missing or corrupt."
    )
    missing.add_metric([], latest.missing if latest else 0)
    yield missing
    unreachable = gauge(
        "datadao_pin_audit_unreachable", "1 when the latest audit found the backend unreachable."
    )
    unreachable.add_metric([], int(bool(latest and latest.unreachable)))
    yield unreachable
