"""The governance JSON API: a DAO's proposals, one proposal with its public tally, its signed
votes. Thin: parse, call one service or selector, serialize. Reads take the session or an API
token with the read scope; proposing and voting take the session only (each is a member's own
act, and a vote is also signed by their wallet). Refusals are ``{"error", "detail"}``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.models import DAO
from datadao.tokenscopes import SESSION_ONLY, TokenScope, token_scope
from governance import selectors, services, vote712
from governance.errors import ProposalRefused
from governance.models import Proposal, ProposalStatus, Vote

MAX_BODY = 64 * 1024
VOTES_PER_PAGE = 500


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def live_tally(proposal: Proposal) -> dict[str, Any]:
    """The tally: final once closed, else as the votes stand now."""
    if proposal.tally is not None:
        return proposal.tally
    votes = [
        (choice, int(power)) for choice, power in proposal.votes.values_list("choice", "power")
    ]
    return vote712.tally(votes, quorum=int(proposal.quorum))


def serialize_proposal(proposal: Proposal) -> dict[str, Any]:
    passed = proposal.status in (ProposalStatus.PASSED, ProposalStatus.EXECUTED)
    return {
        "id": proposal.pk,
        "dao": proposal.dao.slug,
        "title": proposal.title,
        "description": proposal.description,
        "kind": proposal.kind,
        "change": proposal.change,
        "proposer": proposal.proposer.address,
        "status": proposal.status,
        "quorum": str(int(proposal.quorum)),
        "voting_power": proposal.voting_power,
        "voting_token": proposal.voting_token or None,
        "snapshot_block": proposal.snapshot_block,
        "starts_at": proposal.starts_at.isoformat(),
        "ends_at": proposal.ends_at.isoformat(),
        "timelock_seconds": proposal.timelock_seconds,
        "executable_at": _iso(services.executable_at(proposal)) if passed else None,
        "executed_at": _iso(proposal.executed_at),
        "failure": proposal.failure or None,
        "hash": proposal.hash,
        "document": proposal.document,
        "tally": live_tally(proposal),
        "cid": proposal.cid or None,
        "eip712": vote712.eip712(proposal.dao.chain_id),
        "url": reverse("api-proposal", args=[proposal.pk]),
        "votes_url": reverse("api-proposal-votes", args=[proposal.pk]),
    }


def serialize_vote(vote: Vote) -> dict[str, Any]:
    return {
        "voter": vote.voter.address,
        "choice": vote.choice,
        "choice_name": vote712.CHOICES[vote.choice],
        "power": str(int(vote.power)),
        "timestamp": vote.timestamp,
        "reason": vote.reason,
        "message": vote.message,
        "signature": vote.signature,
        "updated_at": vote.updated_at.isoformat(),
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    return json_object(
        request,
        max_body=MAX_BODY,
        refuse=ProposalRefused,
        media_type=Detail("Send the body as application/json."),
    )


def _unauthenticated() -> JsonResponse:
    return json_error(
        "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
    )


@token_scope(GET=TokenScope.READ, POST=SESSION_ONLY)
@require_http_methods(["GET", "POST"])
def proposals(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET``: the DAO's proposals you may see, newest first, each with its tally.
    ``POST`` ``{title, description, kind, change, voting_period_seconds, quorum}``: propose
    (members); 201."""
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    if request.method == "GET":
        visible = selectors.proposals_visible(user=request.user, dao=dao)
        return JsonResponse(
            {
                "count": visible.count(),
                "results": [serialize_proposal(p) for p in visible[: selectors.MAX_LISTED]],
            }
        )
    if not request.user.is_authenticated:
        return _unauthenticated()
    body = _body(request)
    proposal = services.proposal_create(
        dao=dao,
        proposer=request.user,
        title=body.get("title"),
        description=body.get("description", ""),
        kind=body.get("kind"),
        change=body.get("change"),
        voting_period_seconds=body.get("voting_period_seconds"),
        quorum=body.get("quorum"),
    )
    return JsonResponse(serialize_proposal(proposal), status=201)


@token_scope(TokenScope.READ)
@require_http_methods(["GET"])
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """``GET``: one proposal: its document and hash (what votes sign), status, the tally (as
    the votes stand while open), and once closed the CID of its published JSON."""
    proposal = selectors.proposal_visible(user=request.user, proposal_id=proposal_id)
    if proposal is None:
        return json_error(
            "not_found",
            Detail("There is no proposal %(proposal_id)s you may see.", proposal_id=proposal_id),
            404,
        )
    return JsonResponse(serialize_proposal(proposal))


@token_scope(GET=TokenScope.READ, POST=SESSION_ONLY)
@require_http_methods(["GET", "POST"])
def proposal_votes(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """``GET``: the proposal's votes as signed (``?page=N``, 500 a page). ``POST``
    ``{typedData, signature}``: vote, or change your vote with a later timestamp; 201 for a
    first vote, 200 for a change."""
    proposal = selectors.proposal_visible(user=request.user, proposal_id=proposal_id)
    if proposal is None:
        return json_error(
            "not_found",
            Detail("There is no proposal %(proposal_id)s you may see.", proposal_id=proposal_id),
            404,
        )
    if request.method == "GET":
        raw = request.GET.get("page", "1")
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10**6:
            return json_error("bad_request", Detail("page must be a page number from 1."), 400)
        page = int(raw)
        votes = selectors.votes_of(proposal=proposal)
        start = (page - 1) * VOTES_PER_PAGE
        listed = list(votes[start : start + VOTES_PER_PAGE + 1])
        more = len(listed) > VOTES_PER_PAGE
        url = reverse("api-proposal-votes", args=[proposal.pk])
        return JsonResponse(
            {
                "proposal": proposal.pk,
                "hash": proposal.hash,
                "count": votes.count(),
                "results": [serialize_vote(v) for v in listed[:VOTES_PER_PAGE]],
                "next": f"{url}?page={page + 1}" if more else None,
            }
        )
    if not request.user.is_authenticated:
        return _unauthenticated()
    body = _body(request)
    vote, first = services.vote_cast(
        proposal=proposal,
        user=request.user,
        typed_data=body.get("typedData"),
        signature=body.get("signature"),
    )
    return JsonResponse(serialize_vote(vote), status=201 if first else 200)
