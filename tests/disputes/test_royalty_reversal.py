"""Royalties a reversed contribution earned are reversed with it: the part still unsettled is
withdrawn, the part already settled clawed back like a reward (never below zero, carried,
audited, netted in the published inputs), each part once, the other payees and the treasury
untouched. The contributor ends with those royalties recovered."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from contributions.releases import release_publish
from contributions.royalties import release_share_sources
from datadao.models import AuditEvent, DatasetStatus
from disputes import services
from disputes.models import Challenge
from ipfs.services import content_open_verified
from rewards import epoch_inputs
from rewards.clawbacks import reward_reverse
from rewards.models import Allocation, Clawback, RewardEntry, RoyaltyPayment
from rewards.royalties import royalty_distribute, royalty_policy_set
from rewards.services import epoch_close
from tests.disputes.conftest import Disputed, client_of, file, make_disputed
from tests.factories import new_account

pytestmark = pytest.mark.django_db


def _pay(world: Disputed, key: str, amount: int) -> RoyaltyPayment:
    """A consumer pays ``amount`` for the dataset's latest release, as a confirmed purchase
    credits it (``rights.services``): split by ``release_share_sources``."""
    release = world.dataset.releases.order_by("-version").first()
    return royalty_distribute(
        dao=world.dao,
        dataset=world.dataset,
        payment_key=key,
        amount=amount,
        shares=release_share_sources(release),
        release_cid=release.cid,
    )


def _royalty(payment: RoyaltyPayment, user) -> RewardEntry:  # type: ignore[no-untyped-def]
    return RewardEntry.objects.get(
        source_type="rewards.royaltypayment", source_id=f"{payment.pk}:{user.pk}"
    )


def _allocated(epoch, user) -> int:  # type: ignore[no-untyped-def]
    row = Allocation.objects.filter(epoch=epoch, account=user.address).first()
    return 0 if row is None else int(row.amount)


def _replayed(epoch) -> epoch_inputs.Settlement:  # type: ignore[no-untyped-def]
    with content_open_verified(cid=epoch.inputs_cid) as stream:
        return epoch_inputs.settle(json.loads(stream.read()))


def _uphold(world: Disputed, contribution) -> int:  # type: ignore[no-untyped-def]
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=contribution.pk,
        reason="schema",
    )
    assert r.status_code == 201, r.content
    services.challenge_uphold(challenge_id=r.json()["id"], actor=world.admin, note="fake rows")
    return r.json()["id"]


def test_a_reversed_contributions_royalties_are_withdrawn_or_clawed_back_and_recovered() -> None:
    world = make_disputed(challenge_share_bps=1000)
    treasury = new_account().address
    royalty_policy_set(
        dao=world.dao, actor=None, treasury_share_bps=1000, treasury_address=treasury
    )
    bystander = world.member()
    bad = world.pinned(score=6000)  # the author's junk, challenged later
    world.pinned(score=2000)  # the author's honest work
    world.pinned(bystander, score=2000)
    world.dataset.status = DatasetStatus.OPEN
    world.dataset.save(update_fields=["status"])
    release_publish(dataset=world.dataset, actor=None)

    # Payment 1 settles in epoch 1: 100 to the treasury, 720 to the author (scores 6000 +
    # 2000 of 10000), 180 to the bystander; with the rewards 600 + 200 and 200.
    first = _pay(world, "0xpay1", 1000)
    assert int(_royalty(first, world.author).amount) == 720
    epoch1 = epoch_close(dao=world.dao, actor=None)
    assert _allocated(epoch1, world.author) == 600 + 200 + 720
    # Payment 2 is still unsettled when the challenge is upheld.
    second = _pay(world, "0xpay2", 1000)
    assert int(_royalty(second, world.author).amount) == 720

    pk = _uphold(world, bad)

    # Unsettled: the part the junk earned (720 × 6000 / 8000 = 540) is withdrawn from the
    # author's credit; the honest work's 180 stays. Settled: the reward (600) and the same
    # 540 of payment 1 are clawed back.
    assert int(_royalty(second, world.author).amount) == 180
    mine = Clawback.objects.filter(account=world.author).select_related("entry")
    clawbacks = {(c.entry.reason, c.part): int(c.amount) for c in mine}
    assert clawbacks == {
        ("contribution", ""): 600,
        ("royalty", f"contributions.contribution:{bad.pk}"): 540,
    }
    # The other payees and the treasury keep their parts.
    assert int(_royalty(second, bystander).amount) == 180
    assert (
        int(
            RewardEntry.objects.get(
                source_id=f"{second.pk}:treasury", reason="royalty_treasury"
            ).amount
        )
        == 100
    )
    # The challenge records it, the payments record each part once, the audit log names it.
    challenge = Challenge.objects.get(pk=pk)
    assert (int(challenge.withdrawn), int(challenge.clawed_back)) == (540, 1140)
    second.refresh_from_db()
    first.refresh_from_db()
    assert [(r["how"], r["amount"]) for r in second.reversed] == [("withdrawn", "540")]
    assert [(r["how"], r["amount"]) for r in first.reversed] == [("clawed_back", "540")]
    assert AuditEvent.objects.filter(verb="royalty.reversed").count() == 2
    # The challenger's share of the withdrawn royalty is consumers' money: unscaled share.
    share = RewardEntry.objects.get(account=world.challenger, reason="challenge_share")
    assert int(share.amount) == 54

    # Epoch 2: the author's 180 of payment 2 is kept back towards the 1140 owed.
    epoch2 = epoch_close(dao=world.dao, actor=None)
    assert _allocated(epoch2, world.author) == 0
    assert _allocated(epoch2, bystander) == 180
    assert _replayed(epoch2).root == epoch2.root
    # Later payments pay only the honest work (the junk is rejected): 900 to the author and
    # the bystander half each; the author's 450 is kept back too.
    _pay(world, "0xpay3", 1000)
    _pay(world, "0xpay4", 1000)
    _pay(world, "0xpay5", 1000)
    epoch3 = epoch_close(dao=world.dao, actor=None)
    assert _replayed(epoch3).root == epoch3.root
    # 1140 owed: 180 in epoch 2, 960 of the 1350 in epoch 3; the rest is paid.
    assert _allocated(epoch3, world.author) == 1350 - 960
    assert sum(int(c.remaining) for c in Clawback.objects.filter(account=world.author)) == 0
    # Recovered in all: the reward and every royalty part the junk earned.
    recovered = int(challenge.withdrawn) + int(challenge.clawed_back)
    assert recovered == 600 + 540 + 540

    # Reversing again changes nothing: each part is reversed once.
    with transaction.atomic():
        again = reward_reverse(
            dao=world.dao,
            source_type="contributions.contribution",
            source_ids=[str(bad.pk)],
            reason="again",
            ordered_by=("test", "1"),
            beneficiary=None,
            share_bps=0,
            actor=None,
        )
    assert (again.withdrawn, again.clawbacks) == (0, [])

    # The author sees the reversed part on /me/rewards and in the API.
    page = client_of(world.author).get("/me/rewards").content.decode()
    assert "reversed: a challenge of the work that earned it was upheld" in page
    assert f"the part of it contributions.contribution:{bad.pk} earned" in page
    api = client_of(world.author).get("/api/rewards/royalties").json()["royalties"]
    assert sorted(r["reversed"] for r in api) == ["0", "0", "0", "540", "540"]


def test_a_royalty_with_several_reversed_sources_never_goes_below_zero() -> None:
    """Many wallets' worth of junk under one payee: every source reversed, the credit ends at
    what the honest rest earned, never below zero; floors keep the sum within the credit."""
    world = make_disputed()
    junk = [world.pinned(score=3333) for _ in range(3)]
    world.pinned(score=1)
    world.dataset.status = DatasetStatus.OPEN
    world.dataset.save(update_fields=["status"])
    release_publish(dataset=world.dataset, actor=None)
    payment = _pay(world, "0xpay", 10_007)
    assert int(_royalty(payment, world.author).amount) == 10_007
    for contribution in junk:
        _uphold(world, contribution)
    left = int(_royalty(payment, world.author).amount)
    # Each junk source's part is floor(10007 × 3333 / 10000) = 3335; 3 × 3335 = 10005.
    assert left == 10_007 - 3 * 3335 and left >= 0
    payment.refresh_from_db()
    assert len(payment.reversed) == 3
