"""The CSRF check of a cookie-authenticated upload, made before a byte of its body is read.

Django's CSRF check reads ``request.POST`` first (for a ``csrfmiddlewaretoken`` field), which
parses a multipart body and so stages the file to disk before the check can fail. The upload
view is therefore exempt from the middleware and runs the middleware's own check here (Origin,
Referer on HTTPS, cookie against token) with the body hidden from it: the token must come in
the ``X-CSRFToken`` header, as the upload widget sends it. A failure is the API's JSON 403.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.datastructures import MultiValueDict

logger = logging.getLogger(__name__)


class _HeaderOnlyCsrf(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        logger.warning("Forbidden (%s): %s", reason, request.path)
        return JsonResponse(
            {
                "error": "csrf_failed",
                "detail": f"CSRF verification failed: {reason} Send the csrftoken cookie's "
                "value in the X-CSRFToken header.",
            },
            status=403,
        )


def _protected_view(request: HttpRequest) -> HttpResponse:  # never called: only its flags count
    raise AssertionError("the CSRF check does not call the view")


_CHECK = _HeaderOnlyCsrf(_protected_view)


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request passes Django's CSRF check on its headers alone, else a JSON 403.

    The body stays unread: for the check's duration ``request.POST`` is an empty form, so the
    token is looked for in the ``X-CSRFToken`` header only.
    """
    saved: dict[str, Any] = {
        k: request.__dict__[k] for k in ("_post", "_files") if k in request.__dict__
    }
    request._post, request._files = QueryDict(), MultiValueDict()  # type: ignore[attr-defined]
    try:
        return _CHECK.process_view(request, _protected_view, (), {})
    finally:
        del request._post, request._files  # type: ignore[attr-defined]
        request.__dict__.update(saved)
