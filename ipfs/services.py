"""Writes of the IPFS layer: add and record pins, audit them, open content verified."""

from __future__ import annotations

import logging
import tempfile
from typing import IO, Any, BinaryIO

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ipfs.backends.base import IpfsCorrupt
from ipfs.cid import Cid
from ipfs.conf import get_backend, get_targets
from ipfs.models import Pin, PinAuditRun
from ipfs.replication import pin_audit_copies, pins_replicate_later
from ipfs.unixfs import import_stream

logger = logging.getLogger(__name__)

# Files up to this size are verified in memory before serving; larger ones spill to disk.
SPOOL_MAX_MEMORY = 8 * 1024 * 1024


def pin_record(
    *, cid: str, size: int | None, content_type: str, label: str, replication: int = 1
) -> Pin:
    """Record that ``cid`` is pinned. Idempotent: the unique CID makes a repeat a no-op.

    The pin counts from here, on its first copy; with ``replication`` > 1 the other copies
    are made by ``replicate_pin``, sent on commit.
    """
    # INSERT ... ON CONFLICT DO NOTHING, then read: two statements where get_or_create takes
    # four (it is on every contribution's path).
    pins_record(
        [
            pin_row(
                cid=cid, size=size, content_type=content_type, label=label, replication=replication
            )
        ]
    )
    return Pin.objects.get(cid=cid)


def pin_row(
    *, cid: str, size: int | None, content_type: str, label: str, replication: int = 1
) -> Pin:
    """A Pin row for ``cid`` pinned through the configured backend, not yet saved;
    ``replication`` is the copies wanted (the DAO's replication factor)."""
    from django.conf import settings

    return Pin(
        cid=cid,
        size=size,
        content_type=content_type,
        label=label,
        backend=settings.IPFS_BACKEND,
        replication=replication,
    )


def pins_record(pins: list[Pin]) -> None:
    """Record many pins in one statement; a CID already recorded stays as it is (a higher
    replication factor for it reaches the pin through ``replicate_pin``)."""
    Pin.objects.bulk_create(pins, ignore_conflicts=True)
    pins_replicate_later(pins)


def pin_forget(*, cid: str) -> int:
    """Forget that ``cid`` is pinned (after the backend unpinned it): ``/ipfs/<cid>`` then
    answers 404 and the pin audit no longer looks for it."""
    deleted, _ = Pin.objects.filter(cid=cid).delete()
    return deleted


def content_add(
    *,
    stream: BinaryIO,
    label: str,
    content_type: str = "application/octet-stream",
    replication: int = 1,
) -> Pin:
    """Add and pin a stream through the configured backend (CIDv1, raw leaves) and record it;
    ``replication`` copies are kept (see ``pin_record``).

    Raises ``IpfsUnavailable`` (retryable) when the backend cannot be reached.
    """
    start = stream.tell() if stream.seekable() else 0
    cid = get_backend().add(stream, cid_version=1, pin=True)
    size = stream.tell() - start if stream.seekable() else None
    return pin_record(
        cid=cid, size=size, content_type=content_type, label=label, replication=replication
    )


def content_open_verified(*, cid: str) -> IO[bytes]:
    """Return a file holding the content of ``cid``, re-hashed and proven equal to the CID.

    The bytes are spooled while their CID is recomputed with the same layout, so nothing is
    served before it is known to be right, whatever the backend. Raises ``IpfsCorrupt`` on a
    mismatch, ``IpfsNotFound``/``IpfsUnavailable`` from the backend.
    """
    wanted = Cid.parse(cid)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
    try:
        for chunk in get_backend().cat(cid):
            spool.write(chunk)
        spool.seek(0)
        got = import_stream(spool, cid_version=wanted.version).cid
        if got != wanted:
            raise IpfsCorrupt(f"content of {cid} hashes to {got}; refusing to serve it")
        spool.seek(0)
        return spool
    except BaseException:
        spool.close()
        raise


def pin_audit_run(*, sample_size: int = 100) -> PinAuditRun:
    """Re-check a sample of pins (least recently checked first): every copy of each, on the
    backend and on its replica targets, by retrieving its blocks and hashing them. A copy
    found missing or corrupt is refilled from a whole one; a pin with no whole copy left is
    flagged missing.

    Over successive runs every pin is checked in turn. A target that cannot be reached is
    recorded as such and skipped for the rest of the run, its copies left as they were: an
    outage is not data loss. The run stops when no target can be reached.
    """
    from django.conf import settings

    targets = get_targets()
    run = PinAuditRun.objects.create(backend=settings.IPFS_BACKEND)
    sample = list(
        # Never-checked pins first (PostgreSQL would sort NULLs last by default).
        Pin.objects.order_by(F("last_checked_at").asc(nulls_first=True), "id").prefetch_related(
            "replicas"
        )[:sample_size]
    )
    down: set[str] = set()
    for pin in sample:
        audit = pin_audit_copies(pin, targets, down)
        run.checked += audit.checked
        run.missing += audit.missing
        run.repaired += audit.repaired
        if len(down) == len(targets):
            break
    run.unreachable = bool(down)
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
    return run


def garbage_collect(*, grace_seconds: float, dry_run: bool = False) -> dict[str, Any]:
    """Delete the embedded store's blocks that no pin reaches (``EmbeddedBackend
    .collect_garbage``); a Kubo node collects its own (``ipfs repo gc``)."""
    backend = get_backend()
    collect = getattr(backend, "collect_garbage", None)
    if collect is None:
        return {"skipped": "the IPFS node collects its own garbage (ipfs repo gc)"}
    report = collect(grace_seconds=grace_seconds, dry_run=dry_run)
    if report["problems"]:
        logger.error("garbage collection stopped, nothing deleted: %s", report["problems"][:5])
    else:
        logger.info(
            "garbage collection: %s blocks deleted (%s bytes), %s kept, %s too recent",
            report["deleted"],
            report["deleted_bytes"],
            report["kept"],
            report["too_recent"],
        )
    return report
