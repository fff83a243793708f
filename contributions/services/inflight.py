"""Uploads in flight: a per-user cap on the bytes being received at once, and the sweep of
files a dead request left in the staging folder.

The cap lives in PostgreSQL (one row per upload being received, taken under a lock on the
user's row), so it holds across web processes and hosts; a row left by a process that died
mid-upload stops counting after a TTL rather than blocking its user for ever.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from contributions import errors
from contributions.models import UploadInFlight
from contributions.uploads import staging_dir
from datadao.errors import Detail
from datadao.models import User

logger = logging.getLogger(__name__)


def _live_since(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.UPLOAD_IN_FLIGHT_TTL_SECONDS)


@transaction.atomic
def upload_in_flight_begin(*, user: User, size: int) -> int:
    """Count ``size`` declared bytes against ``user``'s bytes in flight; the row's id.

    Refuses (``UploadsInFlight``, 429) when other uploads of this user are being received and
    this one would take their total past ``UPLOAD_IN_FLIGHT_BYTES``. A lone upload is always
    let through (its size is bounded by the dataset's limit), so a dataset whose limit is
    above the cap still takes files. Two parallel requests cannot both slip under the cap:
    the user's row is locked first.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    live = UploadInFlight.objects.filter(user=user, started_at__gte=_live_since(now))
    total = live.aggregate(total=Sum("size"))["total"]
    cap = settings.UPLOAD_IN_FLIGHT_BYTES
    if total is not None and total + size > cap:
        raise errors.UploadsInFlight(
            Detail(
                "You have %(count)s upload(s) of %(total)s bytes in "
                "progress; at most %(cap)s bytes may be in flight at once. "
                "Send this file when they have finished.",
                count=live.count(),
                total=total,
                cap=cap,
            )
        )
    return UploadInFlight.objects.create(user=user, size=size, started_at=now).pk


def upload_in_flight_end(*, slot_id: int) -> None:
    """The upload ``slot_id`` has ended (whatever its outcome): its bytes stop counting."""
    UploadInFlight.objects.filter(pk=slot_id).delete()


def uploads_in_flight_purge(*, now: datetime) -> int:
    """Delete rows past the TTL (left by processes that died mid-upload); how many."""
    deleted, _ = UploadInFlight.objects.filter(started_at__lt=_live_since(now)).delete()
    return deleted


def staging_purge(*, now: datetime) -> int:
    """Delete staging files not written to for ``UPLOAD_STAGING_MAX_AGE_SECONDS``; how many.

    A request removes its own staged file on every exit; what is left here belongs to a
    process that died mid-request. The age is taken from the last write (mtime), and a live
    upload writes at least every chunk, so a slow upload in progress is never swept.
    """
    cutoff = now.timestamp() - settings.UPLOAD_STAGING_MAX_AGE_SECONDS
    removed = 0
    for path in staging_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # its request finished while we looked
            continue
    if removed:
        logger.warning("removed %d orphaned upload(s) from the staging folder", removed)
    return removed
