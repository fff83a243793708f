"""Item 8: a DAO may make its epochs wait for the challenge window: a credit settles only once
its window has passed and no challenge of it is open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disputes import services
from rewards.models import RewardEntry
from rewards.services import RewardsError, epoch_close, epoch_current, epoch_preview
from tests.disputes.conftest import client_of, file, make_disputed

pytestmark = pytest.mark.django_db


def _age(contribution, hours: float, world) -> None:  # type: ignore[no-untyped-def]
    RewardEntry.objects.filter(source_id=str(contribution.pk)).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


def test_epochs_wait_for_the_window_and_for_open_challenges() -> None:
    world = make_disputed(epoch_waits_for_challenges=True, challenge_window_seconds=3600)
    fresh = world.pinned()
    with pytest.raises(RewardsError, match="wait for their challenge window"):
        epoch_close(dao=world.dao, actor=None)
    matured = world.pinned(world.member())
    challenged = world.pinned(world.member())
    _age(matured, 2, world)
    _age(challenged, 2, world)
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=challenged.pk,
        reason="schema",
    )
    assert r.status_code == 201
    preview = epoch_preview(epoch=epoch_current(dao=world.dao))
    closed = epoch_close(dao=world.dao, actor=None, expected_root=preview.plan.root)
    settled = set(RewardEntry.objects.filter(epoch=closed).values_list("source_id", flat=True))
    assert settled == {str(matured.pk)}
    assert world.credit(fresh).epoch is None and world.credit(challenged).epoch is None
    # The challenge rejected, the held credit settles in the next epoch.
    services.challenge_reject(challenge_id=r.json()["id"], actor=world.admin)
    nxt = epoch_close(dao=world.dao, actor=None)
    assert world.credit(challenged).epoch_id == nxt.pk
    assert world.credit(fresh).epoch is None  # still inside its window


def test_without_the_option_a_challenge_does_not_delay_anyone() -> None:
    world = make_disputed()
    target = world.pinned()
    file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason="schema",
    )
    closed = epoch_close(dao=world.dao, actor=None)
    assert world.credit(target).epoch_id == closed.pk
