"""Fixtures for the labeling tests: an open labeling dataset, labelers, tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client

from datadao.models import DatasetStatus, Membership, Role
from datadao.services import dataset_set_status
from labeling.conf import undo_seconds
from labeling.models import Label, LabelTask
from tests.factories import DAOFactory, DatasetFactory, UserFactory

LABELING_SCHEMA = {
    "labels": ["cat", "dog", "bird"],
    "overlap": 3,
    "max_overlap": 5,
    "gold_rate": 0.0,
    "confidence_target": 0.95,
    "gold_accuracy_floor": 0.6,
    "item_kind": "text",
}


@pytest.fixture
def admin_user():  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def ldao(admin_user):  # type: ignore[no-untyped-def]
    dao = DAOFactory()
    Membership.objects.create(dao=dao, user=admin_user, role=Role.ADMIN)
    return dao


def make_dataset(dao, **schema):  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(dao=dao, kind="labeling", schema={**LABELING_SCHEMA, **schema})
    return dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)


@pytest.fixture
def ldataset(ldao):  # type: ignore[no-untyped-def]
    return make_dataset(ldao)


def make_labelers(dao, n: int):  # type: ignore[no-untyped-def]
    users = [UserFactory() for _ in range(n)]
    for user in users:
        Membership.objects.create(dao=dao, user=user, role=Role.CONTRIBUTOR)
    return users


@pytest.fixture
def labelers(ldao):  # type: ignore[no-untyped-def]
    return make_labelers(ldao, 6)


def make_tasks(dataset, n: int, *, start: int = 0, wanted: int = 3):  # type: ignore[no-untyped-def]
    return LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"t{start + i}",
            kind="text",
            payload={"text": f"item {start + i}"},
            wanted=wanted,
        )
        for i in range(n)
    )


def make_gold(dataset, answers: list[str]):  # type: ignore[no-untyped-def]
    return LabelTask.objects.bulk_create(
        LabelTask(
            dataset=dataset,
            source_key=f"gold{i}",
            kind="text",
            payload={"text": f"gold item {i}"},
            gold=[answer],
            is_gold=True,
        )
        for i, answer in enumerate(answers)
    )


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def age_labels(**filters) -> None:  # type: ignore[no-untyped-def]
    """Move labels past the undo window, as time would: a task settles only then."""
    Label.objects.filter(**filters).update(
        created_at=F("created_at") - timedelta(seconds=undo_seconds() + 1)
    )
