"""Bytes in flight per user: the cap, a lone upload's pass, and rows left by dead processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contributions.errors import UploadsInFlight
from contributions.models import UploadInFlight
from contributions.services import (
    upload_in_flight_begin,
    upload_in_flight_end,
    uploads_in_flight_purge,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_lone_upload_passes_whatever_its_size(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_IN_FLIGHT_BYTES = 100
    user = UserFactory()
    slot = upload_in_flight_begin(user=user, size=10_000)
    with pytest.raises(UploadsInFlight) as refused:
        upload_in_flight_begin(user=user, size=1)
    assert refused.value.status_code == 429
    assert refused.value.message == (
        "You have 1 upload(s) of 10000 bytes in progress; at most 100 bytes may be in flight "
        "at once. Send this file when they have finished."
    )
    upload_in_flight_end(slot_id=slot)
    upload_in_flight_begin(user=user, size=1)


def test_the_cap_is_per_user(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_IN_FLIGHT_BYTES = 100
    one, two = UserFactory(), UserFactory()
    upload_in_flight_begin(user=one, size=60)
    upload_in_flight_begin(user=one, size=40)
    upload_in_flight_begin(user=two, size=100)
    with pytest.raises(UploadsInFlight):
        upload_in_flight_begin(user=one, size=1)


def test_a_row_left_by_a_dead_process_stops_counting_and_is_purged(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_IN_FLIGHT_BYTES = 100
    settings.UPLOAD_IN_FLIGHT_TTL_SECONDS = 3600
    user = UserFactory()
    stale = UploadInFlight.objects.create(
        user=user, size=100, started_at=timezone.now() - timedelta(hours=2)
    )
    upload_in_flight_begin(user=user, size=100)  # the stale row no longer counts
    assert uploads_in_flight_purge(now=timezone.now()) == 1
    assert not UploadInFlight.objects.filter(pk=stale.pk).exists()
    assert UploadInFlight.objects.count() == 1
