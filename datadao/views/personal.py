"""``GET /api/me/export.zip``: everything about the signed-in person (``datadao.personal``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from datadao import personal
from datadao.errors import Detail
from datadao.http import json_error
from datadao.tokenscopes import TokenScope, token_scope


@token_scope(TokenScope.READ)
@require_GET
def export_zip(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return json_error(
            "unauthenticated", Detail("Sign in, or send an API token (Bearer dd_…)."), 401
        )
    response = StreamingHttpResponse(personal.archive(request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="datadao-{request.user.address}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response
