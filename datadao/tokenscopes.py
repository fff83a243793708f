"""What an API token may do, and how a view says which of it it needs.

Tokens are authenticated and authorised in one place, ``contributions.token_auth``: it reads
the declaration that ``token_scope`` puts on a view. A view without one refuses every token
(fail closed), so an endpoint added without a decision is reachable by the session only.
Here, in the ground-floor app, so that any app's views can declare a scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

# The attribute a declaration is stored in: ``{method: scope}``, ``"*"`` for every method.
SCOPES_ATTRIBUTE = "token_scopes"
ANY_METHOD = "*"
# Declared for a method that takes the session only, on a view whose other methods take
# tokens: a token is refused there as on a view that declares nothing (token_not_accepted).
SESSION_ONLY = ""


class TokenScope(models.TextChoices):
    UPLOAD = "upload", _("Upload contributions and bulk labeling imports")
    LABEL = "label", _("Take, answer, skip and undo labeling tasks; queue consensus runs")
    READ = "read", _("Read your contributions, proofs, releases, labeling progress and exports")


View = Callable[..., Any]


def token_scope(scope: str | None = None, /, **per_method: str) -> Callable[[View], View]:
    """Declare the scope an API token needs to call this view: one for every method
    (``@token_scope(TokenScope.READ)``), or one per method
    (``@token_scope(GET=TokenScope.READ, POST=TokenScope.LABEL)``; other methods refuse
    tokens, 405, or with ``POST=SESSION_ONLY`` 403 token_not_accepted)."""
    if (scope is None) == (not per_method):
        raise TypeError("token_scope takes one scope, or one scope per method, not both.")
    declared = {ANY_METHOD: scope} if scope is not None else dict(per_method)
    unknown = {
        value
        for value in declared.values()
        if value not in TokenScope.values and value != SESSION_ONLY
    }
    if unknown:
        raise ValueError(f"Unknown token scope(s): {', '.join(sorted(map(str, unknown)))}.")

    def mark(view: View) -> View:
        setattr(view, SCOPES_ATTRIBUTE, {k: str(v) for k, v in declared.items()})
        return view

    return mark


def declared_scopes(view: View) -> dict[str, str] | None:
    """The view's declaration, or None when it takes no tokens at all."""
    return getattr(view, SCOPES_ATTRIBUTE, None)
