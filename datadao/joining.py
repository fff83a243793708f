"""Self-serve membership: joining a DAO under its join policy, join requests and their
decisions, invite links, leaving.

Every joiner signs the DAO's contribution terms and its open datasets' licences with their
wallet (EIP-712 ``JoinTerms``, ``datadao.jointerms``); the signature is kept as a
``TermsAcceptance``. Each service runs in one transaction, guards the state it changes under
row locks, and appends an audit event for every change. Refusals are ``JoinRefused``: an HTTP
status, a stable code and a message naming the problem.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from datadao import events, jointerms
from datadao.errors import ApplicationError, Detail
from datadao.models import (
    DAO,
    MANAGER_ROLES,
    InviteLink,
    JoinPolicy,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
    TermsAcceptance,
    User,
)
from datadao.selectors import dao_open_licenses
from datadao.services import audit_record, membership_remove

# A declined applicant may ask again after this long (not at once: admins are not spammed).
REQUEST_COOLDOWN = timedelta(days=7)
INVITE_MAX_LIFETIME = timedelta(days=90)
INVITE_MAX_USES = 10_000


class JoinRefused(ApplicationError):
    """A join, request, decision, invite or leave that is refused; nothing was stored."""

    def __init__(self, code: str, message: str, status_code: int = 400) -> None:
        super().__init__(message, code=code, status_code=status_code)


def token_hash(token: str) -> str:
    """What is stored of an invite token: its sha256 (hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# --- the terms ------------------------------------------------------------------------------


def join_terms_expected(*, dao: DAO, address: str) -> jointerms.Expected:
    """What ``address`` must sign to join ``dao`` now: the current terms' hash and the
    licences of the DAO's open datasets (only the licences: no members-only dataset is named)."""
    return jointerms.Expected(
        member=address,
        dao_id=dao.onchain_id,
        chain_id=dao.chain_id,
        terms_hash=jointerms.terms_hash(dao.terms),
        licenses=dao_open_licenses(dao=dao),
    )


def join_terms_typed_data(*, dao: DAO, address: str, now: Any = None) -> dict[str, Any]:
    """The typed data ``address`` signs (``eth_signTypedData_v4``) to join ``dao``."""
    issued = int((now or timezone.now()).timestamp())
    return jointerms.typed_data(join_terms_expected(dao=dao, address=address), issued_at=issued)


def _acceptance_record(
    *, dao: DAO, user: User, typed_data: Any, signature: Any, now: Any
) -> TermsAcceptance:
    expected = join_terms_expected(dao=dao, address=user.address)
    try:
        canonical, sig = jointerms.verify(typed_data, signature, expected, now=int(now.timestamp()))
    except jointerms.TermsRefused as exc:
        raise JoinRefused(exc.code, exc.message, exc.status_code) from None
    try:
        with transaction.atomic():
            acceptance = TermsAcceptance.objects.create(
                dao=dao,
                user=user,
                typed_data=canonical,
                signature=sig,
                signer=user.address,
                terms_hash=expected.terms_hash,
                created_at=now,
            )
    except IntegrityError:
        raise JoinRefused(
            "replayed_signature",
            Detail("This signature was used already: sign the terms again."),
            409,
        ) from None
    audit_record(
        actor=user,
        dao=dao,
        verb="terms.accepted",
        obj=acceptance,
        details={"terms_hash": expected.terms_hash, "licenses": expected.licenses},
    )
    return acceptance


def _admit(
    *, dao: DAO, user: User, actor: User | None, via: str, acceptance: TermsAcceptance
) -> Membership:
    try:
        with transaction.atomic():
            membership = Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    except IntegrityError:
        raise JoinRefused(
            "already_member",
            Detail(
                "%(address)s is already a member of %(name)s.", address=user.address, name=dao.name
            ),
            409,
        ) from None
    audit_record(
        actor=actor,
        dao=dao,
        verb="membership.added",
        obj=membership,
        details={
            "address": user.address,
            "role": Role.CONTRIBUTOR.value,
            "via": via,
            "acceptance": acceptance.pk,
        },
    )
    return membership


# --- joining ---------------------------------------------------------------------------------


def _invite_locked(*, dao: DAO, token: Any, now: Any) -> InviteLink:
    """The usable invite for ``token`` under a row lock, or a refusal naming why not."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise JoinRefused(
            "invite_unknown", Detail("This invite link is not valid for this DAO."), 404
        )
    invite = (
        InviteLink.objects.select_for_update().filter(dao=dao, token_hash=token_hash(token)).first()
    )
    if invite is None:
        raise JoinRefused(
            "invite_unknown", Detail("This invite link is not valid for this DAO."), 404
        )
    refusal = invite_refusal(invite, now=now)
    if refusal is not None:
        raise JoinRefused(*refusal, 410)
    return invite


def invite_refusal(invite: InviteLink, *, now: Any = None) -> tuple[str, str] | None:
    """(code, message) saying why ``invite`` admits nobody now, or None when it does."""
    now = now or timezone.now()
    if invite.revoked_at is not None:
        return "invite_revoked", "This invite link was revoked by the DAO."
    if invite.expires_at <= now:
        return "invite_expired", "This invite link has expired; ask the DAO for a new one."
    if invite.uses >= invite.max_uses:
        return "invite_used_up", "This invite link has been used as often as it may be."
    return None


@transaction.atomic
def dao_join(
    *,
    dao: DAO,
    user: User,
    typed_data: Any,
    signature: Any,
    invite: str | None = None,
    now: Any = None,
) -> Membership | JoinRequest:
    """``user`` joins ``dao`` with their signed acceptance of its terms: a Membership (role
    contributor) with a valid invite link or under the open policy, a pending JoinRequest under
    the request policy. Refused: a member already, a pending request already, a request within
    ``REQUEST_COOLDOWN`` of a declined one, an invite-only DAO without a link, an unknown,
    revoked, expired or used-up link, and any fault of the signed terms. A link's uses are
    counted under its row lock, so a single-use link admits exactly one person."""
    now = now or timezone.now()
    if Membership.objects.filter(dao=dao, user=user).exists():
        raise JoinRefused(
            "already_member",
            Detail(
                "%(address)s is already a member of %(name)s.", address=user.address, name=dao.name
            ),
            409,
        )
    if invite is not None:
        link = _invite_locked(dao=dao, token=invite, now=now)
        acceptance = _acceptance_record(
            dao=dao, user=user, typed_data=typed_data, signature=signature, now=now
        )
        InviteLink.objects.filter(pk=link.pk).update(uses=F("uses") + 1)
        membership = _admit(dao=dao, user=user, actor=user, via="invite", acceptance=acceptance)
        audit_record(
            actor=user, dao=dao, verb="invite.used", obj=link, details={"address": user.address}
        )
        return membership
    if dao.join_policy == JoinPolicy.OPEN:
        acceptance = _acceptance_record(
            dao=dao, user=user, typed_data=typed_data, signature=signature, now=now
        )
        return _admit(dao=dao, user=user, actor=user, via="open", acceptance=acceptance)
    if dao.join_policy == JoinPolicy.INVITE:
        raise JoinRefused(
            "invite_required",
            Detail("%(name)s admits members by invite link only.", name=dao.name),
            403,
        )
    return _join_request_create(
        dao=dao, user=user, typed_data=typed_data, signature=signature, now=now
    )


def _join_request_create(
    *, dao: DAO, user: User, typed_data: Any, signature: Any, now: Any
) -> JoinRequest:
    previous = JoinRequest.objects.filter(dao=dao, user=user).order_by("-created_at").first()
    if previous is not None and previous.status == JoinRequestStatus.PENDING:
        raise JoinRefused(
            "request_pending", Detail("You already have a pending request to join this DAO."), 409
        )
    if (
        previous is not None
        and previous.status == JoinRequestStatus.DECLINED
        and previous.decided_at is not None
        and previous.decided_at + REQUEST_COOLDOWN > now
    ):
        again = previous.decided_at + REQUEST_COOLDOWN
        raise JoinRefused(
            "request_declined",
            Detail(
                "Your request was declined; you may ask again from %(again)s UTC.",
                again=format(again, "%Y-%m-%d %H:%M"),
            ),
            409,
        )
    acceptance = _acceptance_record(
        dao=dao, user=user, typed_data=typed_data, signature=signature, now=now
    )
    try:
        with transaction.atomic():
            request = JoinRequest.objects.create(
                dao=dao, user=user, acceptance=acceptance, created_at=now
            )
    except IntegrityError:
        # Two requests at once: the constraint lets one through.
        raise JoinRefused(
            "request_pending", Detail("You already have a pending request to join this DAO."), 409
        ) from None
    audit_record(
        actor=user,
        dao=dao,
        verb="joinrequest.created",
        obj=request,
        details={"address": user.address},
    )
    events.emit(
        dao=dao,
        event_type=events.EventType.MEMBERSHIP_REQUESTED,
        payload={
            "request": {
                "id": request.pk,
                "address": user.address,
                "created_at": request.created_at.isoformat().replace("+00:00", "Z"),
            }
        },
    )
    return request


# --- deciding requests ------------------------------------------------------------------------


def may_manage_joining(*, actor: User | None, dao_id: int) -> bool:
    """Creators and admins of the DAO (and superusers, and the platform) decide requests and
    manage invite links."""
    if actor is None or actor.is_superuser:
        return True
    return Membership.objects.filter(dao_id=dao_id, user=actor, role__in=MANAGER_ROLES).exists()


def _refuse_unless_manager(actor: User | None, dao_id: int) -> None:
    if not may_manage_joining(actor=actor, dao_id=dao_id):
        raise JoinRefused(
            "forbidden", Detail("Only a creator or admin of the DAO may do this."), status_code=403
        )


def _decision_locked(join_request: JoinRequest, actor: User | None) -> JoinRequest:
    locked = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
    _refuse_unless_manager(actor, locked.dao_id)
    if locked.status != JoinRequestStatus.PENDING:
        raise JoinRefused(
            "not_pending",
            Detail("This request was %(status)s already; nothing to decide.", status=locked.status),
            409,
        )
    return locked


@transaction.atomic
def join_request_approve(*, join_request: JoinRequest, actor: User | None) -> JoinRequest:
    """Approve a pending request: its applicant becomes a contributor (unless a member
    already, e.g. by an invite meanwhile). Only a pending request, only by a manager."""
    request = _decision_locked(join_request, actor)
    request.status = JoinRequestStatus.APPROVED
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.save(update_fields=["status", "decided_at", "decided_by"])
    member_already = Membership.objects.filter(dao_id=request.dao_id, user_id=request.user_id)
    if not member_already.exists():
        _admit(
            dao=request.dao,
            user=request.user,
            actor=actor,
            via="request",
            acceptance=request.acceptance,
        )
    audit_record(
        actor=actor,
        dao=request.dao,
        verb="joinrequest.approved",
        obj=request,
        details={"address": request.user.address},
    )
    return request


@transaction.atomic
def join_request_decline(*, join_request: JoinRequest, actor: User | None) -> JoinRequest:
    """Decline a pending request. Only a pending request, only by a manager; the applicant
    may ask again after ``REQUEST_COOLDOWN``."""
    request = _decision_locked(join_request, actor)
    request.status = JoinRequestStatus.DECLINED
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        dao=request.dao,
        verb="joinrequest.declined",
        obj=request,
        details={"address": request.user.address},
    )
    return request


# --- invite links -------------------------------------------------------------------------------


@transaction.atomic
def invite_link_create(
    *,
    dao: DAO,
    actor: User,
    max_uses: int = 1,
    lifetime: timedelta = timedelta(days=7),
    note: str = "",
) -> tuple[InviteLink, str]:
    """A new invite link for ``dao``: (the link, its token). The token is returned once and
    only its sha256 is stored. Only a creator or admin of the DAO."""
    _refuse_unless_manager(actor, dao.pk)
    if isinstance(max_uses, bool) or not isinstance(max_uses, int):
        raise JoinRefused("bad_request", Detail("max_uses must be a whole number."))
    if not 1 <= max_uses <= INVITE_MAX_USES:
        raise JoinRefused(
            "bad_request",
            Detail("max_uses must be 1 to %(invite_max_uses)s.", invite_max_uses=INVITE_MAX_USES),
        )
    if not timedelta(minutes=5) <= lifetime <= INVITE_MAX_LIFETIME:
        raise JoinRefused(
            "bad_request",
            Detail(
                "An invite link lives 5 minutes to %(days)s days.", days=INVITE_MAX_LIFETIME.days
            ),
        )
    token = secrets.token_urlsafe(32)
    link = InviteLink.objects.create(
        dao=dao,
        token_hash=token_hash(token),
        note=note[:120],
        max_uses=max_uses,
        expires_at=timezone.now() + lifetime,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        dao=dao,
        verb="invite.created",
        obj=link,
        details={"max_uses": max_uses, "expires_at": link.expires_at.isoformat(), "note": note},
    )
    return link, token


@transaction.atomic
def invite_link_revoke(*, invite: InviteLink, actor: User | None) -> InviteLink:
    """Revoke an invite link: nobody joins with it afterwards. Revoking twice is refused."""
    link = InviteLink.objects.select_for_update().get(pk=invite.pk)
    _refuse_unless_manager(actor, link.dao_id)
    if link.revoked_at is not None:
        raise JoinRefused("already_revoked", Detail("This invite link is revoked already."), 409)
    link.revoked_at = timezone.now()
    link.revoked_by = actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, dao=link.dao, verb="invite.revoked", obj=link)
    return link


# --- leaving ------------------------------------------------------------------------------------


@transaction.atomic
def dao_leave(*, dao: DAO, user: User) -> None:
    """``user`` leaves ``dao`` (``membership_remove`` with the member as actor: the last
    creator cannot leave)."""
    membership = Membership.objects.filter(dao=dao, user=user).first()
    if membership is None:
        raise JoinRefused(
            "not_member", Detail("You are not a member of %(name)s.", name=dao.name), 409
        )
    try:
        membership_remove(membership=membership, actor=user)
    except ValidationError as exc:
        raise JoinRefused("last_creator", " ".join(exc.messages), 409) from None
