"""Joining a DAO (datadao.joining): each policy, each refusal of the signed terms with its
message, join requests and their decisions, invite links, leaving. Real signatures made with
eth-account; real PostgreSQL (constraints, row locks, threads)."""

from __future__ import annotations

import copy
import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from datadao import joining
from datadao.joining import JoinRefused
from datadao.models import (
    AuditEvent,
    DatasetStatus,
    InviteLink,
    JoinPolicy,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
    TermsAcceptance,
)
from datadao.services import dao_update, dataset_set_status, membership_add
from tests.datadao.joinkit import sign, signed_terms, wallet_user
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db

TERMS = "Contributions are licensed to the DAO under the dataset's licence. No personal data."


def _dao(policy: str = JoinPolicy.OPEN, **kwargs):  # type: ignore[no-untyped-def]
    dao = DAOFactory(join_policy=policy, terms=TERMS, chain_id=8453, **kwargs)
    dataset = DatasetFactory(dao=dao, license="CC-BY-4.0")
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    return dao


def _join(dao, user, account, **kwargs):  # type: ignore[no-untyped-def]
    typed, signature = signed_terms(dao, user, account)
    return joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature, **kwargs)


def _refusal(dao, user, typed, signature, **kwargs) -> JoinRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(JoinRefused) as caught:
        joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature, **kwargs)
    return caught.value


def _nothing_stored(dao) -> None:  # type: ignore[no-untyped-def]
    assert not TermsAcceptance.objects.filter(dao=dao).exists()
    assert not JoinRequest.objects.filter(dao=dao).exists()
    assert Membership.objects.filter(dao=dao).count() == 1  # the creator only


# --- the policies --------------------------------------------------------------------------------


def test_open_policy_joins_at_once_and_keeps_the_signed_terms() -> None:
    dao = _dao(JoinPolicy.OPEN)
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    membership = joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
    assert (membership.dao, membership.user, membership.role) == (dao, user, Role.CONTRIBUTOR)
    acceptance = TermsAcceptance.objects.get(dao=dao, user=user)
    assert acceptance.signer == user.address and acceptance.signature == signature
    assert acceptance.typed_data == typed
    assert acceptance.terms_hash == "0x" + hashlib.sha256(TERMS.encode()).hexdigest()
    assert acceptance.typed_data["message"]["licenses"] == "CC-BY-4.0"
    assert acceptance.typed_data["domain"] == {"name": "datadao", "version": "1", "chainId": 8453}
    verbs = list(AuditEvent.objects.filter(dao=dao, actor=user).values_list("verb", "details"))
    assert ("terms.accepted", {"terms_hash": acceptance.terms_hash, "licenses": "CC-BY-4.0"}) in (
        verbs
    )
    added = AuditEvent.objects.get(dao=dao, verb="membership.added", actor=user)
    assert added.details["via"] == "open" and added.details["acceptance"] == acceptance.pk


def test_request_policy_makes_a_pending_request_and_no_membership() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    request = _join(dao, user, account)
    assert isinstance(request, JoinRequest) and request.status == JoinRequestStatus.PENDING
    assert not Membership.objects.filter(dao=dao, user=user).exists()
    assert request.acceptance.signer == user.address
    assert AuditEvent.objects.filter(verb="joinrequest.created", actor=user, dao=dao).exists()


def test_a_second_request_is_refused_and_the_database_allows_one_pending() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    first = _join(dao, user, account)
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.status_code) == ("request_pending", 409)
    assert refused.message == "You already have a pending request to join this DAO."
    # The constraint itself, past the service's check (two requests racing).
    with pytest.raises(IntegrityError, match="joinrequest_one_pending"), transaction.atomic():
        JoinRequest.objects.create(dao=dao, user=user, acceptance=first.acceptance)


def test_invite_only_refuses_without_a_link_and_stores_nothing() -> None:
    dao = _dao(JoinPolicy.INVITE)
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.status_code) == ("invite_required", 403)
    assert refused.message == f"{dao.name} admits members by invite link only."
    _nothing_stored(dao)


def test_a_member_cannot_join_again() -> None:
    dao = _dao(JoinPolicy.OPEN)
    user, account = wallet_user()
    _join(dao, user, account)
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.status_code) == ("already_member", 409)
    assert refused.message == f"{user.address} is already a member of {dao.name}."


