"""Services: guarantees, guards and audit records."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from datadao import services
from datadao.models import AuditEvent, DatasetStatus, Membership, Role
from tests.factories import TABULAR_SCHEMA, DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_dao_create_makes_the_creator_a_member_and_audits() -> None:
    creator = UserFactory()
    dao = services.dao_create(creator=creator, name="Air", slug="air", token_symbol="AIR")
    membership = Membership.objects.get(dao=dao)
    assert (membership.user, membership.role) == (creator, Role.CREATOR)
    assert AuditEvent.objects.filter(dao=dao, verb="dao.created", actor=creator).count() == 1


def test_dao_create_refuses_bad_input_and_stores_nothing() -> None:
    creator = UserFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.dao_create(
            creator=creator, name="Air", slug="air", token_symbol="A", reward_contract_address="0x1"
        )
    assert "not an Ethereum address" in str(excinfo.value)
    with pytest.raises(ValidationError) as excinfo:
        services.dao_create(creator=creator, name="Air", slug="bad slug!", token_symbol="AIR")
    assert "slug" in excinfo.value.message_dict
    assert not Membership.objects.exists()


def test_dataset_create_validates_schema_and_license_together() -> None:
    dao = DAOFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.dataset_create(
            dao=dao,
            actor=None,
            name="x",
            slug="x",
            kind="tabular",
            schema={"columns": [{"name": "a", "type": "decimal"}]},
            license="Not-A-License",
        )
    messages = excinfo.value.messages
    assert any("columns[0].type" in m for m in messages)
    assert any("Not-A-License" in m for m in messages)
    assert not dao.datasets.exists()


def test_dataset_license_is_normalized() -> None:
    dataset = DatasetFactory(license="cc-by-4.0")
    assert dataset.license == "CC-BY-4.0"


def test_dataset_status_transitions_are_guarded() -> None:
    dataset = DatasetFactory()
    assert dataset.status == DatasetStatus.DRAFT
    services.dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    with pytest.raises(ValidationError, match="cannot become 'draft'"):
        services.dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.DRAFT)
    services.dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.CLOSED)
    services.dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    verbs = list(
        AuditEvent.objects.filter(verb="dataset.status_changed").values_list("details", flat=True)
    )
    assert len(verbs) == 3


def test_dataset_update_refuses_kind_change_and_bad_schema() -> None:
    dataset = DatasetFactory()
    with pytest.raises(ValidationError, match="cannot be changed here: kind"):
        services.dataset_update(dataset=dataset, actor=None, kind="files")
    with pytest.raises(ValidationError):
        services.dataset_update(dataset=dataset, actor=None, schema={"columns": []})
    dataset.refresh_from_db()
    assert dataset.schema == TABULAR_SCHEMA


def test_dataset_update_audits_the_old_schema() -> None:
    dataset = DatasetFactory()
    new = {"columns": [{"name": "only", "type": "string"}]}
    services.dataset_update(dataset=dataset, actor=None, schema=new)
    event = AuditEvent.objects.get(verb="dataset.updated")
    assert event.details["schema"] == [TABULAR_SCHEMA, new]


def test_last_creator_cannot_be_demoted_or_removed() -> None:
    dao = DAOFactory()
    creator_membership = Membership.objects.get(dao=dao)
    with pytest.raises(ValidationError, match="at least one member with role 'creator'"):
        services.membership_set_role(
            membership=creator_membership, role=Role.ADMIN, actor=dao.creator
        )
    with pytest.raises(ValidationError, match="at least one member with role 'creator'"):
        services.membership_remove(membership=creator_membership, actor=dao.creator)
    second = services.membership_add(
        dao=dao, user=UserFactory(), role=Role.CREATOR, actor=dao.creator
    )
    services.membership_set_role(membership=creator_membership, role=Role.ADMIN, actor=None)
    with pytest.raises(ValidationError):
        services.membership_remove(membership=second, actor=None)


def test_membership_add_refuses_duplicates_and_unknown_roles() -> None:
    dao = DAOFactory()
    user = UserFactory()
    services.membership_add(dao=dao, user=user, role=Role.CONTRIBUTOR, actor=None)
    with pytest.raises(ValidationError, match="already a member"):
        services.membership_add(dao=dao, user=user, role=Role.ADMIN, actor=None)
    with pytest.raises(ValidationError, match="Unknown role"):
        services.membership_add(dao=dao, user=UserFactory(), role="owner", actor=None)


def test_user_get_or_create_checksums_and_is_idempotent() -> None:
    address = UserFactory.build().address
    user, created = services.user_get_or_create(address=address.lower())
    assert created and user.address == address
    again, created_again = services.user_get_or_create(address=address.upper().replace("0X", "0x"))
    assert again.pk == user.pk and not created_again
    with pytest.raises(ValidationError, match="not an Ethereum address"):
        services.user_get_or_create(address="0xnope")
