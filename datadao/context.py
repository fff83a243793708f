"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def nav(request: HttpRequest) -> dict[str, Any]:
    """``has_console``: whether the navigation offers the console (evaluated, with its one
    query, only when a template asks)."""

    def has_console() -> bool:
        from datadao.selectors import request_has_console_access

        user = getattr(request, "user", None)
        return bool(user and user.is_authenticated and request_has_console_access(request))

    return {"has_console": SimpleLazyObject(has_console)}
