"""Database constraints hold even when Python validation is bypassed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import DatabaseError

from datadao.models import DAO, AuditEvent, Dataset, Membership, User
from datadao.services import audit_record
from tests.factories import DAOFactory, DatasetFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _violates(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_user_address_is_unique_case_insensitively_and_well_formed() -> None:
    user = UserFactory()
    _violates(lambda: User.objects.create(address=user.address.lower()))
    _violates(lambda: User.objects.create(address="0x123"))
    _violates(lambda: User.objects.create(address="not-an-address-" + "0" * 27))


def test_membership_is_unique_per_user_and_dao() -> None:
    membership = MembershipFactory()
    _violates(lambda: Membership.objects.create(user=membership.user, dao=membership.dao))


def test_membership_role_must_be_known() -> None:
    dao, user = DAOFactory(), UserFactory()
    _violates(lambda: Membership.objects.create(user=user, dao=dao, role="owner"))


def test_dataset_slug_unique_per_dao_and_enums_checked() -> None:
    dataset = DatasetFactory()
    _violates(
        lambda: Dataset.objects.create(
            dao=dataset.dao, slug=dataset.slug, name="x", kind="tabular", license="MIT"
        )
    )
    for field, value in (("kind", "video"), ("status", "archived"), ("visibility", "secret")):
        values = {"kind": "tabular", "status": "draft", "visibility": "public", field: value}
        _violates(
            lambda v=values, f=field: Dataset.objects.create(
                dao=dataset.dao, slug=f"s-{f}", name="x", license="MIT", **v
            )
        )
    # The same slug in another DAO is fine.
    DatasetFactory(slug=dataset.slug)


def test_dao_constraints() -> None:
    creator = UserFactory()
    base = {"name": "x", "creator": creator, "token_symbol": "TOK"}
    DAO.objects.create(slug="ok", **base)
    _violates(lambda: DAO.objects.create(slug="ok", **base))
    _violates(lambda: DAO.objects.create(slug="bad-chain", chain_id=0, **base))
    _violates(lambda: DAO.objects.create(slug="bad-sym", **(base | {"token_symbol": "TO K"})))
    _violates(lambda: DAO.objects.create(slug="bad-addr", reward_contract_address="0x1", **base))


def test_audit_log_is_append_only_in_the_database() -> None:
    assert connection.vendor == "postgresql"
    event = audit_record(actor=None, dao=None, verb="test.event")
    with pytest.raises((InternalError, DatabaseError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(verb="rewritten")
    with pytest.raises((InternalError, DatabaseError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "test.event"
