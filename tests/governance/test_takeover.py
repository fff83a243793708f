"""Attack: one member takes a DAO over through governance. Alone, they propose making
themselves its creator with a quorum of 1 and the shortest period, vote for it, and wait.
The DAO's minimum quorum (a share of all the voting power eligible when the proposal is made)
refuses that proposal; the same change passes only when that share of the DAO votes."""

from __future__ import annotations

import pytest

from datadao import services as dao_services
from datadao.governed import ChangeKind
from datadao.models import Membership, Role
from governance import power, services, vote712
from governance.errors import ProposalRefused
from governance.models import ProposalStatus
from tests.governance.conftest import Gov, cast, hours_ago, propose

pytestmark = pytest.mark.django_db

TAKEOVER = {"address": None, "role": "creator"}
FOR = vote712.FOR


def _takeover(gov: Gov) -> dict[str, str]:
    return {**TAKEOVER, "address": gov.users["alice"].address}


def test_a_lone_member_cannot_pass_a_proposal_with_a_quorum_of_one(gov: Gov) -> None:
    # 5 members with a vote: the default minimum (20 %) is 1 of 5 -> raise it to a majority.
    gov.dao.governance_min_quorum_bps = 5001
    gov.dao.save(update_fields=["governance_min_quorum_bps"])
    with pytest.raises(ProposalRefused, match=r"quorum: at least 3, .*\(50\.01 % of the 5") as no:
        propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), quorum=1, period=60)
    assert no.value.code == "quorum_too_low"
    assert Membership.objects.get(dao=gov.dao, user=gov.users["alice"]).role == Role.CONTRIBUTOR


def test_the_default_minimum_is_a_fifth_of_the_eligible_power(gov: Gov) -> None:
    for n in range(20):  # a bigger DAO: 25 members
        user = dao_services.user_get_or_create(address=f"0x{n + 1:040x}")[0]
        dao_services.membership_add(dao=gov.dao, user=user, role=Role.CONTRIBUTOR, actor=None)
    Membership.objects.filter(dao=gov.dao).update(created_at=hours_ago(24 * 30))
    with pytest.raises(ProposalRefused, match="at least 5"):
        propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), quorum=4, at=hours_ago(2))
    proposal = propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), quorum=5, at=hours_ago(2))
    assert proposal.document["voting_power"]["eligible"] == "25"
    # Alone, the proposer does not reach it: rejected.
    cast(gov, "alice", proposal, FOR, at=hours_ago(1.5))
    proposal.ends_at = hours_ago(1)
    proposal.save(update_fields=["ends_at"])
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED
    assert Membership.objects.get(dao=gov.dao, user=gov.users["alice"]).role == Role.CONTRIBUTOR


def test_the_eligible_power_is_fixed_in_the_published_proposal(gov: Gov) -> None:
    proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2))
    assert proposal.document["voting_power"]["eligible"] == "5"
    assert proposal.document["voting_power"]["min_quorum_bps"] == 2000
    # Wallets joining after the proposal neither vote on it nor dilute its quorum.
    late = dao_services.user_get_or_create(address="0x" + "77" * 20)[0]
    dao_services.membership_add(dao=gov.dao, user=late, role=Role.CONTRIBUTOR, actor=None)
    assert power.power_of(proposal=proposal, user=late) == 0
    assert power.eligible_power(dao=gov.dao, at=proposal.created_at, block=None) == 5


def test_a_proposal_shorter_than_the_daos_minimum_period_is_refused(gov: Gov) -> None:
    """A vote of a minute passes before anyone else has seen it: a DAO's proposals last at
    least its minimum period (a day unless the DAO sets another)."""
    gov.dao.governance_min_period_seconds = 24 * 3600
    gov.dao.save(update_fields=["governance_min_period_seconds"])
    with pytest.raises(ProposalRefused, match="voting_period_seconds: at least 86400") as no:
        propose(gov, ChangeKind.MEMBERSHIP_ROLE, _takeover(gov), quorum=2, period=3600)
    assert no.value.code == "period_too_short"
    assert propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, period=24 * 3600)
