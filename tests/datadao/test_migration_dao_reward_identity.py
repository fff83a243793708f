"""datadao 0005: existing DAOs get a random onchain_id each, and DAOs sharing a reward
contract on a chain keep it only for the oldest (the others' clearing is audited)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from datadao.models import DAO, DAO_ID_REGEX, AuditEvent

BEFORE = [("datadao", "0004_dao_epoch_days")]
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _migrate(targets: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_daos_get_ids_and_a_shared_contract_stays_with_the_oldest() -> None:
    apps = _migrate(BEFORE)
    try:
        OldUser = apps.get_model("datadao", "User")
        OldDAO = apps.get_model("datadao", "DAO")
        creator = OldUser.objects.create(address="0x" + "11" * 20, password="!")
        base = {"creator": creator, "token_symbol": "T"}
        first = OldDAO.objects.create(
            slug="first", chain_id=1, reward_contract_address=CONTRACT, **base
        )
        # The same contract in another spelling, on the same chain: the attack's setup.
        second = OldDAO.objects.create(
            slug="second", chain_id=1, reward_contract_address=CONTRACT.lower(), **base
        )
        OldDAO.objects.create(
            slug="other-chain", chain_id=5, reward_contract_address=CONTRACT, **base
        )
        OldDAO.objects.create(slug="none", chain_id=1, **base)
    finally:
        # Forward again to every app's latest, as the rest of the suite expects.
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    daos = {dao.slug: dao for dao in DAO.objects.all()}
    ids = [dao.onchain_id for dao in daos.values()]
    assert len(set(ids)) == 4 and all(re.fullmatch(DAO_ID_REGEX, i) for i in ids)
    assert daos["first"].reward_contract_address == CONTRACT
    assert daos["second"].reward_contract_address == ""
    assert daos["other-chain"].reward_contract_address == CONTRACT
    assert daos["none"].reward_contract_address == ""
    (event,) = AuditEvent.objects.filter(verb="dao.reward_contract_cleared")
    assert event.dao_id == second.pk and event.details == {
        "chain_id": 1,
        "reward_contract_address": CONTRACT.lower(),
        "kept_by_dao": first.pk,
        "reason": "another DAO already used this contract on this chain",
    }
