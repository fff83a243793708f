"""The invariant check itself: silent on a consistent ledger, and names every violation."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from django.db.models import F
from django.test import override_settings

from contributions.models import Contribution, ContributionProof, Status
from ipfs.models import Pin
from labeling.models import Label, LabelTask, TaskStatus
from rewards.models import Allocation, Epoch, RewardEntry, RewardPolicy
from rewards.services import epoch_close, reward_credit_label
from tests.factories import UserFactory
from tests.fleet.invariants import check_invariants
from tests.labeling.conftest import make_dataset, make_tasks

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


# --- labels and epochs ------------------------------------------------------------------------

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing


def _labels(dataset, *, settled: bool, n: int = 2) -> list[Label]:  # type: ignore[no-untyped-def]
    """``n`` labels on one task of ``dataset``, its consensus reached (complete) or not."""
    task = make_tasks(dataset, 1, start=next(_n), wanted=n)[0]
    labels = [
        Label.objects.create(dataset=dataset, task=task, labeler=UserFactory(), value=["cat"])
        for _ in range(n)
    ]
    if settled:
        LabelTask.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETE)
    return labels


def _credit_label(label: Label, amount: int | None = None, reason: str = "label") -> None:
    if amount is None:
        reward_credit_label(label=label, agreement_bps=10_000, reputation_bps=10_000)
        return
    RewardEntry.objects.create(
        dao=label.dataset.dao,
        dataset=label.dataset,
        account=label.labeler,
        amount=amount,
        reason=reason,
        source_type="labeling.label",
        source_id=str(label.pk),
    )


@pytest.fixture
def closable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What closing an epoch needs: the rewards signer key and an IPFS store for the dump."""
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


@pytest.mark.usefixtures("closable")
def test_settled_labels_and_closed_epochs_pass(dao, tabular) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=1000)
    labeling = make_dataset(dao)
    RewardPolicy.objects.create(dataset=labeling, per_label=300)
    _pinned(tabular, "bafy-a")
    for label in _labels(labeling, settled=True):
        _credit_label(label)
    _labels(labeling, settled=False)  # still gathering labels: no credit yet
    epoch = epoch_close(dao=dao, actor=None)
    assert int(epoch.total) == 500 + 2 * 300
    report = check_invariants()
    assert (report.settled_labels, report.label_entries, report.closed_epochs) == (2, 2, 1)
    # Scoped to one contribution, the labels and epochs of its DAO's datasets still count.
    scoped = check_invariants(contribution_ids=[], dataset_ids=[labeling.pk])
    assert (scoped.settled_labels, scoped.label_entries, scoped.closed_epochs) == (2, 2, 1)


@pytest.mark.usefixtures("closable")
def test_every_label_and_epoch_violation_is_named(dao) -> None:  # type: ignore[no-untyped-def]
    labeling = make_dataset(dao)
    RewardPolicy.objects.create(dataset=labeling, per_label=300)
    credited, never = _labels(labeling, settled=True)
    _credit_label(credited)
    early, _ = _labels(labeling, settled=False)
    _credit_label(early)
    twice, too_much = _labels(labeling, settled=True)
    _credit_label(twice)
    _credit_label(twice, amount=1, reason="label-bonus")
    _credit_label(too_much, amount=301)
    epoch = epoch_close(dao=dao, actor=None)
    Epoch.objects.filter(pk=epoch.pk).update(total=F("total") + 7)
    allocation = Allocation.objects.filter(epoch=epoch).first()
    Allocation.objects.filter(pk=allocation.pk).update(amount=F("amount") - 7)
    # A credit attached to the epoch now open: closing never leaves one there.
    late, _ = _labels(labeling, settled=True)
    _credit_label(late)
    RewardEntry.objects.filter(source_id=str(late.pk)).update(
        epoch=Epoch.objects.get(dao=dao, status="open")
    )
    with pytest.raises(AssertionError) as failure:
        check_invariants()
    text = str(failure.value)
    assert "reward entries for neither a contribution nor a label: " in text
    assert "('labeling.label', 'label-bonus')" in text
    assert f"labels credited more than once: {{'{twice.pk}': 2}}" in text
    assert f"labels credited but not settled (or no credit due): ['{early.pk}']" in text
    assert f"settled labels never credited: ['{never.pk}'" in text
    assert (
        f"label credits outside [0, per_label] (got, per_label): {{'{too_much.pk}': (301, 300)}}"
        in text
    )
    total = int(epoch.total)
    assert f"epoch 1 of {dao.slug}: stored total {total + 7} != its allocations {total - 7}" in text
    assert (
        f"epoch 1 of {dao.slug}: allocations " in text and " != ledger entries per address " in text
    )
    assert f"epoch 2 of {dao.slug} is open but holds 1 ledger entries" in text
