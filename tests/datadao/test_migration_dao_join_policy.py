"""datadao 0007: existing DAOs keep working: each gets the "by request" policy and empty
terms (nobody is admitted by the migration), and the new tables start empty."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from datadao.models import DAO, JoinRequest, TermsAcceptance

BEFORE = [("datadao", "0006_siwenonce_address_chain")]


def _migrate(targets: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_daos_get_the_request_policy_and_empty_terms() -> None:
    apps = _migrate(BEFORE)
    try:
        creator = apps.get_model("datadao", "User").objects.create(
            address="0x" + "22" * 20, password="!"
        )
        apps.get_model("datadao", "DAO").objects.create(
            slug="older", creator=creator, token_symbol="OLD", chain_id=1
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    dao = DAO.objects.get(slug="older")
    assert (dao.join_policy, dao.terms) == ("request", "")
    assert not JoinRequest.objects.exists() and not TermsAcceptance.objects.exists()
