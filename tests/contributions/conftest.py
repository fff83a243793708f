"""Fixtures for the contribution pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from tests.factories import DAOFactory, DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker
from tests.ipfsnode import IpfsNode

CSV_SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
    ],
    "max_size": 1_000_000,
}
IMAGE_SCHEMA = {
    "media_types": ["image/png", "image/jpeg"],
    "max_size": 2_000_000,
    "image": {"min_width": 4, "min_height": 4, "max_width": 4000, "max_height": 4000},
}


@pytest.fixture
def member():  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def dao(member):  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    return dao


def _open(dataset):  # type: ignore[no-untyped-def]
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


@pytest.fixture
def tabular(dao):  # type: ignore[no-untyped-def]
    return _open(DatasetFactory(dao=dao, kind="tabular", schema=CSV_SCHEMA))


@pytest.fixture
def images(dao):  # type: ignore[no-untyped-def]
    return _open(DatasetFactory(dao=dao, kind="files", schema=IMAGE_SCHEMA))


@pytest.fixture
def member_client(member) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    return client


def good_csv(rows: int = 5, start: int = 0) -> bytes:
    lines = ["id,value,kind"] + [
        f"{i},{i % 100}.5,{'ab'[i % 2]}" for i in range(start, start + rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def on_node(ipfs_node: IpfsNode, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A real worker pinning to the js-ipfs node, and this process set to read from it."""
    with override_settings(IPFS_BACKEND="kubo", IPFS_API_URL=ipfs_node.api_url):
        worker = start_worker(
            tmp_path, extra_env={"IPFS_BACKEND": "kubo", "IPFS_API_URL": ipfs_node.api_url}
        )
        try:
            yield worker
        finally:
            worker.stop()
