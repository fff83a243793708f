"""Clawbacks: a settled reward taken back from later payments in the same DAO, never below
zero, the rest carried; what is netted replays from the epoch's published inputs; the
challenger is paid their share only of what is actually recovered."""

from __future__ import annotations

import json

import pytest

from datadao.models import AuditEvent
from disputes import services
from ipfs.services import content_open_verified
from rewards import epoch_inputs
from rewards.models import Allocation, Clawback, ClawbackDeduction, RewardEntry, Voucher
from rewards.services import RewardsError, epoch_close, voucher_issue
from tests.disputes.conftest import Disputed, client_of, file, make_disputed

pytestmark = pytest.mark.django_db


def _upheld_after_settlement(world: Disputed) -> Clawback:
    """The author is paid 1000 in epoch 1; then a challenge of that work is upheld."""
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason="schema",
        statement="not readings at all",
    )
    services.challenge_uphold(challenge_id=r.json()["id"], actor=world.admin, note="fake rows")
    return Clawback.objects.get(account=world.author)


def _allocated(epoch, user) -> int | None:  # type: ignore[no-untyped-def]
    row = Allocation.objects.filter(epoch=epoch, account=user.address).first()
    return None if row is None else int(row.amount)


def _replayed(epoch) -> epoch_inputs.Settlement:  # type: ignore[no-untyped-def]
    with content_open_verified(cid=epoch.inputs_cid) as stream:
        return epoch_inputs.settle(json.loads(stream.read()))


def test_a_clawback_is_netted_from_later_epochs_never_below_zero_and_carried() -> None:
    world = make_disputed(challenge_share_bps=1000)
    clawback = _upheld_after_settlement(world)
    assert (int(clawback.amount), int(clawback.remaining)) == (1000, 1000)
    bystander = world.member()

    # Epoch 2: the author earns 300, less than owed: paid nothing (no negative leaf), 700 left.
    world.pinned(score=3000)
    world.pinned(bystander, score=2000)
    second = epoch_close(dao=world.dao, actor=None)
    assert _allocated(second, world.author) is None
    assert _allocated(second, bystander) == 200
    assert all(int(a) > 0 for a in Allocation.objects.values_list("amount", flat=True))
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 700
    assert [int(d.amount) for d in clawback.deductions.all()] == [300]
    # Anyone replaying the published inputs nets the same and gets the signed root.
    settled = _replayed(second)
    assert settled.root == second.root and settled.total == int(second.total) == 200

    # Epoch 3: the author earns 1000: 700 kept back, 300 paid; the challenger's share of what
    # was recovered in epoch 2 (10 % of 300) is paid with it.
    world.pinned()
    third = epoch_close(dao=world.dao, actor=None)
    assert _allocated(third, world.author) == 300
    assert _allocated(third, world.challenger) == 30
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 0
    assert _replayed(third).root == third.root
    # 10 % of the 700 recovered in epoch 3 waits for epoch 4.
    share = RewardEntry.objects.filter(account=world.challenger, epoch__isnull=True).get()
    assert (share.reason, int(share.amount)) == ("challenge_share", 70)
    netted = AuditEvent.objects.filter(verb="clawback.netted").order_by("pk")
    assert [e.details["amount"] for e in netted] == ["300", "700"]
    assert AuditEvent.objects.filter(verb="clawback.created").count() == 1

    # The author sees why, how much, and what was kept back from which epoch.
    page = client_of(world.author).get("/me/rewards").content.decode()
    clawbacks = page[page.index("<h2>Clawbacks</h2>") :]
    assert "fake rows" in clawbacks and "from epoch 2" in clawbacks
    assert "from epoch 3" in clawbacks


def test_a_voucher_nets_what_is_owed_and_one_absorbed_entirely_is_refused() -> None:
    world = make_disputed()
    clawback = _upheld_after_settlement(world)
    with pytest.raises(RewardsError, match="owes 1000 in clawbacks"):
        voucher_issue(
            dao=world.dao,
            contributor=world.author.address,
            amount=600,
            deadline=2**40,
            dataset_id="0x" + "00" * 32,
            actor=world.admin,
        )
    assert not Voucher.objects.exists() and not ClawbackDeduction.objects.exists()
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 1000
    voucher = voucher_issue(
        dao=world.dao,
        contributor=world.author.address,
        amount=1500,
        deadline=2**40,
        dataset_id="0x" + "00" * 32,
        actor=world.admin,
    )
    assert int(voucher.amount) == 500 and int(voucher.typed_data["message"]["amount"]) == 500
    clawback.refresh_from_db()
    assert int(clawback.remaining) == 0
    assert int(ClawbackDeduction.objects.get(voucher=voucher).amount) == 1000


def test_a_sybil_challenging_its_own_settled_work_recovers_only_its_bond() -> None:
    """Many wallets: the author's second wallet challenges the author's settled work to farm
    the share. The share is paid only out of money recovered from the author; an author who
    never earns again is recovered nothing, so the sybil gets its own bond back and no more."""
    world = make_disputed(challenge_bond=500, challenge_share_bps=5000)
    target = world.pinned()
    epoch_close(dao=world.dao, actor=None)
    sybil = world.member()
    r = file(
        client_of(sybil), world.dao, target="contribution", target_id=target.pk, reason="schema"
    )
    pk = r.json()["id"]
    services.challenge_bond_record(challenge_id=pk, actor=world.admin, reference="0xbond")
    services.challenge_uphold(challenge_id=pk, actor=world.admin)
    paid = {
        reason: int(amount)
        for reason, amount in RewardEntry.objects.filter(account=sybil).values_list(
            "reason", "amount"
        )
    }
    assert paid == {"challenge_bond": 500}
    assert int(Clawback.objects.get(account=world.author).remaining) == 1000
    # And the author cannot take the shortcut of challenging their own work.
    r = file(
        client_of(world.author),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason="schema",
    )
    assert r.status_code == 403 and r.json()["error"] == "own_work"


def test_a_budget_scaled_reward_is_clawed_back_as_paid_and_returns_are_unscaled() -> None:
    world = make_disputed(challenge_bond=400)
    world.dataset.reward_policy.epoch_budget = 500
    world.dataset.reward_policy.save()
    target = world.pinned()
    world.pinned(world.member())
    first = epoch_close(dao=world.dao, actor=None)
    assert first.budget_scaled and _allocated(first, world.author) == 250
    r = file(
        client_of(world.challenger),
        world.dao,
        target="contribution",
        target_id=target.pk,
        reason="schema",
    )
    pk = r.json()["id"]
    services.challenge_bond_record(challenge_id=pk, actor=world.admin, reference="0xbond")
    services.challenge_uphold(challenge_id=pk, actor=world.admin)
    assert int(Clawback.objects.get(account=world.author).amount) == 250  # what it paid
    # The returned bond is the challenger's own money: no budget scales it.
    world.pinned(world.member())
    world.pinned(world.member())
    second = epoch_close(dao=world.dao, actor=None)
    assert _allocated(second, world.challenger) == 400
