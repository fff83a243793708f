"""Many wallets against a DAO that prefers finality (``epoch_waits_for_challenges``): junk
accepted, released at once and paid for by a consumer earns royalties. They must wait for the
challenge window and never settle while the work that earned them is challenged, as its reward
waits; otherwise they are paid out at the next close, claimed, and an upheld challenge finds
only a clawback the wallet will never repay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contributions.releases import release_publish
from contributions.royalties import release_share_sources
from datadao.models import DatasetStatus
from disputes import services
from rewards.models import Clawback, RewardEntry
from rewards.royalties import royalty_distribute
from rewards.services import epoch_close
from tests.disputes.conftest import client_of, file, make_disputed

pytestmark = pytest.mark.django_db


def _age(**filters) -> None:  # type: ignore[no-untyped-def]
    RewardEntry.objects.filter(**filters).update(created_at=timezone.now() - timedelta(hours=2))


def test_royalties_wait_for_the_window_and_for_a_challenge_of_their_work() -> None:
    world = make_disputed(epoch_waits_for_challenges=True, challenge_window_seconds=3600)
    honest = world.member()
    junk = world.pinned()  # one of the attacker's wallets
    world.pinned(honest)
    world.dataset.status = DatasetStatus.OPEN
    world.dataset.save(update_fields=["status"])
    release = release_publish(dataset=world.dataset, actor=None)
    payment = royalty_distribute(
        dao=world.dao,
        dataset=world.dataset,
        payment_key="0xpay",
        amount=1000,
        shares=release_share_sources(release),
        release_cid=release.cid,
    )
    royalty = RewardEntry.objects.get(source_id=f"{payment.pk}:{world.author.pk}")
    # The honest member's reward has aged past the window: the epoch closes for it alone.
    _age(source_id=RewardEntry.objects.get(account=honest, reason="contribution").source_id)
    first = epoch_close(dao=world.dao, actor=None)
    royalty.refresh_from_db()
    assert royalty.epoch_id is None  # still inside the window: not paid out yet
    assert first.allocations.filter(account=world.author.address).count() == 0

    # The window passes, but the junk is challenged meanwhile: its royalty is held.
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=junk.pk,
        reason="schema",
    )
    assert r.status_code == 201, r.content
    _age(pk=royalty.pk)
    honest_royalty = RewardEntry.objects.get(source_id=f"{payment.pk}:{honest.pk}")
    _age(pk=honest_royalty.pk)
    second = epoch_close(dao=world.dao, actor=None)
    royalty.refresh_from_db()
    honest_royalty.refresh_from_db()
    assert royalty.epoch_id is None and honest_royalty.epoch_id == second.pk

    # Upheld: the royalty was never paid, so it is withdrawn, not a clawback nobody repays.
    services.challenge_uphold(challenge_id=r.json()["id"], actor=world.admin)
    royalty.refresh_from_db()
    assert int(royalty.amount) == 0
    assert not Clawback.objects.filter(account=world.author).exists()
