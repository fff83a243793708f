"""Voting power per DAO: reputation from accepted contributions and labels, and token
balances at the proposal's snapshot block read from a real EVM (eth-tester) through
CHAIN_RPC_URLS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from web3 import Web3

from contributions.models import Contribution, Status
from datadao import services as dao_services
from datadao.governed import ChangeKind
from governance import power, services, vote712
from governance.errors import ProposalRefused
from governance.models import ProposalStatus
from ipfs.services import content_open_verified
from labeling.models import Label, LabelTask
from tests.governance.conftest import Gov, cast, hours_ago, propose
from tests.rewards import evm
from tests.rewards.conftest import evm_artifacts, w3  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

FOR, AGAINST = vote712.FOR, vote712.AGAINST


def _contribution(gov: Gov, who: str, status: str, n: int, **extra: Any) -> None:
    Contribution.objects.create(
        dataset=gov.dataset,
        contributor=gov.users[who],
        status=status,
        sha256=f"{n:064x}",
        cid=f"bafkreigovernance{n}" if status == Status.PINNED else "",
        storage_name=f"gov-{n}",
        size=1,
        media_type="text/csv",
        created_at=hours_ago(5),
        **extra,
    )


def test_reputation_counts_accepted_contributions_and_labels_up_to_the_snapshot(
    gov: Gov,
) -> None:
    dao_services.dao_update(dao=gov.dao, actor=None, voting_power="reputation")
    labeling = dao_services.dataset_create(
        dao=gov.dao,
        actor=None,
        name="Labels",
        slug="labels",
        kind="labeling",
        schema={"labels": ["a", "b"]},
        license="CC0-1.0",
    )
    # Alice: 3 pinned or accepted contributions, one rejected, one withdrawn; 2 labels.
    for n, status in enumerate((Status.PINNED, Status.PINNED, Status.ACCEPTED, Status.REJECTED)):
        _contribution(gov, "alice", status, n)
    _contribution(gov, "alice", Status.PINNED, 9, withdrawn_at=hours_ago(4))
    for n in range(2):
        task = LabelTask.objects.create(
            dataset=labeling, source_key=f"t{n}", kind="text", payload={"text": "x"}
        )
        Label.objects.create(
            dataset=labeling,
            task=task,
            labeler=gov.users["alice"],
            value=["a"],
            created_at=hours_ago(5),
        )
    # Bob: one pinned contribution.
    _contribution(gov, "bob", Status.PINNED, 20)
    proposal = propose(
        gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, at=hours_ago(2), quorum=5
    )
    assert proposal.voting_power == "reputation"
    # A contribution after the snapshot does not count.
    Contribution.objects.create(
        dataset=gov.dataset,
        contributor=gov.users["bob"],
        status=Status.PINNED,
        sha256="ee" * 32,
        cid="bafkreigovernancelate",
        storage_name="gov-late",
        size=1,
        created_at=hours_ago(1.95),
    )
    assert power.power_of(proposal=proposal, user=gov.users["alice"]) == 5
    vote, _ = cast(gov, "alice", proposal, FOR, at=hours_ago(1.9))
    assert vote.power == 5
    vote, _ = cast(gov, "bob", proposal, AGAINST, at=hours_ago(1.8))
    assert vote.power == 1
    with pytest.raises(vote712.VoteRefused, match="no voting power") as refusal:
        cast(gov, "carol", proposal, FOR, at=hours_ago(1.7))
    assert refusal.value.code == "no_voting_power"
    services.proposal_settle(proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert (proposal.tally["for"], proposal.tally["against"]) == ("5", "1")
    assert proposal.status == ProposalStatus.EXECUTED


def test_token_power_is_the_balance_at_the_snapshot_block(
    gov: Gov,
    w3: Web3,  # noqa: F811
    evm_artifacts: evm.Artifacts,  # noqa: F811
) -> None:
    token = evm.deploy(w3, evm_artifacts["TestToken"])
    alice, bob, carol = (gov.users[n].address for n in ("alice", "bob", "carol"))
    evm.fund(token, alice, 100 * 10**18)
    evm.fund(token, bob, 40 * 10**18)
    chain = w3.eth.chain_id
    with override_settings(CHAIN_RPC_URLS={chain: w3.provider}):
        dao_services.dao_update(dao=gov.dao, actor=None, chain_id=chain)
        dao_services.dao_update(
            dao=gov.dao, actor=None, voting_power="token", voting_token=token.address
        )
        quorum = str(120 * 10**18)
        proposal = propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"}, quorum=quorum)
        snapshot = proposal.snapshot_block
        assert snapshot == w3.eth.block_number
        assert proposal.document["voting_power"] == {
            "mode": "token",
            "snapshot_time": proposal.document["starts_at"],
            "token": token.address,
            "snapshot_block": snapshot,
            "eligible": str(140 * 10**18),  # the token's total supply at the snapshot
            "min_quorum_bps": 2000,
        }
        # After the snapshot alice and carol get more: it does not count.
        evm.fund(token, alice, 1000 * 10**18)
        evm.fund(token, carol, 500 * 10**18)
        now = timezone.now()
        vote, _ = cast(gov, "alice", proposal, FOR, at=now)
        assert int(vote.power) == 100 * 10**18
        vote, _ = cast(gov, "bob", proposal, AGAINST, at=now)
        assert int(vote.power) == 40 * 10**18
        with pytest.raises(vote712.VoteRefused) as refusal:
            cast(gov, "carol", proposal, FOR, at=now)
        assert refusal.value.code == "no_voting_power"
        assert token.functions.balanceOf(carol).call() == 500 * 10**18
        later = proposal.ends_at + (proposal.ends_at - proposal.starts_at)
        services.proposal_settle(proposal_id=proposal.pk, now=later)
    proposal.refresh_from_db()
    # 140 tokens cast reach the 120 quorum; 100 for, 40 against: passed and executed.
    assert proposal.tally["for"] == str(100 * 10**18) and proposal.tally["cast"] == str(
        140 * 10**18
    )
    assert proposal.status == ProposalStatus.EXECUTED
    with content_open_verified(cid=proposal.cid) as pinned:
        published = json.loads(pinned.read())
    assert vote712.verify_published(published) == proposal.tally
    assert published["proposal"]["voting_power"]["snapshot_block"] == snapshot


def test_token_voting_needs_a_readable_chain(gov: Gov) -> None:
    with override_settings(CHAIN_RPC_URLS={}):
        dao_services.dao_update(
            dao=gov.dao, actor=None, voting_power="token", voting_token="0x" + "12" * 20
        )
        with pytest.raises(ProposalRefused) as refusal:
            propose(gov, ChangeKind.JOIN_POLICY, {"join_policy": "open"})
    assert refusal.value.code == "chain_unreadable" and "CHAIN_RPC_URLS" in refusal.value.message
