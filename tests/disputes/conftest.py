"""A DAO with a paying dataset, its admin, a contributor and a challenger, for the disputes
tests; the reward signer and an embedded IPFS store so epochs close for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from contributions.models import Contribution, Status
from datadao.models import DAO, Dataset, Membership, Role, User
from datadao.services import dao_update
from rewards.models import RewardEntry, RewardPolicy
from rewards.services import reward_credit_contribution
from tests.factories import DAOFactory, DatasetFactory, UserFactory

REWARD_KEY = "0x" + "4" * 63 + "1"  # test-only key; guards nothing


@pytest.fixture(autouse=True)
def _reward_signer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("REWARD_SIGNER_KEY", REWARD_KEY)
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        yield


@dataclass
class Disputed:
    dao: DAO
    dataset: Dataset
    admin: User
    other_admin: User
    author: User
    challenger: User
    n: int = 0

    def member(self, role: str = Role.CONTRIBUTOR) -> User:
        user = UserFactory()
        Membership.objects.create(dao=self.dao, user=user, role=role)
        return user

    def pinned(self, user: User | None = None, score: int = 10_000) -> Contribution:
        """A pinned contribution of ``user`` (the author by default), credited."""
        self.n += 1
        contribution = Contribution.objects.create(
            dataset=self.dataset,
            contributor=user or self.author,
            sha256=f"{self.dao.pk:08x}{self.n:056x}",
            size=1,
            storage_name=f"d{self.dao.pk}-{self.n}",
            status=Status.PINNED,
            cid=f"bafkreitest{self.dao.pk}x{self.n}",
            score=score,
        )
        reward_credit_contribution(contribution=contribution)
        return contribution

    def credit(self, contribution: Contribution) -> RewardEntry | None:
        return RewardEntry.objects.filter(
            source_type="contributions.contribution", source_id=str(contribution.pk)
        ).first()


def make_disputed(**dao_fields: Any) -> Disputed:
    dao = DAOFactory(reward_contract_address="0x" + "ab" * 20)
    if dao_fields:  # through the service the console uses, as a DAO's admin sets them
        dao = dao_update(dao=dao, actor=None, **dao_fields)
    dataset = DatasetFactory(dao=dao)
    RewardPolicy.objects.create(dataset=dataset, per_contribution=1000)
    users = {}
    for name, role in (
        ("admin", Role.ADMIN),
        ("other_admin", Role.CREATOR),
        ("author", Role.CONTRIBUTOR),
        ("challenger", Role.CONTRIBUTOR),
    ):
        users[name] = UserFactory()
        Membership.objects.create(dao=dao, user=users[name], role=role)
    return Disputed(dao=dao, dataset=dataset, **users)


@pytest.fixture
def world() -> Disputed:
    return make_disputed()


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def file(client: Client, dao: DAO, **body: Any) -> Any:
    return client.post(
        f"/api/daos/{dao.slug}/challenges", json.dumps(body), content_type="application/json"
    )


def decide(client: Client, challenge_id: int, **body: Any) -> Any:
    return client.post(
        f"/api/challenges/{challenge_id}/decision",
        json.dumps(body),
        content_type="application/json",
    )
