"""Royalties (rewards/royalties.py): a consumer's payment split into the reward pool once,
exactly, after the treasury share; refusals that store nothing; exempt from the epoch budget;
the shares of a release (contributions/royalties.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from contributions.models import Contribution, Status
from contributions.releases import release_publish
from contributions.royalties import release_shares
from datadao.models import AuditEvent
from rewards import services
from rewards.models import RewardEntry, RewardPolicy, RoyaltyPayment, RoyaltyPolicy
from rewards.royalties import royalty_distribute, royalty_policy_set
from rewards.split import split_pro_rata
from tests.factories import DatasetFactory, UserFactory, new_account

pytestmark = pytest.mark.django_db

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing


@pytest.fixture(autouse=True)
def _signer_and_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


def _pinned(dataset, user, score: int, n: int) -> Contribution:  # type: ignore[no-untyped-def]
    return Contribution.objects.create(
        dataset=dataset,
        contributor=user,
        sha256=f"{n:064x}",
        size=1,
        storage_name=f"royalty-{n}",
        status=Status.PINNED,
        cid=f"bafkreiroyalty{n}",
        score=score,
    )


def _distribute(dataset, key: str, amount: int, shares):  # type: ignore[no-untyped-def]
    return royalty_distribute(
        dao=dataset.dao, dataset=dataset, payment_key=key, amount=amount, shares=shares
    )


def test_a_payment_is_split_by_score_after_the_treasury_share_and_adds_up_exactly() -> None:
    dataset = DatasetFactory()
    dao = dataset.dao
    treasury = new_account().address
    royalty_policy_set(dao=dao, actor=None, treasury_share_bps=1234, treasury_address=treasury)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    # a has two contributions: one payee, rounded once.
    shares = [(a.pk, 7000), (b.pk, 2000), (a.pk, 1000), (c.pk, 3000)]
    payment = _distribute(dataset, "0x" + "aa" * 32, 1_000_003, shares)

    assert int(payment.treasury_amount) == 1_000_003 * 1234 // 10_000 == 123_400
    expected = split_pro_rata(
        1_000_003 - 123_400,
        [(a.address.lower(), 8000), (b.address.lower(), 2000), (c.address.lower(), 3000)],
    )
    credited = {
        e.account.address.lower(): (e.reason, int(e.amount))
        for e in RewardEntry.objects.select_related("account")
    }
    assert credited == {
        **{address: ("royalty", amount) for address, amount in expected.items()},
        treasury.lower(): ("royalty_treasury", 123_400),
    }
    assert sum(amount for _, amount in credited.values()) == 1_000_003
    assert [(r["address"], r["score"]) for r in payment.shares] == sorted(
        [(a.address, 8000), (b.address, 2000), (c.address, 3000)], key=lambda r: r[0].lower()
    )
    assert payment.total_score == 13_000
    event = AuditEvent.objects.get(verb="royalty.distributed")
    assert event.details["amount"] == "1000003" and event.details["treasury"] == "123400"
    # The credits wait in the open epoch like every other credit.
    assert not RewardEntry.objects.filter(epoch__isnull=False).exists()
    assert services.epoch_accrued(dao=dao) == 1_000_003


def test_the_same_payment_key_credits_once_and_a_conflicting_reuse_is_refused() -> None:
    dataset = DatasetFactory()
    user = UserFactory()
    first = _distribute(dataset, "tx-1", 1000, [(user.pk, 5000)])
    again = _distribute(dataset, " tx-1 ", 1000, [(user.pk, 5000), (UserFactory().pk, 5000)])
    assert again.pk == first.pk
    assert RewardEntry.objects.count() == 1 and int(RewardEntry.objects.get().amount) == 1000
    with pytest.raises(services.RewardsError, match="already credited") as info:
        _distribute(dataset, "tx-1", 999, [(user.pk, 5000)])
    assert info.value.code == "payment_key_used" and info.value.status_code == 409
    assert RoyaltyPayment.objects.count() == 1 and RewardEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "shares", "message"),
    [
        (0, "one", "whole number of the token's smallest unit > 0, not 0"),
        (-5, "one", "> 0, not -5"),
        (1.5, "one", "> 0, not 1.5"),
        (True, "one", "> 0, not True"),
        (2**256, "one", "> 0, not"),
        (10, [], "lists no contributor to pay"),
        (10, "zero", "scores add up to 0"),
        (10, "negative", "negative score -1"),
        (10, "unknown", "No user has the id 987654321"),
        (10, [("1", 2)], "A share is \\(user id, score\\) in integers"),
    ],
)
def test_refusals_name_the_problem_and_store_nothing(
    amount: object, shares: object, message: str
) -> None:
    dataset = DatasetFactory()
    user = UserFactory()
    named = {
        "one": [(user.pk, 5000)],
        "zero": [(user.pk, 0)],
        "negative": [(user.pk, 5000), (UserFactory().pk, -1)],
        "unknown": [(user.pk, 5000), (987654321, 10)],
    }
    with pytest.raises(services.RewardsError, match=message):
        given = named[shares] if isinstance(shares, str) else shares
        _distribute(dataset, "tx", amount, given)
    assert not RoyaltyPayment.objects.exists() and not RewardEntry.objects.exists()


def test_a_payment_key_and_the_dao_are_checked() -> None:
    dataset, other = DatasetFactory(), DatasetFactory()
    shares = [(UserFactory().pk, 1)]
    with pytest.raises(services.RewardsError, match="needs a payment key"):
        _distribute(dataset, "  ", 10, shares)
    with pytest.raises(services.RewardsError, match="longer than 128"):
        _distribute(dataset, "k" * 129, 10, shares)
    with pytest.raises(services.RewardsError, match=f"'{other.name}' is not {dataset.dao.name}"):
        royalty_distribute(
            dao=dataset.dao, dataset=other, payment_key="k", amount=10, shares=shares
        )
    assert not RoyaltyPayment.objects.exists()


@pytest.mark.parametrize(
    ("bps", "address", "message"),
    [
        (10_001, "", "between 0 and 10000 basis points, not 10001"),
        (-1, "", "between 0 and 10000 basis points, not -1"),
        (2.5, "", "whole number of basis points"),
        (500, "", "needs a treasury address"),
        (500, "0x123", "is not an Ethereum address"),
    ],
)
def test_a_treasury_share_out_of_range_or_without_an_address_is_refused(
    bps: object, address: str, message: str
) -> None:
    dao = DatasetFactory().dao
    with pytest.raises(services.RewardsError, match=message):
        royalty_policy_set(dao=dao, actor=None, treasury_share_bps=bps, treasury_address=address)  # type: ignore[arg-type]
    assert not RoyaltyPolicy.objects.exists()


def test_the_database_refuses_a_policy_the_service_would_refuse() -> None:
    dao = DatasetFactory().dao
    for fields in ({"treasury_share_bps": 10_001}, {"treasury_share_bps": 1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RoyaltyPolicy.objects.create(dao=dao, **fields)


def test_policy_changes_are_audited_with_before_and_after() -> None:
    dataset = DatasetFactory()
    dao, actor = dataset.dao, dataset.dao.creator
    treasury = new_account().address
    royalty_policy_set(
        dao=dao, actor=actor, treasury_share_bps=1000, treasury_address=treasury.lower()
    )
    policy = royalty_policy_set(
        dao=dao, actor=actor, treasury_share_bps=2500, treasury_address=treasury
    )
    assert policy.treasury_address == treasury  # checksummed
    royalty_policy_set(dao=dao, actor=actor, treasury_share_bps=2500, treasury_address=treasury)
    events = list(AuditEvent.objects.filter(verb="royalty_policy.updated").order_by("id"))
    assert [e.details for e in events] == [
        {"before": None, "after": {"treasury_share_bps": 1000, "treasury_address": treasury}},
        {
            "before": {"treasury_share_bps": 1000, "treasury_address": treasury},
            "after": {"treasury_share_bps": 2500, "treasury_address": treasury},
        },
    ]
    assert all(e.actor_id == actor.pk for e in events)
    # The new share applies to the next payment.
    user = UserFactory()
    payment = _distribute(dataset, "tx", 1000, [(user.pk, 1)])
    assert int(payment.treasury_amount) == 250 and payment.treasury_share_bps == 2500


def test_royalties_are_not_scaled_by_the_epoch_budget() -> None:
    dataset = DatasetFactory()
    dao = dataset.dao
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000, epoch_budget=999)
    users = [UserFactory() for _ in range(3)]
    for i, user in enumerate(users):
        services.reward_credit_contribution(contribution=_pinned(dataset, user, 10000, i))
    # 1,001 by equal scores: 334 + 334 + 333 (the extra unit to the smallest address).
    _distribute(dataset, "tx-budget", 1001, [(u.pk, 5000) for u in users])
    royalty = {
        e.account.address: int(e.amount)
        for e in RewardEntry.objects.filter(reason="royalty").select_related("account")
    }
    assert sorted(royalty.values()) == [333, 334, 334]
    assert royalty[min(royalty, key=str.lower)] == 334
    expected = {address: 333 + part for address, part in royalty.items()}

    assert services.epoch_simulate(dao=dao) == dict(sorted(expected.items()))
    preview = services.epoch_preview(epoch=services.epoch_current(dao=dao))
    assert preview.plan.scaled and preview.plan.total == 999 + 1001
    assert {(r.contributions, r.royalties) for r in preview.rows} == {(1, 1)}
    epoch = services.epoch_close(dao=dao, actor=None)
    assert epoch.budget_scaled and int(epoch.total) == 999 + 1001
    assert {a.account: int(a.amount) for a in epoch.allocations.all()} == expected


def test_a_budget_with_only_royalties_scales_nothing() -> None:
    dataset = DatasetFactory()
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000, epoch_budget=1)
    user = UserFactory()
    _distribute(dataset, "tx-only", 500, [(user.pk, 1)])
    epoch = services.epoch_close(dao=dataset.dao, actor=None)
    assert not epoch.budget_scaled and int(epoch.total) == 500


def test_release_shares_are_the_pinned_scored_contributions_of_the_release() -> None:
    dataset = DatasetFactory(status="open")
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    first = _pinned(dataset, a, 6000, 1)
    rejected_later = _pinned(dataset, b, 4000, 2)
    second = _pinned(dataset, a, 2000, 3)
    _pinned(dataset, c, 0, 4)  # pinned with a score of 0: earns nothing
    withdrawn_later = _pinned(dataset, c, 5000, 6)
    release = release_publish(dataset=dataset, actor=None)
    assert release.contributions_count == 5
    # After the release: the DAO rejects one, a contributor withdraws consent for another, and
    # a new one is pinned (not in this release).
    Contribution.objects.filter(pk=rejected_later.pk).update(status=Status.REJECTED)
    Contribution.objects.filter(pk=withdrawn_later.pk).update(withdrawn_at=timezone.now())
    _pinned(dataset, c, 9000, 5)
    assert release_shares(release) == [(a.pk, 6000), (a.pk, 2000)]
    assert [first.pk, second.pk] == [
        e["id"] for e in release.manifest["contributions"] if e["contributor"] == a.address
    ]


def test_a_manifest_naming_another_contributor_pays_nobody_for_that_entry() -> None:
    dataset = DatasetFactory(status="open")
    a = UserFactory()
    _pinned(dataset, a, 6000, 1)
    release = release_publish(dataset=dataset, actor=None)
    release.manifest["contributions"][0]["contributor"] = new_account().address
    assert release_shares(release) == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_of_one_payment_credit_it_once() -> None:
    """The second confirmation arrives while the first is still uncommitted: it waits on the
    payment key's unique index, then finds the first one's payment and credits nothing."""
    dataset = DatasetFactory()
    users = [UserFactory() for _ in range(3)]
    shares = [(u.pk, 1000 * (i + 1)) for i, u in enumerate(users)]
    results: dict[str, object] = {}
    inserted, commit = threading.Event(), threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = _distribute(dataset, "0x" + "cc" * 32, 10**18 + 1, shares).pk
                inserted.set()
                commit.wait(10)
        finally:
            connection.close()

    def second() -> None:
        inserted.wait(10)
        try:
            results["second"] = _distribute(dataset, "0x" + "cc" * 32, 10**18 + 1, shares).pk
        except Exception as exc:  # collected, asserted below
            results["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inserted.wait(10)
    time.sleep(0.5)  # the second is blocked on the unique index by now
    assert "second" not in results
    commit.set()
    for thread in threads:
        thread.join()
    assert results["first"] == results["second"], results
    assert RoyaltyPayment.objects.count() == 1 and RewardEntry.objects.count() == 3
    total = sum(int(a) for a in RewardEntry.objects.values_list("amount", flat=True))
    assert total == 10**18 + 1
