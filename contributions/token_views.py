"""Managing your API tokens: the JSON endpoints (``/api/tokens``) and the account page
(``/me/tokens``). Session only: no view here declares a token scope, so a token is refused
(``contributions.token_auth``): a token can never mint, list or revoke tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contributions import errors
from contributions.models import TOKEN_LIFETIME, ApiToken
from contributions.tokens import MAX_LIFETIME, api_token_create, api_token_revoke, api_tokens_of
from datadao.errors import Detail
from datadao.http import json_error, json_object
from datadao.tokenscopes import TokenScope

MAX_LISTED = 100
MAX_BODY = 16 * 1024
# Omitted scopes give the least: a token that may only read. Ask for upload or label.
DEFAULT_SCOPES = (TokenScope.READ,)


def token_status(token: ApiToken, now: Any = None) -> str:
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def serialize_token(token: ApiToken) -> dict[str, Any]:
    """Everything about a token but its secret (only its first characters, to tell it apart)."""
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "status": token_status(token),
    }


def _create_input(request: HttpRequest) -> tuple[str, list[str], timedelta]:
    """name, scopes and lifetime from a form or a JSON body; a refusal names the bad field."""
    if request.content_type == "application/json":
        body = json_object(
            request,
            max_body=MAX_BODY,
            refuse=lambda code, detail, status: errors.TokenRefused(detail),
            empty={},
        )
        name, scopes, days = body.get("name", ""), body.get("scopes"), body.get("expires_in_days")
        if not isinstance(name, str):
            raise errors.TokenRefused(Detail("name must be a string."))
        if scopes is not None and (
            not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)
        ):
            raise errors.TokenRefused(Detail("scopes must be a list of scope names."))
    else:
        name = request.POST.get("name", "")
        # Repeated fields (a form's checkboxes) or one comma-separated value.
        scopes = [s for value in request.POST.getlist("scopes") for s in value.split(",")] or None
        days = request.POST.get("expires_in_days") or None
    if days is None or days == "":
        lifetime = TOKEN_LIFETIME
    else:
        try:
            if isinstance(days, (bool, float)):
                raise ValueError
            lifetime = timedelta(days=int(days))
        except (TypeError, ValueError, OverflowError):
            raise errors.TokenRefused(
                Detail(
                    "expires_in_days must be a whole number of days (1 to %(days)s).",
                    days=MAX_LIFETIME.days,
                )
            ) from None
    return name, list(scopes) if scopes is not None else list(DEFAULT_SCOPES), lifetime


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """``GET /api/tokens``: your tokens (never their secrets). ``POST /api/tokens`` (name,
    scopes, expires_in_days; CSRF): create one, its secret shown once. Session only."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in with your wallet first."), 401)
    if request.method == "GET":
        listed = api_tokens_of(user=request.user)
        items = list(listed[:MAX_LISTED])
        return JsonResponse(
            {"count": listed.count(), "results": [serialize_token(t) for t in items]}
        )
    name, scopes, lifetime = _create_input(request)
    token, plain = api_token_create(user=request.user, name=name, scopes=scopes, lifetime=lifetime)
    return JsonResponse({**serialize_token(token), "token": plain}, status=201)


@require_http_methods(["DELETE"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """``DELETE /api/tokens/{id}`` (CSRF): revoke one of your tokens; 204. Session only."""
    if not request.user.is_authenticated:
        return json_error("unauthenticated", Detail("Sign in with your wallet first."), 401)
    api_token_revoke(token_id=token_id, actor=request.user)
    return HttpResponse(status=204)


# --- the account page ----------------------------------------------------------------------------


def _page(request: HttpRequest, *, created: str = "", error: str = "", status: int = 200) -> Any:
    listed = api_tokens_of(user=request.user)
    now = timezone.now()
    return render(
        request,
        "contributions/tokens.html",
        {
            "tokens": [(t, token_status(t, now)) for t in listed[:MAX_LISTED]],
            "scopes": TokenScope.choices,
            "default_days": TOKEN_LIFETIME.days,
            "max_days": MAX_LIFETIME.days,
            "created": created,
            "error": error,
        },
        status=status,
    )


@login_required
@require_GET
def my_tokens(request: HttpRequest) -> HttpResponse:
    """``/me/tokens``: your API tokens, a form to create one and a button to revoke each."""
    return _page(request)


@login_required
@require_POST
def my_tokens_create(request: HttpRequest) -> HttpResponse:
    """The page's create form (CSRF): the new secret is shown once, on the answer."""
    try:
        name, scopes, lifetime = _create_input(request)
        _, plain = api_token_create(user=request.user, name=name, scopes=scopes, lifetime=lifetime)
    except errors.TokenRefused as exc:
        return _page(request, error=exc.message, status=exc.status_code)
    return _page(request, created=plain, status=201)


@login_required
@require_POST
def my_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """The page's revoke button (CSRF): back to the list."""
    try:
        api_token_revoke(token_id=token_id, actor=request.user)
    except errors.TokenRefused as exc:
        return _page(request, error=exc.message, status=exc.status_code)
    return redirect("my-tokens")
