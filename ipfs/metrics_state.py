"""The IPFS layer's state metrics (``datadao.metrics``): pins by audit status, replicas by
status, and what the latest audit found and repaired."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count

from datadao.metrics import gauge
from ipfs.models import Pin, PinAuditRun, PinReplica, PinStatus, ReplicaStatus


def pins() -> Iterator[Any]:
    family = gauge("datadao_pins", "Pinned CIDs by audit status.", ["status"])
    counts = dict(Pin.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in PinStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
    replicas = gauge(
        "datadao_pin_replicas", "Replicas beyond the backend's copy, by status.", ["status"]
    )
    counts = dict(
        PinReplica.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    for status in ReplicaStatus.values:
        replicas.add_metric([status], counts.get(status, 0))
    yield replicas
    latest = PinAuditRun.objects.exclude(finished_at=None).order_by("-id").first()
    missing = gauge(
        "datadao_pin_audit_missing",
        "Copies (the backend's and replicas) the latest finished audit found missing or corrupt.",
    )
    missing.add_metric([], latest.missing if latest else 0)
    yield missing
    unreachable = gauge(
        "datadao_pin_audit_unreachable",
        "1 when the latest audit could not reach the backend or a replica target.",
    )
    unreachable.add_metric([], int(bool(latest and latest.unreachable)))
    yield unreachable
    repaired = gauge(
        "datadao_pin_audit_repaired", "Copies the latest finished audit refilled from another."
    )
    repaired.add_metric([], latest.repaired if latest else 0)
    yield repaired
