"""Per-user API tokens for scripts and the CLI. Only a SHA-256 of each token is stored.

A token acts for its user within its scopes (``datadao.tokenscopes.TokenScope``) until it
expires (90 days by default, at most a year) or is revoked. It never does account-level things:
creating, listing and revoking tokens take the signed-in session only.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contributions import errors
from contributions.models import TOKEN_LIFETIME, ApiToken
from datadao.errors import Detail
from datadao.models import User
from datadao.services import audit_record
from datadao.tokenscopes import TokenScope

TOKEN_PREFIX = "dd_"
MAX_LIFETIME = timedelta(days=365)
MIN_LIFETIME = timedelta(days=1)
MAX_NAME = 80
# last_used_at is for the owner's eyes ("used 3 minutes ago"): a write on every request would
# turn each read into a write, so it moves only when it is older than this.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = [str(scope).strip() for scope in scopes if str(scope).strip()]
    unknown = sorted({scope for scope in wanted if scope not in TokenScope.values})
    if unknown:
        raise errors.TokenRefused(
            Detail(
                "Unknown scope(s) %(join)s; choose from %(join2)s.",
                join=", ".join(repr(s[:20]) for s in unknown),
                join2=", ".join(TokenScope.values),
            )
        )
    if not wanted:
        raise errors.TokenRefused(
            Detail(
                "Give the token at least one scope: %(join)s.", join=", ".join(TokenScope.values)
            )
        )
    # In the order of TokenScope, each once.
    return [scope for scope in TokenScope.values if scope in wanted]


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str] = tuple(TokenScope.values),
    lifetime: timedelta = TOKEN_LIFETIME,
) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored. Refuses a name with
    a NUL character, an unknown or empty scope list, and a lifetime outside a day..a year."""
    if "\x00" in name:
        # PostgreSQL cannot store a NUL byte: refused here rather than failing as a 500.
        raise errors.TokenRefused(Detail("name must not contain NUL characters."))
    name = name.strip()[:MAX_NAME] or "token"
    clean = _clean_scopes(scopes)
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise errors.TokenRefused(
            Detail(
                "A token lives from %(days)s to %(days2)s days, not %(days3)s.",
                days=MIN_LIFETIME.days,
                days2=MAX_LIFETIME.days,
                days3=lifetime.days,
            )
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=plain[:8],
        digest=_digest(plain),
        scopes=clean,
        created_at=now,
        expires_at=now + lifetime,
    )
    audit_record(
        actor=user,
        dao=None,
        verb="api_token.created",
        obj=token,
        details={"name": name, "scopes": clean, "expires_at": token.expires_at.isoformat()},
    )
    return token, plain


@transaction.atomic
def api_token_revoke(*, token_id: int, actor: User) -> ApiToken:
    """Revoke one of ``actor``'s tokens; it is refused at once from then on. Another user's
    token is as unknown as a missing one (404). Revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise errors.TokenNotFound(Detail("You have no API token %(token_id)s.", token_id=token_id))
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor, dao=None, verb="api_token.revoked", obj=token, details={"name": token.name}
    )
    return token


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_authenticate(*, plain: str, scope: str) -> ApiToken:
    """The live token behind ``plain`` (with its user) holding ``scope``, or a refusal naming
    why: unknown, revoked, expired, its user deactivated, or the scope missing. Records the
    use (at most once a minute) only when the token is let through."""
    plain = plain.strip()
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        raise errors.TokenUnknown(Detail("The API token is not a datadao token (dd_…)."))
    token = ApiToken.objects.select_related("user").filter(digest=_digest(plain)).first()
    if token is None:
        raise errors.TokenUnknown(Detail("The API token is unknown."))
    now = timezone.now()
    if token.revoked_at is not None:
        raise errors.TokenRevoked(
            Detail(
                "The API token %(prefix)s… was revoked at %(isoformat)s.",
                prefix=token.prefix,
                isoformat=token.revoked_at.isoformat(),
            )
        )
    if token.expires_at <= now:
        raise errors.TokenExpired(
            Detail(
                "The API token %(prefix)s… expired at %(isoformat)s; create a new one.",
                prefix=token.prefix,
                isoformat=token.expires_at.isoformat(),
            )
        )
    if not token.user.is_active:
        raise errors.TokenUnknown(Detail("The API token's account is deactivated."))
    if scope not in token.scopes:
        raise errors.TokenScopeMissing(
            Detail(
                "This API token lacks the '%(scope)s' scope (it has: %(join)s).",
                scope=scope,
                join=", ".join(token.scopes),
            ),
            scope=scope,
        )
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # Guarded in SQL too, so concurrent requests of one token write once.
        ApiToken.objects.filter(pk=token.pk).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
