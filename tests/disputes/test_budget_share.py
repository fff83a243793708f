"""Many wallets against an epoch budget: a challenger's share of a withdrawn (unsettled) reward
is minted in that reward's place, so it is scaled by the budget like the reward it replaces. A
sybil that floods a budget-capped epoch with junk and has a second wallet challenge it gets no
more than the junk would have been paid, and the DAO never mints beyond its budget."""

from __future__ import annotations

import pytest

from disputes import services
from rewards.models import Allocation, RewardEntry
from rewards.services import epoch_close
from tests.disputes.conftest import client_of, file, make_disputed

pytestmark = pytest.mark.django_db

BUDGET = 1000


def test_a_sybil_challenging_its_own_junk_is_paid_within_the_budget() -> None:
    world = make_disputed(challenge_share_bps=10_000)
    world.dataset.reward_policy.epoch_budget = BUDGET
    world.dataset.reward_policy.save()
    honest = world.member()
    world.pinned(honest)  # 1000 at face value
    # Ten wallets of the attacker each pin junk worth 1000 at face value: 11000 against a
    # budget of 1000, so the junk would be paid 10/11 of the budget, about 909, all together.
    junk = [world.pinned(world.member()) for _ in range(10)]
    sybil = world.member()  # the attacker's challenging wallet
    for contribution in junk:
        r = file(
            client_of(sybil),
            world.dao,
            target="contribution",
            target_id=contribution.pk,
            reason="schema",
        )
        assert r.status_code == 201, r.content
        services.challenge_uphold(challenge_id=r.json()["id"], actor=world.admin)
    shares = RewardEntry.objects.filter(account=sybil)
    assert {e.reason for e in shares} == {"challenge_reward"}
    assert sum(int(e.amount) for e in shares) == 10 * 1000  # 100 % of the face value withdrawn

    epoch = epoch_close(dao=world.dao, actor=None)
    paid = {a.account: int(a.amount) for a in Allocation.objects.filter(epoch=epoch)}
    # Minted in all: within the budget, as if the junk had never been challenged.
    assert int(epoch.total) <= BUDGET and epoch.budget_scaled
    assert paid[sybil.address] == 10_000 * BUDGET // 11_000  # 909: the junk's own scaled pay
    assert paid[honest.address] == 1000 * BUDGET // 11_000
