"""The members' proposals page: a DAO's proposals with their tallies, and a vote button that
signs the EIP-712 ``Vote`` with the member's wallet (``static/governance/vote.js``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from datadao.models import DAO, Membership
from governance import selectors
from governance.api import live_tally
from governance.models import ProposalStatus, Vote


@require_GET
@ensure_csrf_cookie
def proposals_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A DAO's proposals you may see: status, change, tally, your vote, where it is published;
    members vote on the open ones from here."""
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        raise Http404("No DAO with that name.")
    listed = list(selectors.proposals_visible(user=request.user, dao=dao)[: selectors.MAX_LISTED])
    mine: dict[int, int] = {}
    member = False
    if request.user.is_authenticated:
        member = Membership.objects.filter(dao=dao, user=request.user).exists()
        mine = dict(
            Vote.objects.filter(proposal__in=listed, voter=request.user).values_list(
                "proposal_id", "choice"
            )
        )
    rows = [
        {
            "proposal": p,
            "tally": live_tally(p),
            "open": p.status == ProposalStatus.OPEN,
            "my_choice": mine.get(p.pk),
        }
        for p in listed
    ]
    return render(
        request,
        "governance/proposals.html",
        {"dao": dao, "rows": rows, "member": member},
    )
