"""Aggregate queries without download: the SQL guard, the group-size floor, and the whole path
through a real worker over a sealed (members-only) release, with a signed result."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from eth_utils import keccak

from contributions import services
from contributions.aggregate import attest, engine, guard
from contributions.attestation import recover
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, ReleaseQuery, Status
from contributions.releases import release_publish
from datadao.keys import load_signer
from datadao.models import DatasetStatus, Visibility
from datadao.services import dataset_set_status
from tests.contributions.conftest import CSV_SCHEMA
from tests.factories import DatasetFactory, UserFactory
from tests.fixtures_celery import WorkerProcess, start_worker, wait_for

ACCEPTED = [
    "select kind, count(*), avg(value) from data group by kind",
    "SELECT COUNT(*) FROM data WHERE value > 3",
    "select kind, count(*) n from data group by kind having count(*) > 2 order by n desc limit 3",
    "select max(value) - min(value) as spread from data",
    "select kind from data group by kind",
    "select round(avg(value), 1), count(distinct kind) from data",
]
REFUSED = [
    ("select * from data", "only COUNT(*) may use *"),
    ("select value from data", "would return individual rows"),
    ("select kind, value from data group by kind", "would return individual rows"),
    ("select count(*) + id from data", "outside an aggregate"),
    ("select count(*) from data; drop table data", "exactly one statement"),
    ("delete from data", "Only SELECT"),
    ("select count(*) from (select * from data)", "not allowed"),
    ("select count(*) from read_csv('/etc/passwd')", "READ_CSV is not allowed"),
    ("select count(*) from other", "The only table is data"),
    ("select count(*) from data a join data b on true", "not allowed"),
    ("with x as (select 1) select count(*) from data", "not allowed"),
    ("select sum(value) over () from data", "not allowed"),
    ("select current_setting('x'), count(*) from data", "CURRENT_SETTING is not allowed"),
    ("select count(*) from data where id in (select id from data)", "not allowed"),
    ("", "empty"),
    ("select (", "does not parse"),
    ("select count(*) from data where kind = '" + "x" * 5000 + "'", "over 4000"),
]


@pytest.mark.parametrize("sql", ACCEPTED)
def test_the_guard_accepts_aggregates(sql: str) -> None:
    checked = guard.check(sql)
    assert checked.rewritten.endswith(("GROUP BY kind", "data", "LIMIT 3", "value > 3")) or (
        "HAVING" in checked.rewritten
    )
    assert "COUNT(*) AS __group_rows" in checked.rewritten


@pytest.mark.parametrize(("sql", "why"), REFUSED)
def test_the_guard_refuses_what_could_return_rows_or_reach_outside(sql: str, why: str) -> None:
    with pytest.raises(guard.QueryRefused, match=re.escape(why)):
        guard.check(sql)


TABLE = pa.table({"kind": ["a"] * 6 + ["b"] * 2, "value": [1.0, 2, 3, 4, 5, 6, 7, 8]})


def test_every_returned_group_must_hold_k_rows() -> None:
    result = engine.run(
        guard.check("select kind, count(*) n from data group by kind having count(*) >= 5"),
        TABLE,
        k=5,
    )
    assert result.as_json() == {"columns": ["kind", "n"], "rows": [["a", 6]]}
    for small in (
        "select kind, count(*) from data group by kind",  # b has 2 rows
        "select min(value) from data where value = 7",  # one row singled out
        "select count(*) from data where kind = 'zzz'",  # an empty group
    ):
        with pytest.raises(guard.QueryRefused, match="at least 5"):
            engine.run(guard.check(small), TABLE, k=5)
    with pytest.raises(guard.QueryRefused, match="nope"):
        engine.run(guard.check("select sum(nope) from data"), TABLE, k=1)


def _csv(start: int, rows: int, kind: str) -> bytes:
    lines = ["id,value,kind"] + [f"{i},{i % 10}.5,{kind}" for i in range(start, start + rows)]
    return ("\n".join(lines) + "\n").encode()


def _pinned(client: Client, dataset, data: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/datasets/{dataset.pk}/contributions", {"file": SimpleUploadedFile("d.csv", data)}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    for stage, runner in (
        ("validate", stage_lane.run_validation),
        ("score", stage_lane.run_scoring),
        ("attest", stage_lane.run_attestation),
        ("pin", stage_lane.run_pin),
    ):
        runner(services.contribution_begin(contribution_id=pk, stage=stage))
    assert Contribution.objects.get(pk=pk).status == Status.PINNED


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProcess]:
    with override_settings(IPFS_BACKEND="embedded", IPFS_EMBEDDED_ROOT=tmp_path / "ipfs"):
        started = start_worker(
            tmp_path,
            extra_env={"IPFS_BACKEND": "embedded", "IPFS_EMBEDDED_ROOT": str(tmp_path / "ipfs")},
        )
        try:
            yield started
        finally:
            started.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_member_queries_a_sealed_release_and_gets_a_signed_aggregate(
    worker: WorkerProcess, dao, member_client: Client
) -> None:  # type: ignore[no-untyped-def]
    dataset = DatasetFactory(
        dao=dao, kind="tabular", schema=CSV_SCHEMA, visibility=Visibility.MEMBERS
    )
    dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    _pinned(member_client, dataset, _csv(0, 12, "a"))
    _pinned(member_client, dataset, _csv(100, 7, "b"))
    release = release_publish(dataset=dataset, actor=None)
    url = f"/api/releases/{release.cid}/queries"

    def ask(sql: str, client: Client = member_client):  # type: ignore[no-untyped-def]
        return client.post(url, json.dumps({"sql": sql}), content_type="application/json")

    def finished(pk: int) -> dict:  # type: ignore[type-arg]
        wait_for(
            lambda: ReleaseQuery.objects.filter(pk=pk).exclude(state="queued").exists(),
            timeout=60,
            what=f"query {pk} to finish",
            worker=worker,
        )
        return member_client.get(f"/api/queries/{pk}").json()

    sql = "select kind, count(*) as n, sum(id) as ids from data group by kind order by kind"
    queued = ask(sql)
    assert queued.status_code == 202, queued.content
    done = finished(queued.json()["id"])
    assert done["state"] == "done", done
    assert done["result"] == {
        "columns": ["kind", "n", "ids"],
        "rows": [["a", 12, sum(range(12))], ["b", 7, sum(range(100, 107))]],
    }
    signed = done["attestation"]
    assert recover(signed["typedData"], signed["signature"]) == load_signer("validator").address
    message = signed["typedData"]["message"]
    assert message["releaseCid"] == release.cid and message["minGroupRows"] == 5
    assert message["queryHash"] == "0x" + keccak(text=sql).hex()
    assert message["resultHash"] == attest.result_sha256(done["result"])
    assert message["daoId"] == dao.onchain_id
    # A query over who sent the rows finds no such column: provenance is not queryable.
    who = finished(ask("select contributor, count(*) from data group by contributor").json()["id"])
    assert who["state"] == "refused" and "contributor" in who["refusal"]

    # Refused at once: a query that returns rows.
    refused = ask("select id, value from data")
    assert refused.status_code == 400 and "individual rows" in refused.json()["detail"]
    # Refused by the worker: a group under the floor (one row singled out).
    small = finished(ask("select avg(value) from data where id = 3").json()["id"])
    assert small["state"] == "refused" and small["result"] is None
    assert "at least 5" in small["refusal"] and small["attestation"] is None
    # Not a member: answered as if the release did not exist; nor may others read my query.
    stranger = Client()
    stranger.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    assert ask("select count(*) from data", stranger).status_code == 404
    assert stranger.get(f"/api/queries/{queued.json()['id']}").status_code == 404
    assert Client().post(url, "{}", content_type="application/json").status_code == 401
    assert ask("").status_code == 400
    assert member_client.post(url, "nope", content_type="application/json").status_code == 400
