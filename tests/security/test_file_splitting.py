"""File splitting: rows sent as many small files must not earn more than the same rows in one.

The attack: a contributor who holds N new rows sends them as N one-row files instead of one
file. Under ``per_contribution`` each accepted file earns the full amount (scaled by its score
and its share of new rows), so splitting multiplies the pay by N, up to the hourly upload quota;
that is what the policy says (it pays per file), and the README says so. A tabular dataset that
pays for data, not for files, uses ``per_row``: each new row earns the same whichever file it
came in. The test sends both through the real upload API to a real worker and reads the ledger.
"""

from __future__ import annotations

import pytest

from contributions.models import Status
from datadao.models import DatasetStatus
from datadao.services import dataset_set_status
from rewards.models import RewardPolicy
from tests.factories import DAOFactory, DatasetFactory
from tests.fixtures_celery import WorkerProcess
from tests.security.test_duplicate_farming import SCHEMA, Wallet, _credit, _csv, _final, _rows

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PER_ROW = 10**17
BPS = 10_000
ROWS = 8


def test_one_row_files_earn_no_more_than_one_file_under_per_row(
    celery_worker: WorkerProcess,
) -> None:
    worker = celery_worker
    dao = DAOFactory()
    dataset = dataset_set_status(
        dataset=DatasetFactory(dao=dao, kind="tabular", schema=SCHEMA),
        actor=None,
        status=DatasetStatus.OPEN,
    )
    RewardPolicy.objects.create(dataset=dataset, per_row=PER_ROW)
    honest, splitter = Wallet(dao), Wallet(dao)

    (whole,) = _final([honest.upload(dataset, _csv(_rows(range(ROWS))))], worker)
    pieces = _final(
        [splitter.upload(dataset, _csv(_rows([500 + i])), f"piece-{i}.csv") for i in range(ROWS)],
        worker,
    )
    assert whole.status == Status.PINNED, whole.reasons
    assert [p.status for p in pieces] == [Status.PINNED] * ROWS, [p.reasons for p in pieces]

    # Each file: per_row × score / 10000 for each new row, floored once.
    assert _credit(whole.pk) == PER_ROW * whole.score * ROWS // BPS
    for piece in pieces:
        assert _credit(piece.pk) == PER_ROW * piece.score // BPS
    # Split or whole, the rows earn per_row each at most: splitting gains nothing the score
    # does not give.
    split_total = sum(_credit(p.pk) or 0 for p in pieces)
    assert split_total <= PER_ROW * ROWS
    assert split_total * BPS == PER_ROW * sum(p.score for p in pieces)

    # The same rows again, split or not: nothing.
    again = _final(
        [splitter.upload(dataset, _csv(_rows([i])), f"again-{i}.csv") for i in range(2)],
        worker,
    )
    assert [_credit(c.pk) for c in again] == [None, None]
