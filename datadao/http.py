"""The one JSON refusal every API answer uses: ``{"error": code, "detail": message}``, and the
one handler that answers a service's refusal (``datadao.errors.ApplicationError``) with it.

The ``code`` is stable English for programs; the ``detail`` is for people, in the request's
language (``Accept-Language`` or the language switcher; LocaleMiddleware activates it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import get_language, gettext

from datadao.errors import ApplicationError, Detail

logger = logging.getLogger(__name__)

# Paths whose clients read JSON: the API and the sign-in endpoints.
JSON_PREFIXES = ("/api/", "/auth/")
# What a client is told to wait when the database cannot be reached (a restart, a failover).
DATABASE_RETRY_AFTER_SECONDS = 5
_PAGE = (
    '<!doctype html>\n<html lang="{lang}">\n<head><meta charset="utf-8">'
    "<title>{title} ({status})</title></head>\n<body>\n<h1>{title} ({status})</h1>\n"
    "<p>{detail}</p>\n</body>\n</html>\n"
)


def localized(detail: str) -> str:
    """``detail`` in the active language when the catalogue has it, else as given (English).

    A ``Detail`` is looked up by its template and filled in again; a plain string by itself.
    A parameter that is itself a ``Detail`` (a phrase filled into a sentence) is translated the
    same way. A translation whose placeholders do not fit its message (a catalogue error) falls
    back to the English text rather than turning a refusal into a 500."""
    if isinstance(detail, Detail) and detail.label is not None:
        # A choice label (datadao.labels): its own lazy translation, context and all.
        translated = str(detail.label)
        return str(detail) if translated == detail.template else translated
    if isinstance(detail, Detail):
        translated = gettext(detail.template)
        if not detail.params:
            return str(detail) if translated == detail.template else translated
        params = {
            name: localized(value) if isinstance(value, Detail) else value
            for name, value in detail.params.items()
        }
        try:
            return translated % params
        except (KeyError, ValueError, TypeError):
            return str(detail)
    return gettext(detail) if detail else detail


def json_error(code: str, detail: str, status: int) -> JsonResponse:
    """A 4xx the client can act on: a stable ``code`` and a ``detail`` naming the problem."""
    return JsonResponse({"error": code, "detail": localized(detail)}, status=status)


def wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith(JSON_PREFIXES) or not request.accepts("text/html")


def refusal(request: HttpRequest, code: str, detail: str, status: int) -> HttpResponse:
    """A refusal in the form the client reads: JSON on the API, a small page elsewhere."""
    if wants_json(request):
        return json_error(code, detail, status)
    title = {400: gettext("Bad request"), 503: gettext("Unavailable")}.get(status) or gettext(
        "Refused"
    )
    page = _PAGE.format(
        lang=get_language() or "en", title=title, status=status, detail=escape(localized(detail))
    )
    return HttpResponse(page, status=status)


def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = refusal(request, exc.code, exc.message, exc.status_code)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


class ApplicationErrorMiddleware:
    """The API's one handler: a service's refusal that leaves a view uncaught is answered with
    its status, code and message (JSON on the API, a page elsewhere), never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return application_error(request, exception)
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable(request, exception)
        return None


def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database could not be reached or gave up on the statement (a restart, a failover,
    a lost connection, a lock timeout): a 503 the client retries after ``Retry-After``, not a
    500. Every write runs in a transaction, so nothing of the request was kept. Logged with
    its traceback, since the same class also carries errors that are not outages."""
    logger.error("database unavailable for %s %s", request.method, request.path, exc_info=exc)
    response = refusal(
        request,
        "database_unavailable",
        Detail("The database is unavailable for a moment; try again in a few seconds."),
        503,
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class BodyRefused(ApplicationError):
    """A request body that is not the JSON object an endpoint takes."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message, code=code, status_code=status)


# How an endpoint raises a body refusal: ``(code, detail, status)`` to its app's exception,
# so each API keeps the codes and statuses its clients already read.
Refuse = Callable[[str, Detail, int], Exception]


def json_object(
    request: HttpRequest,
    *,
    max_body: int,
    refuse: Refuse = BodyRefused,
    media_type: Detail | None = None,
    empty: dict[str, Any] | None = None,
    not_object: Detail | None = None,
) -> dict[str, Any]:
    """The request's JSON object body, refused through ``refuse``: over ``max_body`` bytes
    (413 ``too_large``), not JSON (400 ``bad_request``), not an object (400, ``not_object``
    names what it should be). ``media_type``: the message of the 415 ``unsupported_type``
    given when the body is not sent as application/json (None: any type is read). ``empty``:
    what an empty body stands for (None: it is refused as not an object)."""
    if media_type is not None and request.content_type != "application/json":
        raise refuse("unsupported_type", media_type, 415)
    if len(request.body) > max_body:
        raise refuse(
            "too_large",
            Detail("The request body is over %(max_body)s bytes.", max_body=max_body),
            413,
        )
    if not request.body and empty is not None:
        return dict(empty)
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise refuse(
            "bad_request", Detail("The body is not valid JSON: %(exc)s", exc=exc), 400
        ) from None
    if not isinstance(body, dict):
        raise refuse("bad_request", not_object or Detail("The body must be a JSON object."), 400)
    return body
