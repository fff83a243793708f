"""Fixtures for the SDK's tests against the live platform: a wallet with a keystore, an open
DAO it joins through the SDK, a tabular dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from datadao.models import DatasetStatus, JoinPolicy
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DAOFactory, DatasetFactory

PASSWORD = "pw-for-test"


@pytest.fixture
def keystore(tmp_path: Path) -> tuple[Path, str]:
    """A keystore (pbkdf2 with few rounds: it guards nothing, and scrypt would only slow the
    tests) and its address."""
    account = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, PASSWORD, "pbkdf2", 1000)))
    return path, account.address


@pytest.fixture
def open_dao():  # type: ignore[no-untyped-def]
    return DAOFactory(join_policy=JoinPolicy.OPEN)


@pytest.fixture
def tabular(open_dao):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(dao=open_dao, kind="tabular", schema=CSV_SCHEMA)
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
