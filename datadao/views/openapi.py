"""``GET /api/openapi.json``: the OpenAPI description of the JSON API (``datadao.openapi``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from datadao.openapi import openapi_schema
from datadao.tokenscopes import TokenScope, token_scope

API_VERSION = "0.1.0"


# Public; a client that sends its token with every request may fetch it too.
@token_scope(TokenScope.READ)
@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    """The schema clients and the schemathesis tests read; public, like the API's docs."""
    return JsonResponse(openapi_schema(version=API_VERSION))
