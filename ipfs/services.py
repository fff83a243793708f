"""Writes of the IPFS layer: add and record pins, audit them, open content verified."""

from __future__ import annotations

import logging
import tempfile
from typing import IO, Any, BinaryIO

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ipfs.backends.base import IpfsCorrupt, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid
from ipfs.conf import get_backend
from ipfs.models import Pin, PinAuditRun, PinStatus
from ipfs.unixfs import import_stream

logger = logging.getLogger(__name__)

# Files up to this size are verified in memory before serving; larger ones spill to disk.
SPOOL_MAX_MEMORY = 8 * 1024 * 1024


def pin_record(*, cid: str, size: int | None, content_type: str, label: str) -> Pin:
    """Record that ``cid`` is pinned. Idempotent: the unique CID makes a repeat a no-op."""
    # INSERT ... ON CONFLICT DO NOTHING, then read: two statements where get_or_create takes
    # four (it is on every contribution's path).
    pins_record([pin_row(cid=cid, size=size, content_type=content_type, label=label)])
    return Pin.objects.get(cid=cid)


def pin_row(*, cid: str, size: int | None, content_type: str, label: str) -> Pin:
    """A Pin row for ``cid`` pinned through the configured backend, not yet saved."""
    from django.conf import settings

    return Pin(
        cid=cid, size=size, content_type=content_type, label=label, backend=settings.IPFS_BACKEND
    )


def pins_record(pins: list[Pin]) -> None:
    """Record many pins in one statement; a CID already recorded stays as it is."""
    Pin.objects.bulk_create(pins, ignore_conflicts=True)


def pin_forget(*, cid: str) -> int:
    """Forget that ``cid`` is pinned (after the backend unpinned it): ``/ipfs/<cid>`` then
    answers 404 and the pin audit no longer looks for it."""
    deleted, _ = Pin.objects.filter(cid=cid).delete()
    return deleted


def content_add(
    *, stream: BinaryIO, label: str, content_type: str = "application/octet-stream"
) -> Pin:
    """Add and pin a stream through the configured backend (CIDv1, raw leaves) and record it.

    Raises ``IpfsUnavailable`` (retryable) when the backend cannot be reached.
    """
    start = stream.tell() if stream.seekable() else 0
    cid = get_backend().add(stream, cid_version=1, pin=True)
    size = stream.tell() - start if stream.seekable() else None
    return pin_record(cid=cid, size=size, content_type=content_type, label=label)


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


def _check(backend: object, cid: str) -> str:
    """'' when the pin is healthy, else what is wrong."""
    verify = getattr(backend, "verify", None)
    if verify is not None:  # embedded: every block present and hashing to its CID
        problems = verify(cid)
        return "; ".join(problems)
    return "" if backend.is_pinned(cid) else "not pinned on the node"  # type: ignore[attr-defined]


def pin_audit_run(*, sample_size: int = 100) -> PinAuditRun:
    """Re-check a sample of pins (least recently checked first) and flag what is missing.

    Over successive runs every pin is checked in turn. If the backend is unreachable the run
    is recorded as such and no pin is marked missing: an outage is not data loss.
    """
    from django.conf import settings

    backend = get_backend()
    run = PinAuditRun.objects.create(backend=settings.IPFS_BACKEND)
    sample = list(
        # Never-checked pins first (PostgreSQL would sort NULLs last by default).
        Pin.objects.order_by(F("last_checked_at").asc(nulls_first=True), "id").values_list(
            "id", "cid"
        )[:sample_size]
    )
    for pin_id, cid in sample:
        try:
            problem = _check(backend, cid)
        except IpfsUnavailable:
            run.unreachable = True
            logger.warning("pin audit stopped: the IPFS backend is unreachable")
            break
        except (IpfsNotFound, IpfsCorrupt) as exc:
            problem = str(exc)
        status = PinStatus.MISSING if problem else PinStatus.OK
        Pin.objects.filter(pk=pin_id).update(
            status=status, problem=problem, last_checked_at=timezone.now()
        )
        run.checked += 1
        run.missing += bool(problem)
        if problem:
            logger.error("pin audit: %s is missing or corrupt: %s", cid, problem)
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
