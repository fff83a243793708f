"""Rebuilding a dataset's row index with the current row key (``manage.py rebuild_row_index``):
rows indexed under an older key match their re-spelled copies again, each row stays credited
to the earliest contribution, and a contribution whose file is gone keeps its digests."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from contributions import pipeline
from contributions.models import RowHash, Status
from contributions.services import upload_key
from datadao import blobs
from tests.contributions.conftest import good_csv
from tests.contributions.test_novelty import _record, _upload, _validated

pytestmark = pytest.mark.django_db


def _accepted(client: Client, dataset, data: bytes):  # type: ignore[no-untyped-def]
    contribution = _validated(_upload(client, dataset, data))
    recorded = _record(contribution, pipeline.score(contribution, pipeline.Lookups()))
    assert recorded.status == Status.ACCEPTED, recorded.reasons
    return recorded


def _index(dataset) -> dict[bytes, int]:  # type: ignore[no-untyped-def]
    return {
        bytes(d): c
        for d, c in RowHash.objects.filter(dataset=dataset).values_list("digest", "contribution")
    }


def _age(dataset) -> None:  # type: ignore[no-untyped-def]
    """What an index written under an older row key looks like: other digests, same owners."""
    for row in RowHash.objects.filter(dataset=dataset):
        row.digest = os.urandom(16)
        row.save(update_fields=["digest"])


def test_a_rebuilt_index_knows_re_spelled_rows_again(tabular, member_client: Client) -> None:  # type: ignore[no-untyped-def]
    first = _accepted(member_client, tabular, good_csv(20))
    second = _accepted(member_client, tabular, good_csv(20, start=10))  # 10 known, 10 new
    current = _index(tabular)
    assert sorted(set(current.values())) == [first.pk, second.pk]

    _age(tabular)
    # Under the aged index, the same rows spelled with CRLF are all "new".
    copy = _validated(_upload(member_client, tabular, good_csv(20).replace(b"\n", b"\r\n")))
    assert pipeline.score(copy, pipeline.Lookups()).novelty.new == 20

    out = StringIO()
    call_command("rebuild_row_index", str(tabular.pk), stdout=out)
    assert f"dataset {tabular.pk}: 2 contributions re-read, 30 rows indexed before, 30 after" in (
        out.getvalue()
    )
    assert _index(tabular) == current  # the same digests, each with its earliest owner
    assert pipeline.score(copy, pipeline.Lookups()).novelty.new == 0


def test_a_contribution_whose_file_is_gone_keeps_its_digests(
    tabular, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    kept = _accepted(member_client, tabular, good_csv(5))
    rebuilt = _accepted(member_client, tabular, good_csv(5, start=5))
    _age(tabular)
    aged = {d for d, c in _index(tabular).items() if c == kept.pk}
    blobs.store().delete(upload_key(kept))

    out = StringIO()
    call_command("rebuild_row_index", stdout=out)
    assert f"kept the digests of 1 whose file is gone or no longer valid ({kept.pk})" in (
        out.getvalue()
    )
    index = _index(tabular)
    assert {d for d, c in index.items() if c == kept.pk} == aged
    assert sum(1 for c in index.values() if c == rebuilt.pk) == 5


def test_an_unknown_dataset_is_named(tabular) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="no tabular dataset 999999"):
        call_command("rebuild_row_index", "999999")
