"""factory_boy factories. Objects with invariants (DAO + creator membership) go through services."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

import factory
from django.utils import timezone
from eth_account import Account

from contributions.models import Contribution, Status
from datadao import services
from datadao.models import DAO, Dataset, Membership, Role, User

TABULAR_SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
    ]
}


def new_account():  # type: ignore[no-untyped-def]
    """A fresh random key pair (test-only, never persisted)."""
    return Account.create()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("address",)

    address = factory.LazyFunction(lambda: new_account().address)


class DAOFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DAO

    name = factory.Sequence(lambda n: f"DAO {n}")
    slug = factory.Sequence(lambda n: f"dao-{n}")
    token_symbol = "TOK"
    creator = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return services.dao_create(**kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    dao = factory.SubFactory(DAOFactory)
    role = Role.CONTRIBUTOR


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    dao = factory.SubFactory(DAOFactory)
    name = factory.Sequence(lambda n: f"Dataset {n}")
    slug = factory.Sequence(lambda n: f"dataset-{n}")
    kind = "tabular"
    schema = factory.LazyFunction(lambda: dict(TABULAR_SCHEMA))
    license = "CC-BY-4.0"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return services.dataset_create(actor=None, **kwargs)


_bulk_serial = itertools.count()


def contributions_bulk(  # type: ignore[no-untyped-def]
    dataset, n: int, *, days_ago: int = 0, status: str = Status.RECEIVED, **fields
) -> list[Contribution]:
    """``n`` contributions in one INSERT, created ``days_ago`` days ago, by one new contributor
    unless ``contributor`` is given; a pinned one carries a CID. For counts and charts, not
    for the pipeline: nothing is stored or scored."""
    contributor = fields.pop("contributor", None) or UserFactory()
    created = timezone.now() - dt.timedelta(days=days_ago)
    rows = []
    for _ in range(n):
        i = next(_bulk_serial)
        rows.append(
            Contribution(
                dataset=dataset,
                contributor=contributor,
                sha256=hashlib.sha256(f"bulk-{i}".encode()).hexdigest(),
                size=10,
                storage_name=f"bulk-{i}",
                created_at=created,
                status_changed_at=created,
                status=status,
                cid="bafy" if status == Status.PINNED else "",
                **fields,
            )
        )
    return Contribution.objects.bulk_create(rows)
