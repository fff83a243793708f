"""A proposal's whole life against the real stack (PostgreSQL, the IPFS store): proposed,
voted, closed, published with its votes, executed by the console's service with the
proposal named in the audit log; rejected without quorum; held back by the timelock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from contributions.models import Contribution, Release, Status
from datadao import services as dao_services
from datadao.governed import ChangeKind
from datadao.models import AuditEvent, DatasetStatus, JoinPolicy, Membership, Role
from governance import services, vote712
from governance.models import Proposal, ProposalStatus
from governance.tasks import settle_proposal
from ipfs.models import Pin
from ipfs.services import content_open_verified
from rewards.models import RewardPolicy
from tests.governance.conftest import Gov, cast, hours_ago, propose
from tests.ipfsnode import IpfsNode

pytestmark = pytest.mark.django_db

FOR, AGAINST, ABSTAIN = vote712.FOR, vote712.AGAINST, vote712.ABSTAIN
NEW_SCHEMA = {"columns": [{"name": "id", "type": "int", "required": True}]}


def _pass(gov: Gov, kind: str, change: dict[str, Any]) -> Proposal:
    """Propose two hours ago for an hour, two members for and one against; settle now."""
    proposal = propose(gov, kind, change, at=hours_ago(2))
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, FOR, at=hours_ago(1.8))
    cast(gov, "carol", proposal, AGAINST, at=hours_ago(1.7))
    settled = services.proposal_settle(proposal_id=proposal.pk)
    assert settled is not None
    return settled


def _audited(gov: Gov, verb: str, proposal: Proposal) -> AuditEvent:
    events = [e for e in AuditEvent.objects.filter(dao=gov.dao, verb=verb)]
    named = [e for e in events if e.details.get("proposal") == proposal.pk]
    assert len(named) == 1, [(e.verb, e.details) for e in events]
    assert named[0].actor is None  # the DAO's decision, applied by the platform
    return named[0]


def _executed(proposal: Proposal) -> None:
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED, (proposal.status, proposal.failure)
    assert proposal.tally["result"] == "passed" and proposal.tally["for"] == "2"
    assert proposal.cid and Pin.objects.filter(cid=proposal.cid, label=f"proposal:{proposal.pk}")
    verbs = AuditEvent.objects.filter(object_id=str(proposal.pk), object_type="governance.proposal")
    assert {"proposal.created", "proposal.closed", "proposal.passed", "proposal.executed"} <= set(
        verbs.values_list("verb", flat=True)
    )


def test_a_schema_change_is_executed_by_dataset_update(gov: Gov) -> None:
    proposal = _pass(
        gov, ChangeKind.DATASET_SCHEMA, {"dataset": gov.dataset.pk, "schema": NEW_SCHEMA}
    )
    _executed(proposal)
    gov.dataset.refresh_from_db()
    assert gov.dataset.schema == NEW_SCHEMA
    event = _audited(gov, "dataset.updated", proposal)
    assert event.details["schema"][1] == NEW_SCHEMA


def test_a_status_change_is_executed_by_dataset_set_status(gov: Gov) -> None:
    change = {"dataset": gov.dataset.pk, "status": "closed"}
    proposal = _pass(gov, ChangeKind.DATASET_STATUS, change)
    _executed(proposal)
    gov.dataset.refresh_from_db()
    assert gov.dataset.status == DatasetStatus.CLOSED
    assert _audited(gov, "dataset.status_changed", proposal).details["to"] == "closed"


def test_a_licence_change_is_executed_by_dataset_update(gov: Gov) -> None:
    change = {"dataset": gov.dataset.pk, "license": "mit"}
    proposal = _pass(gov, ChangeKind.DATASET_LICENSE, change)
    # Normalized when proposed, as the console normalizes it.
    assert proposal.change["license"] == "MIT"
    _executed(proposal)
    gov.dataset.refresh_from_db()
    assert gov.dataset.license == "MIT"
    assert _audited(gov, "dataset.updated", proposal).details["license"] == ["CC-BY-4.0", "MIT"]


def test_a_reward_policy_is_executed_by_reward_policy_set(gov: Gov) -> None:
    big = str(10**30)
    change = {"dataset": gov.dataset.pk, "per_contribution": big, "epoch_budget": None}
    proposal = _pass(gov, ChangeKind.REWARD_POLICY, change)
    _executed(proposal)
    policy = RewardPolicy.objects.get(dataset=gov.dataset)
    assert int(policy.per_contribution) == 10**30 and policy.epoch_budget is None
    event = _audited(gov, "reward_policy.created", proposal)
    assert event.details["per_contribution"] == ["0", big]


def test_a_join_policy_is_executed_by_dao_update(gov: Gov) -> None:
    proposal = _pass(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    _executed(proposal)
    gov.dao.refresh_from_db()
    assert gov.dao.join_policy == JoinPolicy.OPEN
    assert _audited(gov, "dao.updated", proposal).details["join_policy"] == ["request", "open"]


def test_a_membership_role_is_executed_by_membership_set_role(gov: Gov) -> None:
    change = {"address": gov.users["bob"].address.lower(), "role": "admin"}
    proposal = _pass(gov, ChangeKind.MEMBERSHIP_ROLE, change)
    _executed(proposal)
    assert Membership.objects.get(dao=gov.dao, user=gov.users["bob"]).role == Role.ADMIN
    event = _audited(gov, "membership.role_changed", proposal)
    assert event.details["to"] == "admin"


def test_governance_settings_are_executed_by_dao_update(gov: Gov) -> None:
    change = {"governance_reserved": ["reward.policy"], "governance_timelock_seconds": 60}
    proposal = _pass(gov, ChangeKind.GOVERNANCE, change)
    _executed(proposal)
    gov.dao.refresh_from_db()
    assert gov.dao.governance_reserved == ["reward.policy"]
    assert gov.dao.governance_timelock_seconds == 60
    assert _audited(gov, "dao.updated", proposal).details["governance_timelock_seconds"] == [0, 60]


def test_a_release_is_published_by_release_publish(gov: Gov, client_for: Any) -> None:
    # A pinned contribution to publish (the pipeline's outcome, written as the recorder would).
    Contribution.objects.create(
        dataset=gov.dataset,
        contributor=gov.users["alice"],
        status=Status.PINNED,
        cid="bafkreigovernancetestcontribution",
        storage_name="gov-release",
        sha256="ab" * 32,
        size=10,
        media_type="text/csv",
        score=9000,
    )
    proposal = _pass(gov, ChangeKind.RELEASE_PUBLISH, {"dataset": gov.dataset.pk})
    _executed(proposal)
    release = Release.objects.get(dataset=gov.dataset)
    assert release.version == 1 and release.contributions_count == 1
    assert _audited(gov, "release.published", proposal).details["cid"] == release.cid
    executed = AuditEvent.objects.get(verb="proposal.executed", object_id=str(proposal.pk))
    assert executed.details["release"] == release.cid


def test_without_quorum_a_proposal_is_rejected_and_nothing_changes(gov: Gov) -> None:
    proposal = propose(
        gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2), quorum=3
    )
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, FOR, at=hours_ago(1.8))
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED and proposal.cid
    assert proposal.tally == {
        "for": "2",
        "against": "0",
        "abstain": "0",
        "votes": 2,
        "cast": "2",
        "quorum": "3",
        "quorum_reached": False,
        "result": "rejected",
    }
    gov.dao.refresh_from_db()
    assert gov.dao.join_policy == JoinPolicy.REQUEST
    assert AuditEvent.objects.filter(verb="proposal.rejected", object_id=str(proposal.pk)).exists()


def test_abstentions_count_towards_quorum_and_a_tie_is_rejected(gov: Gov) -> None:
    proposal = propose(
        gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2), quorum=3
    )
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, AGAINST, at=hours_ago(1.8))
    cast(gov, "carol", proposal, ABSTAIN, at=hours_ago(1.7))
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.tally["quorum_reached"] is True
    assert proposal.status == ProposalStatus.REJECTED


def test_a_changed_vote_counts_once_with_its_latest_choice(gov: Gov) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    _, first = cast(gov, "alice", proposal, AGAINST, at=hours_ago(1.9))
    vote, again = cast(gov, "alice", proposal, FOR, at=hours_ago(1.8))
    assert first is True and again is False
    cast(gov, "bob", proposal, FOR, at=hours_ago(1.7))
    assert proposal.votes.count() == 2 and vote.choice == FOR
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert (proposal.tally["for"], proposal.tally["against"]) == ("2", "0")
    assert proposal.status == ProposalStatus.EXECUTED
    assert AuditEvent.objects.filter(verb="proposal.vote_changed").count() == 1


def test_the_timelock_holds_a_passed_proposal_back(gov: Gov) -> None:
    dao_services.dao_update(dao=gov.dao, actor=None, governance_timelock_seconds=3 * 3600)
    proposal = _pass(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    assert proposal.status == ProposalStatus.PASSED and proposal.timelock_seconds == 3 * 3600
    gov.dao.refresh_from_db()
    assert gov.dao.join_policy == JoinPolicy.REQUEST
    # Not due: the sweep of due proposals leaves it; an early settle changes nothing.
    assert proposal.pk not in services.proposals_due(now=timezone.now(), limit=100)
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PASSED
    # Ended an hour ago: due two hours from now.
    later = timezone.now() + timedelta(hours=2, minutes=1)
    assert proposal.pk in services.proposals_due(now=later, limit=100)
    services.proposal_settle(proposal_id=proposal.pk, now=later)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED and proposal.executed_at == later
    gov.dao.refresh_from_db()
    assert gov.dao.join_policy == JoinPolicy.OPEN


def test_a_change_that_no_longer_holds_fails_and_says_why(gov: Gov) -> None:
    change = {"address": gov.users["carol"].address, "role": "reviewer"}
    proposal = propose(gov, ChangeKind.MEMBERSHIP_ROLE, change, at=hours_ago(2))
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, FOR, at=hours_ago(1.8))
    dao_services.membership_remove(
        membership=Membership.objects.get(dao=gov.dao, user=gov.users["carol"]), actor=None
    )
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.FAILED
    assert proposal.failure
    assert AuditEvent.objects.get(verb="proposal.failed", object_id=str(proposal.pk))


def test_the_settle_task_is_idempotent(gov: Gov) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    cast(gov, "bob", proposal, FOR, at=hours_ago(1.8))
    assert settle_proposal.run(proposal.pk) == ProposalStatus.EXECUTED
    first = Proposal.objects.get(pk=proposal.pk)
    assert settle_proposal.run(proposal.pk) == ProposalStatus.EXECUTED
    again = Proposal.objects.get(pk=proposal.pk)
    assert (again.cid, again.executed_at, again.tally) == (
        first.cid,
        first.executed_at,
        first.tally,
    )
    for verb in ("proposal.closed", "proposal.passed", "proposal.executed", "dao.updated"):
        assert AuditEvent.objects.filter(dao=gov.dao, verb=verb).count() == 1, verb
    assert settle_proposal.run(10**9) is None


def test_the_published_json_alone_proves_the_tally(gov: Gov) -> None:
    """Read the pinned bytes back from IPFS (re-hashed to their CID), then check them
    with nothing else: the proposal's hash, each signer recovered, the tally recomputed."""
    proposal = _pass(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    with content_open_verified(cid=proposal.cid) as pinned:
        published = json.loads(pinned.read())
    assert published["hash"] == proposal.hash and len(published["votes"]) == 3
    recomputed = vote712.verify_published(published)
    assert recomputed == published["tally"] == proposal.tally
    assert recomputed["result"] == "passed"
    assert {v["signer"] for v in published["votes"]} == {
        gov.users[n].address for n in ("alice", "bob", "carol")
    }
    # Anything altered is caught: a vote's choice, or the proposal's change.
    forged = json.loads(json.dumps(published))
    vote = forged["votes"][0]["message"]
    vote["choice"] = FOR if vote["choice"] != FOR else AGAINST
    with pytest.raises(ValueError, match="was signed by"):
        vote712.verify_published(forged)
    forged = json.loads(json.dumps(published))
    forged["proposal"]["change"] = {"join_policy": "invite"}
    with pytest.raises(ValueError, match="hashes to"):
        vote712.verify_published(forged)
    # The page and the API name the same CID.
    assert Proposal.objects.get(pk=proposal.pk).cid == proposal.cid


def test_the_beat_task_sends_each_due_proposal(gov: Gov, monkeypatch: pytest.MonkeyPatch) -> None:
    from governance import tasks

    due = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    running = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "invite"})
    sent: list[int] = []
    monkeypatch.setattr(tasks, "send", lambda task, pk: sent.append(pk))
    assert tasks.settle_due_proposals.run() == [due.pk]
    assert sent == [due.pk] and running.pk not in sent


def test_a_closed_proposal_is_pinned_with_its_votes_on_a_real_ipfs_node(
    gov: Gov, ipfs_node: IpfsNode
) -> None:
    """With the IPFS node as the backend: the node itself pins the result, and its bytes,
    fetched from the node's own API (no platform code), prove the tally."""
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        proposal = _pass(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    assert proposal.status == ProposalStatus.EXECUTED and proposal.cid
    api = ipfs_node.api_url.rstrip("/")
    pins = requests.post(f"{api}/api/v0/pin/ls", params={"arg": proposal.cid}, timeout=30)
    # (js-ipfs names the pin in another multibase, so its entry is compared by type)
    assert pins.status_code == 200
    assert [p["Type"] for p in pins.json()["Keys"].values()] == ["recursive"]
    fetched = requests.post(f"{api}/api/v0/cat", params={"arg": proposal.cid}, timeout=30)
    assert fetched.status_code == 200
    published = json.loads(fetched.content)
    assert published["id"] == proposal.pk and len(published["votes"]) == 3
    assert vote712.verify_published(published) == proposal.tally
