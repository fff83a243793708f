"""The row lock a pipeline stage takes (``lock_at``) holds the contribution's row only.

Locking the dataset and DAO rows joined in as well (a bare ``FOR UPDATE`` over the join)
deadlocked uploads against stages: an upload holds its contributor's row and then needs the
dataset row for the new contribution's foreign key, while a stage held the dataset row and
then needed the contributor's row for the reward credit (tests/fleet/test_outage.py hit it).
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import transaction

from contributions.models import Contribution, Status
from contributions.services.common import lock_at
from datadao.models import DAO, Dataset
from tests import fixtures_celery
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

KEY_SHARE = "SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT"


def test_a_stage_lock_leaves_the_dataset_and_dao_rows_free() -> None:
    dataset = DatasetFactory()
    contribution = Contribution.objects.create(
        dataset=dataset,
        contributor=UserFactory(),
        sha256="0" * 64,
        size=1,
        storage_name="lock-test",
        status=Status.RECEIVED,
    )
    with transaction.atomic():
        assert lock_at(contribution.pk, "validate") is not None
        # Another session, as an upload's foreign-key checks would take them.
        with psycopg.connect(fixtures_celery.test_database_url(), autocommit=True) as other:
            for model, pk in ((Dataset, dataset.pk), (DAO, dataset.dao_id)):
                other.execute(KEY_SHARE.format(table=model._meta.db_table), [pk])
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    KEY_SHARE.format(table=Contribution._meta.db_table), [contribution.pk]
                )
