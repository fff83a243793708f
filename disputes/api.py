"""The disputes JSON API: a DAO's challenges, one challenge, and its decision. Thin: parse, call
one service or selector, serialize. Reads take the session or an API token with the read scope;
filing and deciding take the session only (each is a person's own act, and moves money).
Refusals are ``{"error", "detail"}``.
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
from disputes import selectors, services
from disputes.errors import ChallengeRefused
from disputes.models import Challenge

MAX_BODY = 16 * 1024
DECISIONS = ("uphold", "reject")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def serialize_challenge(c: Challenge) -> dict[str, Any]:
    """A challenge; amounts as decimal strings of the token's smallest unit."""
    if c.contribution_id is not None:
        target = {"type": "contribution", "id": c.contribution_id}
        original = c.duplicate_of_contribution_id
    else:
        target = {"type": "item", "id": c.label_task_id}
        original = c.duplicate_of_task_id
    return {
        "id": c.pk,
        "dao": c.dao.slug,
        "dataset": c.dataset.slug,
        "challenger": c.challenger.address,
        "target": target,
        "reason": c.reason,
        "duplicate_of": original,
        "statement": c.statement,
        "status": c.status,
        "bond": str(int(c.bond)),
        "bond_status": c.bond_status,
        "replay": c.replay,
        "resolution": c.resolution or None,
        "resolved_by": c.resolved_by.address if c.resolved_by_id else None,
        "resolved_at": _iso(c.resolved_at),
        "withdrawn": str(int(c.withdrawn)),
        "clawed_back": str(int(c.clawed_back)),
        "created_at": c.created_at.isoformat(),
        "url": reverse("api-challenge", args=[c.pk]),
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    return json_object(
        request,
        max_body=MAX_BODY,
        refuse=ChallengeRefused,
        media_type=Detail("Send the body as application/json."),
    )


def _unauthenticated() -> JsonResponse:
    return json_error(
        "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
    )


@token_scope(GET=TokenScope.READ, POST=SESSION_ONLY)
@require_http_methods(["GET", "POST"])
def challenges(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET``: the DAO's challenges you may see, newest first (members see all; others those
    they filed or of their own work). ``POST`` ``{target: "contribution"|"item", target_id,
    reason: "duplicate"|"schema"|"replay", duplicate_of?, statement?}``: challenge accepted
    work within the DAO's challenge window; 201."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    if request.method == "GET":
        visible = selectors.challenges_visible(user=request.user, dao=dao)
        return JsonResponse(
            {
                "count": visible.count(),
                "results": [serialize_challenge(c) for c in visible[: selectors.MAX_LISTED]],
            }
        )
    body = _body(request)
    challenge = services.challenge_file(
        dao=dao,
        challenger=request.user,
        target=body.get("target"),
        target_id=body.get("target_id"),
        reason=body.get("reason"),
        duplicate_of=body.get("duplicate_of"),
        statement=body.get("statement", ""),
    )
    return JsonResponse(serialize_challenge(challenge), status=201)


@token_scope(TokenScope.READ)
@require_http_methods(["GET"])
def challenge_detail(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """``GET``: one challenge, with what its replay found and how it was decided."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    challenge = selectors.challenge_visible(user=request.user, challenge_id=challenge_id)
    if challenge is None:
        return json_error(
            "not_found",
            Detail(
                "There is no challenge %(challenge_id)s you may see.", challenge_id=challenge_id
            ),
            404,
        )
    return JsonResponse(serialize_challenge(challenge))


@token_scope(POST=SESSION_ONLY)
@require_http_methods(["POST"])
def challenge_decide(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """``POST`` ``{decision: "uphold"|"reject", note?}``: a reviewer (the DAO's creator or an
    admin, party to neither side) decides a challenge the replay left to people."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    if selectors.challenge_visible(user=request.user, challenge_id=challenge_id) is None:
        return json_error(
            "not_found",
            Detail(
                "There is no challenge %(challenge_id)s you may see.", challenge_id=challenge_id
            ),
            404,
        )
    body = _body(request)
    decision = body.get("decision")
    if decision not in DECISIONS:
        return json_error("bad_request", Detail("decision must be 'uphold' or 'reject'."), 400)
    decide = services.challenge_uphold if decision == "uphold" else services.challenge_reject
    challenge = decide(challenge_id=challenge_id, actor=request.user, note=body.get("note", ""))
    fresh = selectors.challenge_visible(user=request.user, challenge_id=challenge.pk)
    return JsonResponse(serialize_challenge(fresh or challenge))
