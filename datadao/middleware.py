"""Refuse, in one place, request values PostgreSQL cannot take.

PostgreSQL text cannot hold the NUL character (psycopg refuses the query with a DataError), so
a NUL in any filter, search box, form field or JSON body would otherwise travel to a query and
end as a 500, or be half-stored by a view that wrote something before. This middleware answers
such a request with a 400 naming the value, before any view runs: for every page, console
filter and API endpoint at once, so no view has to remember.

What is checked: the path, every query parameter (names and values), the fields of a form
body (url-encoded or multipart) and a JSON body (``\\u0000`` escapes). The fields of a multipart
body are checked just before the view runs, as Django's CSRF check reads them, and not for a
CSRF-exempt view: such a view (the streaming upload API) parses its body itself, with its own
upload handler, which must be installed before anything reads the body. Django already drops
unprintable characters from uploaded file names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict

from datadao.errors import Detail
from datadao.http import refusal

NUL = "\x00"
# A JSON ``\u0000`` escape: an odd number of backslashes before ``u0000`` (an even number are
# escaped backslashes followed by the plain text "u0000").
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _in_pairs(pairs: QueryDict, where: str) -> str | None:
    for key, values in pairs.lists():
        if NUL in key:
            return f"A {where} name contains a NUL character (U+0000)"
        if any(NUL in value for value in values):
            return f"The {where} {key[:40]!r} contains a NUL character (U+0000)"
    return None


def nul_problem(request: HttpRequest) -> str | None:
    """What in ``request`` holds a NUL character, in words; None when nothing does."""
    if NUL in request.path_info:
        return "The URL path contains a NUL character (U+0000)"
    query = request.META.get("QUERY_STRING", "")
    # Fast path: a NUL arrives percent-encoded or raw; most requests carry neither.
    if ("%00" in query or NUL in query) and (found := _in_pairs(request.GET, "query parameter")):
        return found
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    # A body over Django's in-memory cap is its view's to refuse (with its own message).
    if not 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        # Parsed from the raw body, not through request.POST: that would mark the upload as
        # processed, and a view that installs its own upload handler could no longer do so.
        body = request.body
        if b"%00" in body or b"\x00" in body:
            form = QueryDict(body, encoding=request.encoding)
            return _in_pairs(form, "form field")
    elif request.content_type == "application/json":
        body = request.body
        if b"\x00" in body or _JSON_NUL_ESCAPE.search(body):
            return "The JSON body contains a NUL character (\\u0000)"
    return None


class RefuseNulMiddleware:
    """400 for a request with a NUL character anywhere a view would read it: JSON
    ``{"error": "bad_request", "detail": …}`` on the API and sign-in paths, a page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = nul_problem(request)
        if problem is None:
            return self.get_response(request)
        return _refusal(request, problem)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if (
            request.method == "POST"
            and request.content_type == "multipart/form-data"
            and not getattr(view_func, "csrf_exempt", False)
        ):
            problem = _in_pairs(request.POST, "form field")
            if problem is not None:
                return _refusal(request, problem)
        return None


def _refusal(request: HttpRequest, problem: str) -> HttpResponse:
    return refusal(
        request,
        "bad_request",
        Detail("%(problem)s, which this site does not accept.", problem=problem),
        400,
    )