# --- the signed terms: each refusal -----------------------------------------------------------


def test_terms_signed_by_another_address_are_refused() -> None:
    dao = _dao()
    user, _ = wallet_user()
    _, stranger = wallet_user()
    typed, signature = signed_terms(dao, user, stranger)  # names the user, signed by another
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "wrong_signer" and refused.status_code == 400
    assert refused.message.startswith(f"The terms were signed by {stranger.address}, not by ")
    _nothing_stored(dao)


def test_terms_naming_another_member_are_refused() -> None:
    dao = _dao()
    user, _ = wallet_user()
    other, other_account = wallet_user()
    typed, signature = signed_terms(dao, other, other_account)  # another user's own acceptance
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "wrong_member"
    assert refused.message == (
        f"The terms name {other.address} as the member; you are signed in as {user.address}."
    )
    _nothing_stored(dao)


def test_stale_terms_are_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account, now=timezone.now() - timedelta(minutes=11))
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "stale_terms"
    assert refused.message.endswith("seconds old (at most 600): sign them again.")
    _nothing_stored(dao)


def test_terms_issued_in_the_future_are_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account, now=timezone.now() + timedelta(hours=1))
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.message) == (
        "issued_in_future",
        "message.issuedAt is in the future.",
    )


def test_terms_changed_since_signing_are_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    dao_update(dao=dao, actor=None, terms=TERMS + " Amended.")
    dao.refresh_from_db()
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "terms_changed"
    assert refused.message.startswith("The DAO's terms have changed since you signed them")
    _nothing_stored(dao)


def test_licences_changed_since_signing_are_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    extra = DatasetFactory(dao=dao, license="MIT")
    dataset_set_status(dataset=extra, actor=None, status=DatasetStatus.OPEN)
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "licenses_changed"
    _nothing_stored(dao)
    # Signed again, the new licences are what is kept.
    membership = _join(dao, user, account)
    assert TermsAcceptance.objects.get(user=membership.user).typed_data["message"]["licenses"] == (
        "CC-BY-4.0, MIT"
    )


def test_terms_signed_for_another_chain_are_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, _ = signed_terms(dao, user, account)
    typed["domain"]["chainId"] = 1
    refused = _refusal(dao, user, typed, sign(typed, account))
    assert refused.code == "wrong_chain"
    assert refused.message.startswith(
        "The terms were signed for chain 1; this DAO is on chain 8453"
    )
    _nothing_stored(dao)


def test_terms_signed_for_another_dao_are_refused() -> None:
    dao, elsewhere = _dao(), _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(elsewhere, user, account)
    refused = _refusal(dao, user, typed, signature)
    # Same chain: the DAO id tells them apart.
    assert (refused.code, refused.message) == (
        "wrong_dao",
        "The terms were signed for another DAO (daoId).",
    )


def test_a_signature_over_other_types_recovers_to_someone_else() -> None:
    """The submitted types are never used: a signature over a payload with extra fields does
    not verify against the canonical one."""
    dao = _dao()
    user, account = wallet_user()
    typed, _ = signed_terms(dao, user, account)
    forged = copy.deepcopy(typed)
    forged["types"]["JoinTerms"].append({"name": "note", "type": "string"})
    forged["message"]["note"] = "anything"
    refused = _refusal(dao, user, typed, sign(forged, account))
    assert refused.code == "wrong_signer"


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "signature must be 0x-hex (65 bytes)."),
        ("0xzz", "signature must be 0x-hex (65 bytes)."),
        ("0x" + "00" * 64, "signature is 64 bytes, not 65."),
    ],
)
def test_malformed_signatures_are_refused(signature, message) -> None:  # type: ignore[no-untyped-def]
    dao = _dao()
    user, account = wallet_user()
    typed, _ = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.message) == ("bad_signature", message)


