"""Benchmark: a dataset-wide Dawid–Skene run end to end on PostgreSQL, read, fit and write back.

Run ``python -m bench.labeling_run [--quick] [--labels N] [--keep] [--json PATH]``. It makes a
PostgreSQL database of its own (``bench_labeling_run``, copied from a migrated template;
dropped at the end unless ``--keep``) holding one single-choice labeling dataset of ``--labels``
labels (10,000,000; ``--quick``: 200,000): a quarter as many tasks, 10 classes, 4 labels each
from 1,000 labelers whose accuracies run from 0.55 to 0.95, drawn in SQL from a hash of the task
and the slot (seeded, so each run holds the same labels).

Then, in this process, the code the worker runs for a run (``labeling.tasks.run_consensus``):
``compute_run`` (the labels read as packed columns, Dawid–Skene fitted, per-labeler figures) and
``consensus_run_finish`` (the consensus written back by COPY and one UPDATE, the labeler figures
upserted), timed apart: ``read`` (the labels read alone, measured once more), ``compute``
(read + fit), ``write`` and ``total``. A second run on the unchanged labels shows a re-run's cost
(nothing changed, so nothing is rewritten). Peak memory is the process's RSS high-water mark
above its RSS before the first run. The reference in the same run is PostgreSQL's own full pass
over the same labels (``SELECT count(*), sum(choice)``, parallel workers off): ``total`` as a
multiple of it travels across machines. Accuracy is against the drawn truth.

Targets: ``total`` <= 60 s at 10,000,000 labels in <= 2 GiB. The JSON summary goes to stdout
(and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._db import bench_env, create_database, drop_database, public_key
from bench._procs import reset_peak_rss, status_kib
from bench._report import emit

BENCH_DB = "bench_labeling_run"
TEMPLATE_DB = "bench_labeling_run_template"
FULL_LABELS = 10_000_000
QUICK_LABELS = 200_000
LABELERS = 1000
PER_TASK = 4
CLASSES = 10
TARGET_S = 60.0
TARGET_MIB = 2048


def _world(n_labels: int) -> Any:
    """The dataset, its tasks and labels, made in SQL from one model row of each."""
    from django.db import connection
    from eth_utils import to_checksum_address

    from datadao.models import DatasetStatus, Membership, Role, User
    from datadao.services import dao_create, dataset_create, dataset_set_status
    from labeling.models import Label, LabelTask

    owner = User.objects.create_user(address="0x" + "22" * 20)
    dao = dao_create(creator=owner, name="Run DAO", slug="run", token_symbol="RUN")
    names = [f"class{k}" for k in range(CLASSES)]
    dataset = dataset_create(
        actor=None,
        dao=dao,
        name="run",
        slug="run",
        kind="labeling",
        license="CC-BY-4.0",
        schema={"labels": names, "overlap": PER_TASK, "max_overlap": PER_TASK, "gold_rate": 0.0},
    )
    dataset = dataset_set_status(dataset=dataset, actor=None, status=DatasetStatus.OPEN)
    labelers = User.objects.bulk_create(
        User(address=to_checksum_address(f"0x{i + 1:040x}")) for i in range(LABELERS)
    )
    Membership.objects.bulk_create(
        Membership(dao=dao, user=u, role=Role.CONTRIBUTOR) for u in labelers
    )
    first = min(u.pk for u in labelers)
    n_tasks = n_labels // PER_TASK
    model_task = LabelTask.objects.create(
        dataset=dataset, source_key="model", kind="text", payload={"text": "x"}, wanted=PER_TASK
    )
    model_label = Label.objects.create(
        dataset=dataset, task=model_task, labeler=labelers[0], value=[names[0]], choice=0
    )
    task_table, label_table = LabelTask._meta.db_table, Label._meta.db_table
    with connection.cursor() as cursor:
        columns = [f.column for f in LabelTask._meta.concrete_fields if f.column != "id"]
        made = {"source_key": "'t' || i"}
        cursor.execute(
            f"INSERT INTO {task_table} ({', '.join(columns)}) SELECT "  # noqa: S608
            f"{', '.join(made.get(c, c) for c in columns)} FROM {task_table}, "
            "generate_series(1, %s) AS i WHERE id = %s",
            [n_tasks - 1, model_task.pk],
        )
        # Slot j of task t goes to labeler (h(t) + j * 131) % 1000, h a hash of the task: four
        # distinct labelers, each seeing tasks of every class (a labeler given tasks of one
        # class only would leave Dawid-Skene nothing to tell their errors by).
        # Labeler l is right with probability 0.55 + 0.4 * ((l * 37) % 100) / 100; the truth of
        # task t is t % 10; a wrong answer is one of the nine others.
        # (%% is the modulo operator: these statements carry parameters.)
        truth = "(t.id %% 10)"
        slot = f"((abs(hashtext(t.id::text)) + j * 131) %% {LABELERS})"
        draw = "abs(hashtext(t.id || '-' || j)) %% 10000"
        right = f"({draw} < 5500 + 4000 * (({slot} * 37) %% 100) / 100)"
        choice = (
            f"CASE WHEN {right} THEN {truth} "
            f"ELSE ({truth} + 1 + abs(hashtext(j || ':' || t.id)) %% 9) %% 10 END"
        )
        columns = [f.column for f in Label._meta.concrete_fields if f.column != "id"]
        made = {
            "task_id": "t.id",
            "labeler_id": f"{first} + {slot}",
            "choice": "c.choice",
            "value": "jsonb_build_array('class' || c.choice)",
            "duration_ms": "500 + abs(hashtext(t.id || 'ms' || j)) %% 20000",
        }
        select = ", ".join(made.get(col, f"m.{col}") for col in columns)
        cursor.execute(
            f"INSERT INTO {label_table} ({', '.join(columns)}) SELECT {select} "  # noqa: S608
            f"FROM {task_table} AS t CROSS JOIN generate_series(0, {PER_TASK - 1}) AS j "
            f"CROSS JOIN LATERAL (SELECT ({choice})::smallint AS choice) AS c, "
            f"{label_table} AS m WHERE t.dataset_id = %s AND t.id <> %s AND m.id = %s",
            [dataset.pk, model_task.pk, model_label.pk],
        )
        cursor.execute(f"DELETE FROM {label_table} WHERE id = %s", [model_label.pk])  # noqa: S608
        cursor.execute(f"DELETE FROM {task_table} WHERE id = %s", [model_task.pk])  # noqa: S608
        cursor.execute(f"ANALYZE {task_table}")
        cursor.execute(f"ANALYZE {label_table}")
    return dataset


def _floor(dataset_id: int) -> float:
    from django.db import connection

    from labeling.models import Label

    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
        started = time.perf_counter()
        cursor.execute(
            f"SELECT count(*), sum(choice) FROM {Label._meta.db_table} WHERE dataset_id = %s",  # noqa: S608
            [dataset_id],
        )
        cursor.fetchall()
        elapsed = time.perf_counter() - started
        cursor.execute("RESET max_parallel_workers_per_gather")
    return elapsed


def _one_run(dataset: Any) -> dict[str, float]:
    from django.db import transaction

    from labeling.consensus.dataset_run import compute_run
    from labeling.models import ConsensusRun, RunStatus
    from labeling.services import consensus_run_finish

    run = ConsensusRun.objects.create(dataset=dataset, method="ds", status=RunStatus.RUNNING)
    started = time.perf_counter()
    outcome = compute_run(dataset, "ds")
    computed = time.perf_counter()
    with transaction.atomic():
        consensus_run_finish(run_id=run.pk, outcome=outcome)
    finished = time.perf_counter()
    return {
        "compute_s": round(computed - started, 2),
        "write_s": round(finished - computed, 2),
        "total_s": round(finished - started, 2),
        "iterations": outcome.metrics.get("iterations"),
    }


def run(n_labels: int) -> dict[str, Any]:
    from django.db import connection

    from labeling.consensus.dataset_run import labels_arrays
    from labeling.models import LabelTask

    started = time.perf_counter()
    dataset = _world(n_labels)
    build_s = time.perf_counter() - started
    floor = min(_floor(dataset.pk) for _ in range(3))
    before = reset_peak_rss()
    first = _one_run(dataset)
    peak_mib = (status_kib("self", "VmHWM") - before) / 1024
    read_started = time.perf_counter()
    labels = labels_arrays(dataset.pk)
    read_s = time.perf_counter() - read_started
    n_read = int(labels["task"].size)
    del labels
    second = _one_run(dataset)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE consensus = jsonb_build_array('class' || (id %% 10))), "  # noqa: S608
            f"count(*) FROM {LabelTask._meta.db_table} WHERE dataset_id = %s",
            [dataset.pk],
        )
        right, tasks = cursor.fetchone()
    return {
        "labels": n_read,
        "tasks": tasks,
        "labelers": LABELERS,
        "build_s": round(build_s, 1),
        "read_s": round(read_s, 2),
        "first_run": first,
        "rerun": second,
        "floor_scan_s": round(floor, 3),
        "total_vs_floor_scan": round(first["total_s"] / floor, 1),
        "peak_rss_growth_mib": round(peak_mib, 1),
        "accuracy": round(right / tasks, 4),
        "repetitions": {"measured": 1, "of": "run end to end (and one re-run)"},
        "target": {"total_s_max": TARGET_S, "peak_mib_max": TARGET_MIB, "at_labels": FULL_LABELS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.labeling_run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--labels", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's database")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    n_labels = args.labels or (QUICK_LABELS if args.quick else FULL_LABELS)
    env = bench_env(
        database=BENCH_DB,
        broker_url="memory://",
        data_dir=Path(tempfile.mkdtemp(prefix="bench-labeling-run-")),
        log_level="WARNING",
        VALIDATOR_KEY=public_key("datadao-bench-run-validator"),
        REWARD_SIGNER_KEY=public_key("datadao-bench-run-rewards"),
    )
    drop_database(BENCH_DB)
    how = create_database(env, BENCH_DB, TEMPLATE_DB)
    os.environ.update(env)
    import django

    django.setup()
    try:
        summary = run(n_labels) | {"database": how}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(BENCH_DB)
    first = summary["first_run"]
    human = (
        f"Dawid–Skene run over {summary['labels']:,} labels: {first['total_s']} s end to end "
        f"(compute {first['compute_s']} s incl. read {summary['read_s']} s, write "
        f"{first['write_s']} s), {summary['total_vs_floor_scan']}x a full scan; peak +"
        f"{summary['peak_rss_growth_mib']} MiB; re-run {summary['rerun']['total_s']} s; "
        f"accuracy {summary['accuracy']}"
    )
    emit(summary, json_path=args.json, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
