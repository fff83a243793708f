"""Attack: change a proposal's electorate after its snapshot.

A proposal's voting power is fixed when it is made, and the DAO's minimum quorum is a share of
the power eligible then. Three ways around it, each refused:

* reputation that did not exist at the snapshot: contributions uploaded just before proposing
  (still being validated, so not counted in the eligible power) are accepted afterwards and
  would have carried their weight into the proposer's vote, outvoting the whole DAO;
* a former member with reputation who joins again after the proposal is made;
* a token holder who was not a member at the snapshot joins and votes their balance.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from web3 import Web3

from contributions.models import Contribution, Status
from datadao import services as dao_services
from datadao.governed import ChangeKind
from datadao.models import Membership, Role
from governance import power, services, vote712
from governance.models import Proposal, ProposalStatus
from tests.governance.conftest import Gov, cast, gov, hours_ago, propose  # noqa: F401
from tests.rewards import evm
from tests.rewards.conftest import evm_artifacts, w3  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

FOR, AGAINST = vote712.FOR, vote712.AGAINST
_n = iter(range(10_000))


def _contributions(world: Gov, who: str, count: int, status: str, **extra: Any) -> None:
    for _ in range(count):
        n = next(_n)
        Contribution.objects.create(
            dataset=world.dataset,
            contributor=world.users[who],
            status=status,
            sha256=f"{n:064x}",
            cid=f"bafkreielectorate{n}" if status == Status.PINNED else "",
            storage_name=f"electorate-{n}",
            size=1,
            media_type="text/csv",
            created_at=extra.pop("created_at", hours_ago(5)),
        )


def _takeover(world: Gov) -> dict[str, str]:
    return {"address": world.users["alice"].address, "role": "creator"}


def _settle(proposal_id: int) -> Proposal:
    services.proposal_settle(proposal_id=proposal_id)
    return Proposal.objects.get(pk=proposal_id)


def test_reputation_accepted_after_the_snapshot_does_not_vote(gov: Gov) -> None:  # noqa: F811
    dao_services.dao_update(dao=gov.dao, actor=None, voting_power="reputation")
    # Reputation at the snapshot: creator 1, alice 1, bob 2, carol 2 -> eligible 6, minimum 2.
    _contributions(gov, "creator", 1, Status.PINNED)
    _contributions(gov, "alice", 1, Status.PINNED)
    _contributions(gov, "bob", 2, Status.PINNED)
    _contributions(gov, "carol", 2, Status.PINNED)
    # Alice uploads ten cheap files just before proposing: still being validated.
    _contributions(gov, "alice", 10, Status.VALIDATING, created_at=hours_ago(2.5))
    proposal = propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), at=hours_ago(2), quorum=2)
    assert proposal.document["voting_power"]["eligible"] == "6"
    # ...and they are accepted while the proposal is open.
    Contribution.objects.filter(status=Status.VALIDATING).update(status=Status.ACCEPTED)
    cast(gov, "bob", proposal, AGAINST, at=hours_ago(1.8))
    cast(gov, "carol", proposal, AGAINST, at=hours_ago(1.8))
    vote, _ = cast(gov, "alice", proposal, FOR, at=hours_ago(1.7))
    # Her vote carries her reputation at the snapshot, not the eleven she has now.
    assert int(vote.power) == 1
    assert power.power_of(proposal=proposal, user=gov.users["alice"]) == 1
    proposal.ends_at = hours_ago(1)
    proposal.save(update_fields=["ends_at"])
    proposal = _settle(proposal.pk)
    assert (proposal.tally["for"], proposal.tally["against"]) == ("1", "4")
    assert proposal.status == ProposalStatus.REJECTED
    assert Membership.objects.get(dao=gov.dao, user=gov.users["alice"]).role == Role.CONTRIBUTOR
    # The electorate is stored with the proposal: the members' reputation at the snapshot.
    electors = {e.user_id: int(e.power) for e in proposal.electors.all()}
    assert sum(electors.values()) == 6
    assert electors[gov.users["alice"].pk] == 1


def test_a_former_member_who_joins_again_does_not_vote_their_reputation(gov: Gov) -> None:  # noqa: F811
    dao_services.dao_update(dao=gov.dao, actor=None, voting_power="reputation")
    _contributions(gov, "alice", 1, Status.PINNED)
    _contributions(gov, "bob", 1, Status.PINNED)
    _contributions(gov, "carol", 5, Status.PINNED)
    # Carol leaves; the proposal is made without her (eligible: alice 1 + bob 1).
    Membership.objects.get(dao=gov.dao, user=gov.users["carol"]).delete()
    proposal = propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), at=hours_ago(0.5), quorum=1)
    assert proposal.document["voting_power"]["eligible"] == "2"
    cast(gov, "bob", proposal, AGAINST, at=hours_ago(0.4))
    # She joins again while it is open and tries to swing it with her old reputation.
    dao_services.membership_add(
        dao=gov.dao, user=gov.users["carol"], role=Role.CONTRIBUTOR, actor=None
    )
    with pytest.raises(vote712.VoteRefused) as refusal:
        cast(gov, "carol", proposal, FOR, at=timezone.now())
    assert refusal.value.code == "no_voting_power"
    assert not proposal.votes.filter(voter=gov.users["carol"]).exists()


def test_a_token_holder_who_joins_after_the_snapshot_does_not_vote(
    gov: Gov,  # noqa: F811
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
) -> None:
    token = evm.deploy(w3, evm_artifacts["TestToken"])
    evm.fund(token, gov.users["alice"].address, 30 * 10**18)
    evm.fund(token, gov.users["bob"].address, 70 * 10**18)
    # A whale outside the DAO; the eligible power (total supply) counts them anyway.
    evm.fund(token, gov.users["carol"].address, 900 * 10**18)
    Membership.objects.get(dao=gov.dao, user=gov.users["carol"]).delete()
    chain = w3.eth.chain_id
    with override_settings(CHAIN_RPC_URLS={chain: w3.provider}):
        dao_services.dao_update(dao=gov.dao, actor=None, chain_id=chain)
        dao_services.dao_update(
            dao=gov.dao, actor=None, voting_power="token", voting_token=token.address
        )
        proposal = propose(
            gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, quorum=str(200 * 10**18)
        )
        cast(gov, "bob", proposal, AGAINST, at=timezone.now())
        dao_services.membership_add(
            dao=gov.dao, user=gov.users["carol"], role=Role.CONTRIBUTOR, actor=None
        )
        with pytest.raises(vote712.VoteRefused) as refusal:
            cast(gov, "carol", proposal, FOR, at=timezone.now())
    assert refusal.value.code == "no_voting_power"
    assert proposal.votes.count() == 1