def test_the_high_s_twin_of_a_signature_is_refused() -> None:
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    raw = bytes.fromhex(signature[2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = n - int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64] if raw[64] > 26 else 1 - raw[64]])
    refused = _refusal(dao, user, typed, "0x" + twin.hex())
    assert refused.code == "bad_signature" and "high s" in refused.message


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (None, "typedData must be the JSON object you signed."),
        ({"primaryType": "Mail"}, "typedData.primaryType must be JoinTerms."),
        ({"primaryType": "JoinTerms"}, "typedData needs a domain and a message object."),
    ],
)
def test_malformed_typed_data_is_refused(typed, message) -> None:  # type: ignore[no-untyped-def]
    dao = _dao()
    user, _ = wallet_user()
    refused = _refusal(dao, user, typed, "0x" + "11" * 65)
    assert (refused.code, refused.message) == ("bad_typed_data", message)


def test_a_replayed_signature_is_refused() -> None:
    """Leave, then join again with the very same signed terms: stored once only."""
    dao = _dao()
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
    joining.dao_leave(dao=dao, user=user)
    refused = _refusal(dao, user, typed, signature)
    assert (refused.code, refused.status_code) == ("replayed_signature", 409)
    assert not Membership.objects.filter(dao=dao, user=user).exists()


# --- deciding requests ---------------------------------------------------------------------------


def _manager(dao, role):  # type: ignore[no-untyped-def]
    user = UserFactory()
    membership_add(dao=dao, user=user, role=role, actor=None)
    return user


def test_an_admin_approves_a_pending_request_once() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    admin = _manager(dao, Role.ADMIN)
    user, account = wallet_user()
    request = _join(dao, user, account)
    approved = joining.join_request_approve(join_request=request, actor=admin)
    assert approved.status == JoinRequestStatus.APPROVED and approved.decided_by == admin
    membership = Membership.objects.get(dao=dao, user=user)
    assert membership.role == Role.CONTRIBUTOR
    added = AuditEvent.objects.get(verb="membership.added", object_id=str(membership.pk))
    assert added.actor == admin and added.details["via"] == "request"
    assert AuditEvent.objects.filter(verb="joinrequest.approved", actor=admin).exists()
    with pytest.raises(JoinRefused) as again:
        joining.join_request_decline(join_request=request, actor=admin)
    assert (again.value.code, again.value.message) == (
        "not_pending",
        "This request was approved already; nothing to decide.",
    )


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.REVIEWER, None])
def test_only_creators_and_admins_decide(role) -> None:  # type: ignore[no-untyped-def]
    dao = _dao(JoinPolicy.REQUEST)
    actor = _manager(dao, role) if role else UserFactory()
    user, account = wallet_user()
    request = _join(dao, user, account)
    for decide in (joining.join_request_approve, joining.join_request_decline):
        with pytest.raises(JoinRefused) as refused:
            decide(join_request=request, actor=actor)
        assert (refused.value.code, refused.value.status_code) == ("forbidden", 403)
        assert refused.value.message == "Only a creator or admin of the DAO may do this."
    request.refresh_from_db()
    assert request.status == JoinRequestStatus.PENDING
    assert not Membership.objects.filter(dao=dao, user=user).exists()


def test_an_admin_of_another_dao_cannot_decide() -> None:
    dao, elsewhere = _dao(JoinPolicy.REQUEST), _dao()
    foreign_admin = _manager(elsewhere, Role.ADMIN)
    user, account = wallet_user()
    request = _join(dao, user, account)
    with pytest.raises(JoinRefused, match="Only a creator or admin"):
        joining.join_request_approve(join_request=request, actor=foreign_admin)


def test_a_declined_applicant_may_ask_again_only_after_the_cooldown() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    request = _join(dao, user, account)
    joining.join_request_decline(join_request=request, actor=dao.creator)
    assert not Membership.objects.filter(dao=dao, user=user).exists()
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature)
    assert refused.code == "request_declined"
    assert refused.message.startswith("Your request was declined; you may ask again from ")
    later = timezone.now() + joining.REQUEST_COOLDOWN + timedelta(minutes=1)
    typed, signature = signed_terms(dao, user, account, now=later)
    again = joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature, now=later)
    assert again.status == JoinRequestStatus.PENDING and again.pk != request.pk


# --- invite links ---------------------------------------------------------------------------------


def test_an_invite_stores_only_its_tokens_hash() -> None:
    dao = _dao(JoinPolicy.INVITE)
    link, token = joining.invite_link_create(dao=dao, actor=dao.creator)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 32 random bytes
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM datadao_invitelink")
        stored = repr(cursor.fetchall())
        cursor.execute("SELECT details::text FROM datadao_auditevent")
        audited = repr(cursor.fetchall())
    assert token not in stored and token not in audited


