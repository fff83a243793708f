"""Challenging a settled labeling item: reviewers decide (an item's consensus is not a pure
function of its labels); an upheld challenge reverses the settlement and its labels' credits."""

from __future__ import annotations

import pytest
from django.utils import timezone

from disputes import services
from disputes.models import ChallengeStatus
from labeling.models import Label, LabelTask, TaskStatus
from labeling.services.settle import _bulk_set_consensus
from rewards.models import RewardEntry, RewardPolicy
from rewards.services import reward_credit_label
from tests.disputes.conftest import client_of, file, make_disputed
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def test_an_upheld_item_challenge_reverses_its_settlement_and_label_credits() -> None:
    world = make_disputed()
    dataset = DatasetFactory(
        dao=world.dao, kind="labeling", schema={"labels": ["cat", "dog"], "overlap": 2}
    )
    RewardPolicy.objects.create(dataset=dataset, per_label=100)
    task = LabelTask.objects.create(
        dataset=dataset,
        source_key="t1",
        kind="text",
        payload={"text": "meow"},
        wanted=2,
        reserved=2,
        label_count=2,
        status=TaskStatus.COMPLETE,
        consensus=["dog"],
        posterior=0.9,
        consensus_at=timezone.now(),
    )
    labelers = [world.member(), world.member()]
    for labeler in labelers:
        label = Label.objects.create(dataset=dataset, task=task, labeler=labeler, value=["dog"])
        reward_credit_label(label=label, agreement_bps=10_000, reputation_bps=10_000)
    assert RewardEntry.objects.filter(source_type="labeling.label").count() == 2

    r = file(client_of(labelers[0]), world.dao, target="item", target_id=task.pk, reason="schema")
    assert r.status_code == 403 and "You labelled item" in r.json()["detail"]
    r = file(
        client_of(world.challenger),
        world.dao,
        target="item",
        target_id=task.pk,
        reason="schema",
        statement="it says meow: a cat",
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    claimed = services.challenge_replay_begin(challenge_id=pk)
    verdict = services.challenge_replay_compute(claimed)
    decided = services.challenge_replay_finish(challenge_id=pk, verdict=verdict)
    assert (
        decided.status == ChallengeStatus.REVIEW and "not replayed" in decided.replay["findings"][0]
    )
    # A labeler of the item may not decide it either.
    labelers[1].memberships.update(role="admin")
    with pytest.raises(services.ChallengeRefused, match="yours"):
        services.challenge_uphold(challenge_id=pk, actor=labelers[1])
    upheld = services.challenge_uphold(challenge_id=pk, actor=world.admin, note="a cat")
    assert upheld.status == ChallengeStatus.UPHELD and int(upheld.withdrawn) == 200
    task.refresh_from_db()
    assert task.consensus is None and task.reversed_at is not None
    assert not RewardEntry.objects.filter(source_type="labeling.label").exists()
    # A later whole-dataset consensus run gives the reversed item no answer again.
    _bulk_set_consensus([(task.pk, ["cat"], 0.8)])
    task.refresh_from_db()
    assert task.consensus is None
    # Nor can it be challenged again: it is no longer a settled item.
    r = file(
        client_of(world.member()), world.dao, target="item", target_id=task.pk, reason="schema"
    )
    assert r.status_code == 409 and r.json()["error"] == "not_challengeable"
