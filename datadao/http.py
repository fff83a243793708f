"""The one JSON refusal every API answer uses: ``{"error": code, "detail": message}``."""

from __future__ import annotations

from django.http import JsonResponse


def json_error(code: str, detail: str, status: int) -> JsonResponse:
    """A 4xx the client can act on: a stable ``code`` and a ``detail`` naming the problem."""
    return JsonResponse({"error": code, "detail": detail}, status=status)
