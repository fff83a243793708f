"""The upload's receive path and the batch recorder take a fixed number of queries: the
receive path the same for every upload, the recorder the same for a batch of one and of eight
(per batch, not per contribution)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contributions import services
from contributions.lanes.batch import work
from contributions.models import Contribution, Status
from datadao.keys import load_signer
from rewards.models import RewardPolicy
from tests.contributions.conftest import good_csv

pytestmark = pytest.mark.django_db

# A signed-in upload: the session and user, the dataset and membership, the quota and the
# bytes-in-flight row, the contribution's insert, its audit event, the tallies' delta, the
# savepoints around them. A new query here is a decision to take, not a drift.
RECEIVE_QUERIES = 17
# Recording a batch, however many contributions it holds: the lock and re-read, the row index
# claims, the fingerprints, the bulk writes of proofs, pins, credits and audit events, and per DAO
# the key-share lock on its row then the read of its validator set (two statements: the read
# must take its snapshot after the lock, to see a set committed while it waited).
BATCH_RECORD_QUERIES = 13


def _post(client: Client, dataset, data: bytes, name: str = "d.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile(name, data)}
    )


def _queries(action) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        action()
    return len(ctx.captured_queries)


def test_receiving_an_upload_takes_a_fixed_number_of_queries(tabular, member_client) -> None:  # type: ignore[no-untyped-def]
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18)
    _post(member_client, tabular, good_csv(3, start=1000))  # the session and caches warmed
    counts = []
    for i in range(3):
        data = good_csv(5 + 40 * i, start=100 * i)
        counts.append(_queries(lambda d=data: _post(member_client, tabular, d)))
    assert Contribution.objects.filter(dataset=tabular).count() == 4
    assert counts == [RECEIVE_QUERIES] * 3, counts


def _batch_record_queries(member_client, dataset, files: int, start: int) -> int:  # type: ignore[no-untyped-def]
    for i in range(files):
        response = _post(member_client, dataset, good_csv(5, start=start + 10 * i), f"{i}.csv")
        assert response.status_code == 201, response.content
    claim = services.contribution_claim_batch(first_id=None)
    assert claim is not None and len(claim.contributions) == files
    outcomes = work(claim, load_signer("validator"))
    count = _queries(lambda: services.contribution_record_batch(claim=claim, outcomes=outcomes))
    statuses = set(
        Contribution.objects.filter(pk__in=[c.pk for c in claim.contributions]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {Status.PINNED}, statuses
    return count


def test_the_batch_recorder_takes_as_many_queries_for_eight_as_for_one(
    tabular, member_client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.PIPELINE_BATCH_SIZE = 8
    RewardPolicy.objects.create(dataset=tabular, per_contribution=10**18, per_row=10**15)
    # The first credit opens the DAO's epoch: a one-off, left out of the comparison.
    _batch_record_queries(member_client, tabular, 1, start=5000)
    one = _batch_record_queries(member_client, tabular, 1, start=0)
    eight = _batch_record_queries(member_client, tabular, 8, start=1000)
    assert one == eight == BATCH_RECORD_QUERIES, (one, eight)