def test_a_single_use_invite_admits_one_person_then_refuses() -> None:
    dao = _dao(JoinPolicy.INVITE)
    _, token = joining.invite_link_create(dao=dao, actor=dao.creator, max_uses=1)
    first, first_account = wallet_user()
    membership = _join(dao, first, first_account, invite=token)
    assert membership.role == Role.CONTRIBUTOR
    assert InviteLink.objects.get(dao=dao).uses == 1
    second, second_account = wallet_user()
    typed, signature = signed_terms(dao, second, second_account)
    refused = _refusal(dao, second, typed, signature, invite=token)
    assert (refused.code, refused.status_code) == ("invite_used_up", 410)
    assert refused.message == "This invite link has been used as often as it may be."
    assert not Membership.objects.filter(dao=dao, user=second).exists()


def test_a_multi_use_invite_counts_its_uses_and_works_under_the_request_policy() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    _, token = joining.invite_link_create(dao=dao, actor=dao.creator, max_uses=3)
    for _ in range(3):
        user, account = wallet_user()
        assert isinstance(_join(dao, user, account, invite=token), Membership)
    assert InviteLink.objects.get(dao=dao).uses == 3
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    assert _refusal(dao, user, typed, signature, invite=token).code == "invite_used_up"


def test_an_expired_invite_is_refused() -> None:
    dao = _dao(JoinPolicy.INVITE)
    link, token = joining.invite_link_create(dao=dao, actor=dao.creator)
    InviteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature, invite=token)
    assert (refused.code, refused.status_code) == ("invite_expired", 410)
    assert refused.message == "This invite link has expired; ask the DAO for a new one."
    _nothing_stored(dao)


def test_a_revoked_invite_is_refused_and_revoking_twice_too() -> None:
    dao = _dao(JoinPolicy.INVITE)
    admin = _manager(dao, Role.ADMIN)
    link, token = joining.invite_link_create(dao=dao, actor=admin, max_uses=5)
    joining.invite_link_revoke(invite=link, actor=admin)
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    refused = _refusal(dao, user, typed, signature, invite=token)
    assert (refused.code, refused.message) == (
        "invite_revoked",
        "This invite link was revoked by the DAO.",
    )
    with pytest.raises(JoinRefused) as twice:
        joining.invite_link_revoke(invite=link, actor=admin)
    assert twice.value.code == "already_revoked"
    assert AuditEvent.objects.filter(verb="invite.revoked", actor=admin).count() == 1


