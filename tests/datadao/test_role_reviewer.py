"""The reviewer role: datadao 0015 renames existing "validator" memberships, a proposal voted
under that name still applies, and nothing else answers to the old name."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

from datadao.governed import ChangeKind
from datadao.models import Membership, Role
from governance.changes import change_apply
from tests.governance.conftest import Gov, gov  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

step = importlib.import_module("datadao.migrations.0015_role_reviewer")


def test_existing_validator_memberships_become_reviewers(gov: Gov) -> None:  # noqa: F811
    carol = Membership.objects.get(dao=gov.dao, user=gov.users["carol"])
    alice = Membership.objects.get(dao=gov.dao, user=gov.users["alice"])
    with connection.cursor() as cursor:
        # Rows from before the migration: its first step lifts the constraint the same way.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before the DDL
        cursor.execute("ALTER TABLE datadao_membership DROP CONSTRAINT membership_role_valid")
        cursor.execute("UPDATE datadao_membership SET role = 'validator' WHERE id = %s", [carol.pk])
    step.forwards(apps, None)
    carol.refresh_from_db()
    alice.refresh_from_db()
    assert (carol.role, alice.role) == (Role.REVIEWER, Role.CONTRIBUTOR)
    step.backwards(apps, None)
    carol.refresh_from_db()
    assert carol.role == "validator"


def test_a_proposal_voted_under_the_former_name_makes_a_reviewer(gov: Gov) -> None:  # noqa: F811
    carol = gov.users["carol"]
    change_apply(
        dao=gov.dao,
        kind=ChangeKind.MEMBERSHIP_ROLE,
        change={"address": carol.address, "role": "validator"},
        proposal=None,
    )
    assert Membership.objects.get(dao=gov.dao, user=carol).role == Role.REVIEWER


def test_the_former_name_is_no_role_now() -> None:
    assert "validator" not in Role.values
    assert "reviewer" in Role.values
