"""Sign-In with Ethereum services: issue a nonce, verify a signed message, find the user.

The pure parsing and signature checks live in ``datadao.siwe``; this module adds what needs the
database and the request: the single-use nonce, the expected domain/URI, the allowed chains.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datadao.models import SiweNonce, User
from datadao.services import audit_record, user_get_or_create
from datadao.siwe import SiweError, SiweMessage, check_times, parse_message, verify_signature

STATEMENT = "Sign in to datadao."


@dataclass(frozen=True)
class SiteOrigin:
    """What a message must name: this site's scheme and host[:port]."""

    scheme: str
    domain: str

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.domain}"


def siwe_nonce_issue(*, address: str, chain_id: int) -> SiweNonce:
    """A fresh single-use nonce for one address on one chain: 128 random bits as 32 hex
    digits, valid for the TTL. Only a message from ``address`` naming ``chain_id`` can use it.
    """
    now = timezone.now()
    return SiweNonce.objects.create(
        nonce=secrets.token_hex(16),
        address=address,
        chain_id=chain_id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )


def siwe_message_build(*, site: SiteOrigin, address: str, chain_id: int, nonce: str) -> str:
    """The EIP-4361 text the browser asks the wallet to sign (server-built, so it is exact)."""
    return SiweMessage(
        scheme=site.scheme,
        domain=site.domain,
        address=address,
        statement=STATEMENT,
        uri=f"{site.origin}/",
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    ).to_text()


def _check_site(message: SiweMessage, site: SiteOrigin) -> None:
    if message.domain != site.domain:
        raise SiweError("wrong_domain", f"The message is for {message.domain!r}, not this site.")
    if message.scheme is not None and message.scheme.lower() != site.scheme:
        raise SiweError("wrong_domain", f"The message's scheme must be {site.scheme!r}.")
    if message.uri != site.origin and not message.uri.startswith(f"{site.origin}/"):
        raise SiweError("wrong_uri", f"The message's URI must be on {site.origin}.")
    if message.chain_id not in settings.SIWE_ALLOWED_CHAIN_IDS:
        allowed = ", ".join(map(str, settings.SIWE_ALLOWED_CHAIN_IDS))
        raise SiweError("wrong_chain", f"Chain {message.chain_id} is not allowed here ({allowed}).")


def _consume_nonce(message: SiweMessage) -> None:
    """Mark the nonce used in one conditional UPDATE: of two concurrent uses, one wins, and
    only a message from the address and chain the nonce was issued for can win."""
    now = timezone.now()
    used = SiweNonce.objects.filter(
        nonce=message.nonce,
        address=message.address,
        chain_id=message.chain_id,
        consumed_at__isnull=True,
        expires_at__gt=now,
    ).update(consumed_at=now)
    if used == 1:
        return
    row = SiweNonce.objects.filter(nonce=message.nonce).first()
    if row is None:
        raise SiweError("unknown_nonce", "The nonce was not issued by this site.")
    if row.consumed_at is not None:
        raise SiweError("replayed_nonce", "The nonce has already been used; ask for a new one.")
    if row.expires_at <= now:
        raise SiweError("expired_nonce", "The nonce has expired; ask for a new one.")
    if row.address != message.address:
        raise SiweError(
            "nonce_address_mismatch",
            f"The nonce was issued for another address; ask for a nonce for {message.address}.",
        )
    raise SiweError(
        "nonce_chain_mismatch",
        f"The nonce was issued for chain {row.chain_id}, not chain {message.chain_id}; ask "
        "for a nonce for this chain.",
    )


@transaction.atomic
def siwe_authenticate(*, text: str, signature: str, site: SiteOrigin) -> User:
    """Verify a signed EIP-4361 message for ``site`` and return its (possibly new) user.

    Order matters: everything that can be checked without side effects is checked first; the
    nonce is consumed last, inside the same transaction as the user's creation, so a refused
    message burns nothing and a replay of an accepted one is always refused.
    """
    message = parse_message(text)
    _check_site(message, site)
    check_times(
        message,
        now=timezone.now(),
        skew=timedelta(seconds=settings.SIWE_CLOCK_SKEW_SECONDS),
        max_age=timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )
    verify_signature(text, signature, message.address)
    _consume_nonce(message)
    user, _ = user_get_or_create(address=message.address)
    if not user.is_active:
        raise SiweError("inactive", "This account is disabled.")
    audit_record(actor=user, dao=None, verb="user.signed_in", obj=user, details={})
    return user


def siwe_nonces_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete nonces that expired more than ``older_than`` ago; returns how many."""
    deleted, _ = SiweNonce.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
