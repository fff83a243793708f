"""Joining and leaving a DAO: the JSON API (``/api/daos/{slug}/terms|join|leave``) and the
invite page (``/daos/{slug}/invite/{token}``). Session only: no view here declares a token
scope, so an API token is refused (``contributions.token_auth``); the POSTs are CSRF-checked.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST
from eth_utils import is_address, to_checksum_address

from datadao import jointerms
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.joining import (
    JoinRefused,
    dao_join,
    dao_leave,
    invite_refusal,
    join_terms_expected,
    join_terms_typed_data,
    token_hash,
)
from datadao.models import DAO, InviteLink, JoinRequest, Membership
from datadao.selectors import joining_state

MAX_BODY = 16 * 1024


def _dao(slug: str) -> DAO | None:
    return DAO.objects.filter(slug=slug).first()


def serialize_membership(membership: Membership) -> dict[str, Any]:
    return {
        "dao": membership.dao.slug,
        "address": membership.user.address,
        "role": membership.role,
        "joined_at": membership.created_at.isoformat(),
    }


def serialize_join_request(request: JoinRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "dao": request.dao.slug,
        "address": request.user.address,
        "status": request.status,
        "created_at": request.created_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
    }


@require_GET
@never_cache
@ensure_csrf_cookie
def terms(request: HttpRequest, slug: str) -> JsonResponse:
    """``GET /api/daos/{slug}/terms?address=0x…``: the DAO's join policy, its terms and the
    EIP-712 typed data ``address`` signs (``eth_signTypedData_v4``) to join, issued now
    (valid for 10 minutes)."""
    dao = _dao(slug)
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    address = request.GET.get("address", "")
    if not is_address(address):
        return json_error(
            "bad_address", Detail("address: required, an Ethereum address (0x + 40 hex)."), 400
        )
    address = to_checksum_address(address)
    typed = join_terms_typed_data(dao=dao, address=address)
    expected = join_terms_expected(dao=dao, address=address)
    return JsonResponse(
        {
            "dao": dao.slug,
            "joinPolicy": dao.join_policy,
            "terms": dao.terms,
            "termsHash": expected.terms_hash,
            "licenses": expected.licenses,
            "maxAgeSeconds": jointerms.MAX_AGE_SECONDS,
            "typedData": typed,
        }
    )


def _body(request: HttpRequest) -> dict[str, Any]:
    body = json_object(
        request,
        max_body=MAX_BODY,
        refuse=JoinRefused,
        not_object=Detail('The body must be {"typedData": …, "signature": "0x…"}.'),
    )
    invite = body.get("invite")
    if invite is not None and not isinstance(invite, str):
        raise JoinRefused("bad_request", Detail("invite must be the token of an invite link."))
    return body


@require_POST
def join(request: HttpRequest, slug: str) -> JsonResponse:
    """``POST /api/daos/{slug}/join`` with ``{"typedData", "signature", "invite"?}`` (CSRF):
    join with your signed acceptance of the terms. 201 with the membership (open policy or a
    valid invite link), 202 with the pending request (by request)."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in with your wallet first."), 401)
    dao = _dao(slug)
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    body = _body(request)
    joined = dao_join(
        dao=dao,
        user=request.user,
        typed_data=body.get("typedData"),
        signature=body.get("signature"),
        invite=body.get("invite"),
    )
    if isinstance(joined, Membership):
        return JsonResponse(serialize_membership(joined), status=201)
    return JsonResponse(serialize_join_request(joined), status=202)


@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    """``POST /api/daos/{slug}/leave`` (CSRF): leave the DAO; 204. The last creator cannot."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in with your wallet first."), 401)
    dao = _dao(slug)
    if dao is None:
        return json_error("not_found", Detail("No DAO with that name."), 404)
    dao_leave(dao=dao, user=request.user)
    return HttpResponse(status=204)


@require_GET
def invite_page(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """``/daos/{slug}/invite/{token}``: what the invite admits to, and a button that signs the
    terms and joins with it. 404 for a link this DAO never issued, 410 for a spent one."""
    dao = _dao(slug)
    if dao is None:
        raise Http404("No DAO with that name.")
    invite = InviteLink.objects.filter(dao=dao, token_hash=token_hash(token)).first()
    refusal = invite_refusal(invite) if invite is not None else None
    joining = joining_state(dao=dao, user=request.user)
    status = 404 if invite is None else 410 if refusal else 200
    return render(
        request,
        "datadao/invite.html",
        {
            "dao": dao,
            "token": token,
            "valid": status == 200,
            "refusal": refusal[1] if refusal else "",
            "member": joining["membership"] is not None,
            "joining": joining,
        },
        status=status,
    )
