"""The invariant check itself: silent on a consistent ledger, and names every violation."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from contributions.models import Contribution, ContributionProof, Status
from ipfs.models import Pin
from rewards.models import RewardEntry, RewardPolicy
from tests.fleet.invariants import check_invariants

pytestmark = pytest.mark.django_db

_n = itertools.count()


def _contribution(dataset, status: Status, *, cid: str = "", score: int | None = None):  # type: ignore[no-untyped-def]
    n = next(_n)
    return Contribution.objects.create(
        dataset=dataset,
        contributor=dataset.dao.memberships.first().user,
        status=status,
        sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        size=10,
        storage_name=f"inv-{n}",
        cid=cid,
        score=score,
    )


def _pinned(dataset, cid: str, *, credit: bool = True, proof: bool = True):  # type: ignore[no-untyped-def]
    contribution = _contribution(dataset, Status.PINNED, cid=cid, score=5000)
    Pin.objects.create(cid=cid, backend="embedded")
    if proof:
        ContributionProof.objects.create(
            contribution=contribution, typed_data={}, signature="0x", signer="0x"
        )
    if credit:
        _credit(contribution, 500)
    return contribution


def _credit(contribution, amount: int) -> None:  # type: ignore[no-untyped-def]
    RewardEntry.objects.create(
        dao=contribution.dataset.dao,
        dataset=contribution.dataset,
        account=contribution.contributor,
        amount=amount,
        reason="contribution",
        source_type="contributions.contribution",
        source_id=str(contribution.pk),
    )


def test_a_consistent_ledger_passes(tabular) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=1000)
    _pinned(tabular, "bafy-a")
    _pinned(tabular, "bafy-b")
    _contribution(tabular, Status.REJECTED)
    report = check_invariants()
    assert (report.contributions, report.pinned, report.rejected) == (3, 2, 1)
    assert report.pins == report.distinct_cids == report.reward_entries == 2


def test_every_violation_is_named(tabular) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=1000)
    stuck = _contribution(tabular, Status.PINNING, cid="bafy-stuck")
    no_credit = _pinned(tabular, "bafy-a", credit=False)
    no_proof = _pinned(tabular, "bafy-b", proof=False)
    rejected = _contribution(tabular, Status.REJECTED)
    _credit(rejected, 500)
    wrong = _pinned(tabular, "bafy-c", credit=False)
    _credit(wrong, 1)
    with pytest.raises(AssertionError) as failure:
        check_invariants()
    text = str(failure.value)
    assert f"not in a final state: [({stuck.pk}, 'pinning')]" in text
    assert f"pinned but never credited: ['{no_credit.pk}']" in text
    assert f"without exactly one proof: {{{no_proof.pk}: 0}}" in text
    assert f"credited but not pinned (or no credit due): ['{rejected.pk}']" in text
    assert f"credits of the wrong amount (got, expected): {{'{wrong.pk}': (1, 500)}}" in text
