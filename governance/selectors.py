"""Reads of governance: which proposals a person may see, and their votes.

A DAO's proposals are public, like the DAO, except those about a members-only dataset: those
are its members' (and superusers') only, in the API, on the page and on ``/ipfs/``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from datadao.models import DAO, Membership, Visibility
from governance.models import Proposal, Vote

MAX_LISTED = 100


def _sees_all(user: Any, dao_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or Membership.objects.filter(dao_id=dao_id, user=user).exists()


def proposals_visible(*, user: Any, dao: DAO) -> QuerySet[Proposal]:
    """``dao``'s proposals ``user`` may see, newest first."""
    proposals = Proposal.objects.filter(dao=dao).select_related("dao", "proposer", "dataset")
    if _sees_all(user, dao.pk):
        return proposals
    return proposals.filter(Q(dataset__isnull=True) | Q(dataset__visibility=Visibility.PUBLIC))


def proposal_visible(*, user: Any, proposal_id: int) -> Proposal | None:
    """The proposal, or None when it does not exist or ``user`` may not see it (the same
    answer, so a members-only proposal's existence does not leak)."""
    proposal = (
        Proposal.objects.select_related("dao", "proposer", "dataset").filter(pk=proposal_id).first()
    )
    if proposal is None:
        return None
    public = proposal.dataset is None or proposal.dataset.visibility == Visibility.PUBLIC
    return proposal if public or _sees_all(user, proposal.dao_id) else None


def votes_of(*, proposal: Proposal) -> QuerySet[Vote]:
    return proposal.votes.select_related("voter").order_by("voter__address")


def may_read_proposal_pin(user: Any, rest: str) -> bool:
    """``/ipfs/<cid>`` of a published proposal (pin label ``proposal:<id>``)."""
    return rest.isdigit() and proposal_visible(user=user, proposal_id=int(rest)) is not None
