"""``/metrics``: Prometheus exposition text (``datadao.metrics``).

Protected: with ``METRICS_TOKEN`` set, only HTTP Basic authentication with it as the password
(any user name; Prometheus's ``basic_auth``) is answered; without it, only clients at
``METRICS_ALLOWED_IPS`` (loopback by default). Anyone else gets a plain 404, so the endpoint is
not advertised. (``Authorization: Bearer`` is the API tokens' scheme, which this view refuses.)
"""

from __future__ import annotations

import base64
import binascii
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from datadao import metrics


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(password, token.encode())
    return request.META.get("REMOTE_ADDR", "") in settings.METRICS_ALLOWED_IPS


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    response = HttpResponse(metrics.scrape(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
