"""The one place API tokens are authenticated and authorised.

A request with ``Authorization: Bearer …`` reaches a view only if the view declares the scope
it needs (``datadao.tokenscopes.token_scope``) and the token is live and holds that scope. Then
``request.user`` is the token's user (never the session's, even with a cookie alongside) and
``request.api_token`` the token. Otherwise it is answered here, before the view runs:

* the view declares no scope (pages, the console, sign-in, token management, rewards
  downloads): 403 ``token_not_accepted``: fail closed;
* the view declares scopes per method and not this one: 405;
* unknown, malformed or of a deactivated account: 401 ``unauthenticated``; revoked: 401
  ``token_revoked``; expired: 401 ``token_expired``;
* live but without the scope: 403 ``insufficient_scope``, naming the scope.

Requests without a bearer header are untouched: the session works as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from contributions import errors
from contributions.models import ApiToken
from contributions.tokens import api_token_authenticate
from datadao.errors import Detail
from datadao.http import json_error
from datadao.tokenscopes import ANY_METHOD, SESSION_ONLY, declared_scopes

BEARER = "bearer "


def request_token(request: HttpRequest) -> ApiToken | None:
    """The token this request was authenticated with, or None (session or anonymous)."""
    return getattr(request, "api_token", None)


def _refusal(exc: errors.TokenRefused) -> JsonResponse:
    response = json_error(exc.code, exc.message, exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif isinstance(exc, errors.TokenScopeMissing):
        response["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
    return response


class ApiTokenMiddleware:
    """Sits before CsrfViewMiddleware: a token request is decided before any CSRF check (a
    bearer header cannot be sent by another site's form, so it needs none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        header = request.headers.get("Authorization", "")
        if header[: len(BEARER)].lower() != BEARER:
            return None
        declared = declared_scopes(view)
        method_scope = None if declared is None else declared.get(request.method or "")
        if declared is None or method_scope == SESSION_ONLY:
            return _refusal(
                errors.TokenNotAccepted(
                    Detail(
                        "This endpoint does not accept API tokens; it takes the "
                        "signed-in session only (tokens never manage tokens or the "
                        "account)."
                    )
                )
            )
        scope = declared.get(request.method or "", declared.get(ANY_METHOD))
        if scope is None:
            allowed = " or ".join(sorted(declared))
            response = JsonResponse(
                {"error": "method_not_allowed", "detail": f"Use {allowed}."}, status=405
            )
            response["Allow"] = ", ".join(sorted(declared))
            return response
        try:
            token = api_token_authenticate(plain=header[len(BEARER) :], scope=scope)
        except errors.TokenRefused as exc:
            return _refusal(exc)
        request.user = token.user
        request.api_token = token  # type: ignore[attr-defined]
        # The header, not a cookie, carries the credential: nothing for CSRF to protect.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return None