def test_an_invite_of_another_dao_or_an_unknown_token_is_refused() -> None:
    dao, elsewhere = _dao(JoinPolicy.INVITE), _dao(JoinPolicy.INVITE)
    _, token = joining.invite_link_create(dao=elsewhere, actor=elsewhere.creator)
    user, account = wallet_user()
    for wrong in (token, "not-a-token"):
        typed, signature = signed_terms(dao, user, account)
        refused = _refusal(dao, user, typed, signature, invite=wrong)
        assert (refused.code, refused.status_code) == ("invite_unknown", 404)
        assert refused.message == "This invite link is not valid for this DAO."
    assert InviteLink.objects.get(dao=elsewhere).uses == 0


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.REVIEWER])
def test_only_creators_and_admins_create_or_revoke_invites(role) -> None:  # type: ignore[no-untyped-def]
    dao = _dao(JoinPolicy.INVITE)
    member = _manager(dao, role)
    with pytest.raises(JoinRefused, match="Only a creator or admin"):
        joining.invite_link_create(dao=dao, actor=member)
    link, _ = joining.invite_link_create(dao=dao, actor=dao.creator)
    with pytest.raises(JoinRefused, match="Only a creator or admin"):
        joining.invite_link_revoke(invite=link, actor=member)
    link.refresh_from_db()
    assert link.revoked_at is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_uses": 0}, "max_uses must be 1 to 10000."),
        ({"max_uses": True}, "max_uses must be a whole number."),
        ({"lifetime": timedelta(days=91)}, "An invite link lives 5 minutes to 90 days."),
    ],
)
def test_invite_limits(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    dao = _dao(JoinPolicy.INVITE)
    with pytest.raises(JoinRefused) as refused:
        joining.invite_link_create(dao=dao, actor=dao.creator, **kwargs)
    assert refused.value.message == message
    assert not InviteLink.objects.exists()


# --- leaving --------------------------------------------------------------------------------------


def test_a_member_leaves_through_membership_remove() -> None:
    dao = _dao()
    user, account = wallet_user()
    membership = _join(dao, user, account)
    joining.dao_leave(dao=dao, user=user)
    assert not Membership.objects.filter(dao=dao, user=user).exists()
    removed = AuditEvent.objects.get(verb="membership.removed", object_id=str(membership.pk))
    assert removed.actor == user and removed.details == {
        "address": user.address,
        "role": "contributor",
    }
    # The acceptance stays: it is the record of what they signed.
    assert TermsAcceptance.objects.filter(dao=dao, user=user).exists()


def test_the_last_creator_cannot_leave_but_one_of_two_can() -> None:
    dao = _dao()
    with pytest.raises(JoinRefused) as refused:
        joining.dao_leave(dao=dao, user=dao.creator)
    assert (refused.value.code, refused.value.status_code) == ("last_creator", 409)
    assert refused.value.message == "A DAO must keep at least one member with role 'creator'."
    co_creator = _manager(dao, Role.CREATOR)
    joining.dao_leave(dao=dao, user=dao.creator)
    assert list(Membership.objects.filter(dao=dao).values_list("user", flat=True)) == [
        co_creator.pk
    ]


def test_a_non_member_cannot_leave() -> None:
    dao = _dao()
    user = UserFactory()
    with pytest.raises(JoinRefused) as refused:
        joining.dao_leave(dao=dao, user=user)
    assert (refused.value.code, refused.value.message) == (
        "not_member",
        f"You are not a member of {dao.name}.",
    )


# --- concurrency (threads, one PostgreSQL connection each) ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_uses_of_a_single_use_invite_at_once_make_exactly_one_member() -> None:
    dao = _dao(JoinPolicy.INVITE)
    _, token = joining.invite_link_create(dao=dao, actor=dao.creator, max_uses=1)
    joiners = [wallet_user() for _ in range(2)]
    signed = [signed_terms(dao, user, account) for user, account in joiners]
    barrier = threading.Barrier(len(joiners))
    results: list[object] = []

    def use(index: int) -> None:
        user = joiners[index][0]
        typed, signature = signed[index]
        try:
            barrier.wait(timeout=30)
            results.append(
                joining.dao_join(
                    dao=dao, user=user, typed_data=typed, signature=signature, invite=token
                )
            )
        except JoinRefused as exc:
            results.append(exc.code)
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=use, args=(i,)) for i in range(len(joiners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(type(r).__name__ if not isinstance(r, str) else r for r in results) == [
        "Membership",
        "invite_used_up",
    ], results
    assert Membership.objects.filter(dao=dao, role=Role.CONTRIBUTOR).count() == 1
    assert InviteLink.objects.get(dao=dao).uses == 1
    assert TermsAcceptance.objects.filter(dao=dao).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_leave_one_pending() -> None:
    dao = _dao(JoinPolicy.REQUEST)
    user, account = wallet_user()
    signed = [
        signed_terms(dao, user, account, now=timezone.now() - timedelta(seconds=i)) for i in (0, 1)
    ]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def ask(index: int) -> None:
        typed, signature = signed[index]
        try:
            barrier.wait(timeout=30)
            results.append(
                joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
            )
        except JoinRefused as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert "request_pending" in results and len(results) == 2, results
    assert JoinRequest.objects.filter(dao=dao, user=user).count() == 1


# --- query counts ---------------------------------------------------------------------------------


def test_joining_an_open_dao_takes_a_fixed_number_of_queries(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    """However many datasets the DAO has: the membership check, the licences, the acceptance
    and its audit event, the membership and its audit event (and their savepoints)."""
    dao = _dao()
    for _ in range(3):
        dataset_set_status(dataset=DatasetFactory(dao=dao), actor=None, status=DatasetStatus.OPEN)
    user, account = wallet_user()
    typed, signature = signed_terms(dao, user, account)
    with django_assert_num_queries(12):
        joining.dao_join(dao=dao, user=user, typed_data=typed, signature=signature)
