"""The labeling benchmark's database: made, migrated and filled (or reused as it was kept),
and the EXPLAIN of the statements the run timed."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict
from typing import Any

from bench._db import PG_ADMIN_URL, admin, drop_database, manage
from bench.labeling_assign.config import BENCH_DB, GOLD_SHARE, MAX_OVERLAP, OVERLAP, USERS, Mode
from bench.labeling_assign.data import LABELS, Shape, load
from bench.labeling_assign.types import schema_extra, uses_labels


def build(
    mode: Mode, gold_rate: float, task_type: str = "classification", order: str = "arrival"
) -> dict[str, Any]:
    """Create, migrate and fill the benchmark database with a dataset of ``task_type`` served in
    ``order``; returns its description."""
    timing: dict[str, float] = {}
    start = time.perf_counter()
    drop_database(BENCH_DB)
    admin(f"CREATE DATABASE {BENCH_DB}")
    manage(os.environ.copy(), "migrate", "--no-input")
    timing["create_and_migrate"] = time.perf_counter() - start

    import django

    django.setup()
    from django.db import connection

    start = time.perf_counter()
    dao_id, dataset_id, schema = _dataset(gold_rate, task_type, order)
    shape = _shape(mode, gold_rate)
    with connection.cursor() as cursor:
        rows = load(cursor, shape=shape, dataset_id=dataset_id, dao_id=dao_id, task_type=task_type)
        timing["load"] = time.perf_counter() - start
        cursor.execute("CREATE TABLE bench_probe (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_probe SELECT k, 0 FROM generate_series(0, 255) k")
        meta = {
            "dataset_id": dataset_id,
            "first_labeler_id": rows["first_labeler_id"],
            "shape": asdict(shape),
            "rows": rows,
            "schema": schema,
            "task_type": task_type,
        }
        cursor.execute("CREATE TABLE bench_meta (v jsonb NOT NULL)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s::jsonb)", [json.dumps(meta)])
    start = time.perf_counter()
    connection.close()
    _vacuum_and_checkpoint()
    timing["vacuum_analyze_checkpoint"] = time.perf_counter() - start
    return meta | {"timing_s": {k: round(v, 1) for k, v in timing.items()}}


def _dataset(gold_rate: float, task_type: str, order: str) -> tuple[int, int, dict[str, Any]]:
    """The DAO and its open labeling dataset, through the services; their ids and the schema."""
    from datadao.models import DatasetKind, DatasetStatus
    from datadao.services import dao_create, dataset_create, dataset_set_status, user_get_or_create

    owner, _ = user_get_or_create(address="0x" + "9" * 40)
    dao = dao_create(creator=owner, name="Bench DAO", slug="bench", token_symbol="BNCH")
    schema: dict[str, Any] = {
        **({"labels": LABELS} if uses_labels(task_type) else {}),
        "overlap": OVERLAP,
        "max_overlap": MAX_OVERLAP,
        "gold_rate": gold_rate,
        **schema_extra(task_type),
    }
    if order != "arrival":
        schema["order"] = order
    dataset = dataset_create(
        dao=dao, actor=owner, name="Bench labeling", slug="bench-labeling",
        kind=DatasetKind.LABELING, schema=schema, license="CC-BY-4.0",
    )  # fmt: skip
    dataset = dataset_set_status(dataset=dataset, actor=owner, status=DatasetStatus.OPEN)
    return dao.pk, dataset.pk, schema


def _shape(mode: Mode, gold_rate: float) -> Shape:
    """How many tasks, gold tasks, labelers and answers per gold task the data has."""
    gold = round(GOLD_SHARE * mode.tasks) if gold_rate > 0 else 0
    # About 2.99 labels per ordinary task (see data.py); gold answers in proportion.
    ordinary_labels = 2.99 * (mode.tasks - gold)
    gold_answers = (
        min(USERS, round(gold_rate / (1 - gold_rate) * ordinary_labels / gold)) if gold else 0
    )
    return Shape(tasks=mode.tasks, gold=gold, labelers=USERS, gold_answers=gold_answers)


def _vacuum_and_checkpoint() -> None:
    import psycopg

    # VACUUM (not only ANALYZE): hint bits and the visibility map of a table in use, which
    # autovacuum would have set long ago on a real dataset.
    with psycopg.connect(f"{PG_ADMIN_URL}/{BENCH_DB}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def reuse() -> dict[str, Any]:
    """The description of a kept database, as ``build`` stored it."""
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT v FROM bench_meta")
        meta = cursor.fetchone()[0]
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return meta | {"timing_s": {"reused": True}}


def explain(samples: dict[str, dict[str, tuple[str, Any]]], slow: set[str]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) the candidate queries and any slow read, rolled back."""
    from django.db import connection, transaction

    wanted = {
        "next candidate (SKIP LOCKED)", "gold candidate (random)", "release expired holds (CTE)",
        "hold next task (claim + slot + hold)", "hold check question (gold)",
        "submit (hold + task + label + stats)",
    } | slow  # fmt: skip
    plans: dict[str, Any] = {}
    for op in ("next", "submit"):
        for kind, (sql, params) in samples.get(op, {}).items():
            if kind not in wanted or kind in plans:
                continue
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        for _ in range(3):  # the last of three: warm cache, as in the run
                            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                            lines = [row[0] for row in cursor.fetchall()]
                    transaction.set_rollback(True)
            except Exception as exc:
                plans[kind] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            found = re.search(r"Execution Time: ([0-9.]+) ms", "\n".join(lines))
            plans[kind] = {
                "op": op,
                "execution_ms": float(found.group(1)) if found else None,
                "sql": " ".join(sql.split()),
                "plan": lines,
            }
    return plans
