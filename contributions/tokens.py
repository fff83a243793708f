"""Per-user API tokens for scripts and the CLI. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from contributions.models import ApiToken
from datadao.models import User
from datadao.services import audit_record

TOKEN_PREFIX = "dd_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:80] or "token", prefix=plain[:8], digest=_digest(plain)
    )
    audit_record(actor=user, dao=None, verb="api_token.created", obj=token, details={"name": name})
    return token, plain


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(actor=actor, dao=None, verb="api_token.revoked", obj=token)


def user_from_bearer(request: HttpRequest) -> User | None:
    """The active user behind an ``Authorization: Bearer dd_…`` header, or None."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    plain = header[len("Bearer ") :].strip()
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(plain), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
