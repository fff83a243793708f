"""The demo's governance: three members who vote with real (throwaway) keys, one proposal
that passed and was executed, and one open for a week. Idempotent: nothing is added once the
passed proposal exists.

The demo's other members have addresses without keys, so they cannot sign votes; the voters'
keys are made here, used to sign their votes, and never stored: nobody holds them afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from datadao import services as dao_services
from datadao.governed import ChangeKind
from datadao.models import DAO, Membership, Role, User
from governance import services, vote712
from governance.models import Proposal

PASSED_TITLE = "Make Erin a reviewer"
OPEN_TITLE = "Open Open Air to anyone"
VOTERS = ("Carol", "Dan", "Erin")


def _vote(key: LocalAccount, user: User, proposal: Proposal, choice: int, at: datetime) -> None:
    ballot = vote712.Ballot(
        voter=key.address,
        space=proposal.dao.onchain_id,
        timestamp=int(at.timestamp()),
        proposal=proposal.hash,
        choice=choice,
        reason="",
        app=vote712.APP,
        metadata="",
    )
    typed = vote712.typed_data(ballot, chain_id=proposal.dao.chain_id)
    signed = Account.sign_message(encode_typed_data(full_message=typed), key.key)
    signature = "0x" + bytes(signed.signature).hex()
    services.vote_cast(
        proposal=proposal,
        user=user,
        typed_data=typed,
        signature=signature,
        now=at,  # type: ignore[arg-type]
    )


def load_demo_governance(*, dao: DAO) -> None:
    """Add the voters and the two proposals unless the passed one exists."""
    if Proposal.objects.filter(dao=dao, title=PASSED_TITLE).exists():
        return
    now = timezone.now()
    keys: dict[str, LocalAccount] = {}
    users: dict[str, User] = {}
    for name in VOTERS:
        key = Account.create()
        user, _ = dao_services.user_get_or_create(address=key.address)
        User.objects.filter(pk=user.pk).update(display_name=f"{name} (demo voter)")
        dao_services.membership_add(dao=dao, user=user, role=Role.CONTRIBUTOR, actor=None)
        keys[name], users[name] = key, user
    # One member, one vote counts members who joined before a proposal: the voters joined
    # a month ago, in the demo's story.
    Membership.objects.filter(dao=dao, user__in=users.values()).update(
        created_at=now - timedelta(days=30)
    )
    erin = users["Erin"]
    passed = services.proposal_create(
        dao=dao,
        proposer=users["Carol"],
        title=PASSED_TITLE,
        description="Erin has checked readings for a month; let her validate contributions.",
        kind=ChangeKind.MEMBERSHIP_ROLE,
        change={"address": erin.address, "role": Role.REVIEWER},
        voting_period_seconds=7 * 24 * 3600,
        quorum=3,
        now=now - timedelta(days=8),
    )
    for name, choice in (("Carol", vote712.FOR), ("Dan", vote712.FOR), ("Erin", vote712.ABSTAIN)):
        _vote(keys[name], users[name], passed, choice, now - timedelta(days=7, hours=12))
    # Closed, published to IPFS with its votes, and executed through membership_set_role.
    services.proposal_settle(proposal_id=passed.pk, now=now)
    still_open = services.proposal_create(
        dao=dao,
        proposer=users["Dan"],
        title=OPEN_TITLE,
        description="Let anyone signed in join with one click instead of asking an admin.",
        kind=ChangeKind.JOIN_POLICY,
        change={"join_policy": "open"},
        voting_period_seconds=7 * 24 * 3600,
        quorum=4,
        now=now,
    )
    _vote(keys["Dan"], users["Dan"], still_open, vote712.FOR, now)
