"""Benchmark: ``next`` latency and submit throughput of labeling on PostgreSQL.

Run ``python -m bench.labeling_assign [--quick] [--labelers L] [--iterations I] [--repeat R]
[--consensus worker|off] [--gold-rate G] [--think-ms T] [--json PATH] [--markdown PATH] [--keep]
[--reuse]``.

The data (``bench/_labeling_data.py``): one DAO, one labeling dataset (10 classes, overlap 3,
max overlap 5, gold rate 0.05 with 0.2 % of the tasks gold) with 1,000,000 tasks (``--quick``:
100,000) and about 3.1 labels per task (3.1M labels, as many submitted holds), 85 % of the
tasks settled, 5 % partly labeled, 10 % fresh; 1,000 labelers, all members, with their
``LabelerStats``. It lives in its own database ``datadao_bench_label`` (dropped and re-created,
migrated, filled in SQL, then ``VACUUM ANALYZE`` and ``CHECKPOINT``), dropped at the end unless
``--keep``; ``--reuse`` runs again on a kept one as it was left (and keeps it). Settings: the
production module ``datadao.settings`` (persistent connections), broker pointed at Redis
database 8 which must stay empty: nothing in the measured path may reach it.

``labelers`` processes (default 10; processes, as web workers are, so no GIL is shared), each
one of the dataset's labelers with its own connection, run in lock step, per round, after a
warm-up round:

* ``select_1``: ``SELECT 1`` through Django's cursor, ``floor`` times each: the round-trip
  floor under the same concurrency;
* ``commit_1``: a one-row UPDATE (each process its own row) committed: the durable-commit floor
  (WAL flush), since ``next`` and submit both commit;
* ``label``: ``iterations`` cycles of ``labeling.services.task_next`` then ``label_submit``
  (the product's services, nothing stubbed but the consensus dispatch below), answers right
  80 % of the time (gold 90 %). By default a closed loop without think time: 10 processes
  offer the load of hundreds of people, and on a small machine the figures are CPU queueing;
  ``--think-ms`` adds a random (exponential) pause between cycles, as people take.

Every answer dispatches its task's consensus on commit. ``dispatch_task_consensus`` is
replaced in the labeler processes: with ``--consensus worker`` (default) the task id goes to one
more process that runs the real ``task_consensus_update`` as the Celery worker would (settling
the task or raising its overlap), so finished tasks leave ``next``'s candidates as in
production; with ``off`` it is dropped and filled tasks stay open (the worst case for the
candidate scan). The rounds wait for the settler to catch up.

Reported per round and then as median/min/max over rounds: p50/p95/p99 of ``next`` (also split
into ordinary and gold hand-outs), submit, ``select_1`` and ``commit_1``; ``next`` p95 as a
ratio to the ``select_1`` and ``commit_1`` p95 of the same round; labels/s. Also the time per
SQL statement inside ``next`` and submit (an execute wrapper), EXPLAIN (ANALYZE, BUFFERS) of
the candidate queries, the CPU each cycle costs (client: the labeler process; server: its
PostgreSQL backend, from /proc) with the share of the machine busy meanwhile (other work on
a shared machine shows there), and a consistency check of every task's counters. Target: ``next``
p95 <= 20 ms at 1M tasks. JSON to stdout (and ``--json``), a markdown table with
``--markdown``, a summary on stderr; exit status 1 on any refusal, error or inconsistency.

On a 2-core machine ``--quick`` takes about 40 s; the full size about 12 minutes (of which the
load, reported apart, about 1).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._report import emit

ROOT = Path(__file__).resolve().parent.parent
SEED = 20_240_601
BENCH_DB = "datadao_bench_label"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"
REDIS_DB = 8
TARGET_NEXT_P95_MS = 20.0
TARGET_TASKS = 1_000_000
USERS = 1_000
GOLD_SHARE = 0.002
OVERLAP, MAX_OVERLAP = 3, 5
PHASE_TIMEOUT = 900.0
SETTLE_TIMEOUT = 300.0
PLAN_SLOWER_THAN_MS = 1.0


@dataclass(frozen=True)
class Mode:
    tasks: int
    iterations: int
    warmup: int
    repeat: int
    floor: int


FULL = Mode(tasks=1_000_000, iterations=300, warmup=60, repeat=5, floor=300)
QUICK = Mode(tasks=100_000, iterations=50, warmup=30, repeat=5, floor=100)


@dataclass(frozen=True)
class Plan:
    """What every labeler process does, in the same order."""

    dataset_id: int
    iterations: int
    warmup: int
    repeat: int
    floor: int
    think_ms: float

    @property
    def rounds(self) -> int:
        return self.repeat + 1


# --- statistics -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def dist(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": pct(values, 0.50),
        "p95": pct(values, 0.95),
        "p99": pct(values, 0.99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def spread(values: list[float], digits: int = 2) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


# --- inside a labeler process ---------------------------------------------------------------------

_PLACEHOLDERS = re.compile(r"%s")


def statement_kind(sql: str) -> str:
    """A short, stable name for a statement: verb + first table (+ its locking)."""
    text = " ".join(sql.split())
    if text.startswith("WITH gone AS"):
        return "release expired holds (CTE)"
    # The hot path's statements (labeling.services.hot): one each.
    if text.startswith("SELECT d.status, d.schema"):
        return "standing (dataset, membership, pause, live hold)"
    if text.startswith("WITH pick AS"):
        return "hold next task (claim + slot + hold)"
    if text.startswith("WITH real AS"):
        return "hold check question (gold)"
    if text.startswith("WITH held AS"):
        return "submit (hold + task + label + stats)"
    if "SKIP LOCKED" in text and "labeling_labeltask" in text:
        return "next candidate (SKIP LOCKED)"
    if "ORDER BY random()" in text:
        return "gold candidate (random)"
    verb = text.split(" ", 1)[0].upper()
    found = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', text)
    lock = " FOR UPDATE" if "FOR UPDATE" in text else ""
    return f"{verb} {found.group(1) if found else '?'}{lock}"


class Recorder:
    """Times every statement (and commit) of the operation in progress."""

    def __init__(self) -> None:
        self.op: str | None = None
        self.times: dict[str, dict[str, list[float]]] = {}
        # The first text and parameters of each statement, per operation: what EXPLAIN runs.
        self.samples: dict[str, dict[str, tuple[str, Any]]] = {}

    def add(self, kind: str, ms: float) -> None:
        if self.op is not None:
            self.times.setdefault(self.op, {}).setdefault(kind, []).append(ms)

    def wrap(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            kind = statement_kind(sql)
            self.add(kind, 1000 * (time.perf_counter() - start))
            if self.op is not None and not many:
                per_op = self.samples.setdefault(self.op, {})
                kept = dict(params) if isinstance(params, dict) else list(params or [])
                per_op.setdefault(kind, (sql, kept))

    def take(self) -> dict[str, dict[str, list[float]]]:
        times, self.times = self.times, {}
        return times


def _answer(rng: random.Random, task: Any) -> str:
    from bench._labeling_data import AGREEMENT, GOLD_CORRECT, LABELS, truth

    if task.is_gold:
        right = task.gold[0]
        return right if rng.random() < GOLD_CORRECT else rng.choice(LABELS)
    return LABELS[truth(task.pk)] if rng.random() < AGREEMENT else rng.choice(LABELS)


def labeler_main(
    index: int, user_id: int, plan: Plan, barrier: Any, results: Any, settle_queue: Any
) -> None:
    """One labeler: lock-step phases with the others, one result per round."""
    try:
        _labeler(index, user_id, plan, barrier, results, settle_queue)
    except BaseException:
        results.put({"index": index, "error": traceback.format_exc()})
        barrier.abort()
        raise


def _labeler(
    index: int, user_id: int, plan: Plan, barrier: Any, results: Any, settle_queue: Any
) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from datadao.models import User
    from labeling.services import settle

    sent = [0]

    def dispatch(task_id: int) -> None:
        def hand_over() -> None:
            sent[0] += 1
            if settle_queue is not None:
                settle_queue.put(task_id)

        transaction.on_commit(hand_over)

    # label_submit imports it at call time, so the module attribute is what it calls.
    settle.dispatch_task_consensus = dispatch

    recorder = Recorder()
    plain_commit = connection.commit

    def timed_commit() -> None:
        start = time.perf_counter()
        try:
            plain_commit()
        finally:
            recorder.add("COMMIT", 1000 * (time.perf_counter() - start))

    connection.commit = timed_commit
    user = User.objects.get(pk=user_id)
    rng = random.Random(SEED + index)

    def select_1() -> float:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return 1000 * (time.perf_counter() - start)

    def commit_1() -> float:
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE bench_probe SET n = n + 1 WHERE id = %s", [index])
        return 1000 * (time.perf_counter() - start)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    with connection.execute_wrapper(recorder.wrap):
        for round_no in range(plan.rounds):
            out: dict[str, Any] = {"index": index, "round": round_no}
            barrier.wait(PHASE_TIMEOUT)
            out["select_1"] = [select_1() for _ in range(plan.floor)]
            barrier.wait(PHASE_TIMEOUT)
            barrier.wait(PHASE_TIMEOUT)
            out["commit_1"] = [commit_1() for _ in range(plan.floor)]
            barrier.wait(PHASE_TIMEOUT)
            recorder.take()
            out |= _label_phase(plan, round_no, user, rng, recorder, sent, backend_pid, barrier)
            out["statements"] = recorder.take()
            out["samples"] = recorder.samples if round_no == plan.rounds - 1 else {}
            results.put(out)


def _label_phase(
    plan: Plan,
    round_no: int,
    user: Any,
    rng: random.Random,
    recorder: Recorder,
    sent: list[int],
    backend_pid: int,
    barrier: Any,
) -> dict[str, Any]:
    """``next`` then submit, ``iterations`` times; latencies and CPU spent on both sides."""
    from labeling import errors
    from labeling.services import label_submit, task_next

    next_ms: list[float] = []
    next_cpu: list[float] = []
    gold: list[bool] = []
    submit_ms: list[float] = []
    submit_cpu: list[float] = []
    refusals: list[str] = []
    exhausted = False
    sent_before = sent[0]
    count = plan.warmup if round_no == 0 else plan.iterations
    barrier.wait(PHASE_TIMEOUT)
    server_before = _cpu_ticks(backend_pid)
    client_before = time.process_time()
    for _ in range(count):
        if plan.think_ms:
            time.sleep(rng.expovariate(1000 / plan.think_ms))
        recorder.op = "next"
        cpu, start = time.process_time(), time.perf_counter()
        hold = task_next(dataset_id=plan.dataset_id, labeler=user)
        took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
        recorder.op = None
        if hold is None:
            exhausted = True
            break
        answer = _answer(rng, hold.task)
        recorder.op = "submit"
        cpu, start = time.process_time(), time.perf_counter()
        try:
            label_submit(
                dataset_id=plan.dataset_id,
                labeler=user,
                hold_id=hold.pk,
                value=answer,
                duration_ms=rng.randint(1500, 9500),
            )
        except errors.LabelingRefused as exc:
            refusals.append(f"{type(exc).__name__}: {exc.message}")
            continue
        finally:
            recorder.op = None
        submit_ms.append(1000 * (time.perf_counter() - start))
        submit_cpu.append(1000 * (time.process_time() - cpu))
        next_ms.append(1000 * took)
        next_cpu.append(1000 * took_cpu)
        gold.append(bool(hold.task.is_gold))
    client_cpu = time.process_time() - client_before
    server_cpu = _cpu_ticks(backend_pid) - server_before
    barrier.wait(PHASE_TIMEOUT)
    return {
        "next": next_ms,
        "gold": gold,
        "submit": submit_ms,
        "next_cpu": next_cpu,
        "submit_cpu": submit_cpu,
        "client_cpu_s": client_cpu,
        "server_cpu_s": server_cpu,
        "refusals": refusals,
        "exhausted": exhausted,
        "dispatched": sent[0] - sent_before,
    }


def _cpu_ticks(pid: int) -> float:
    """CPU seconds (user + system) of a process on this machine, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick


def settler_main(queue: Any, settled: Any, report: Any) -> None:
    """The consensus worker: ``task_consensus_update`` for every task id handed over."""
    import django

    django.setup()
    from django.conf import settings

    from labeling.services import task_consensus_update

    # Settled as if the undo window had passed: finished tasks leave ``next``'s candidates as
    # in a steady state, without the bench waiting a minute per task.
    settings.LABEL_UNDO_SECONDS = 0

    outcomes: dict[str, int] = {}
    times: list[float] = []
    try:
        while (task_id := queue.get()) is not None:
            start = time.perf_counter()
            task = task_consensus_update(task_id=task_id)
            times.append(1000 * (time.perf_counter() - start))
            # "open": not filled yet (every answer hands its task over) or its overlap raised.
            outcome = "missing" if task is None else ("settled" if task.status == "complete" else
                                                       "open")  # fmt: skip
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            with settled.get_lock():
                settled.value += 1
        report.put({"outcomes": outcomes, "ms": dist(times)})
    except BaseException:
        report.put({"error": traceback.format_exc()})
        raise


# --- database -------------------------------------------------------------------------------------


def bench_env(data_dir: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "datadao.settings",
        "DATABASE_URL": f"{PG_ADMIN_URL}/{BENCH_DB}",
        "CELERY_BROKER_URL": f"{REDIS_URL}/{REDIS_DB}",
        "DATA_DIR": str(data_dir),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def redis_size(flush: bool) -> int:
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    size = int(client.dbsize())
    if flush:
        client.flushdb()
    return size


def database_context() -> dict[str, str]:
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for name in (
            "server_version", "fsync", "synchronous_commit", "shared_buffers", "work_mem",
            "random_page_cost", "max_connections",
        ):  # fmt: skip
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def build(mode: Mode, gold_rate: float) -> dict[str, Any]:
    """Create, migrate and fill the benchmark database; returns its description."""
    import subprocess

    from bench._labeling_data import LABELS, Shape, load

    timing: dict[str, float] = {}
    start = time.perf_counter()
    admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {BENCH_DB}")
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if migrate.returncode:
        raise RuntimeError(f"migrate failed:\n{migrate.stdout[-2000:]}{migrate.stderr[-2000:]}")
    timing["create_and_migrate"] = time.perf_counter() - start

    import django

    django.setup()
    from django.db import connection

    from datadao.models import DatasetKind, DatasetStatus
    from datadao.services import dao_create, dataset_create, dataset_set_status, user_get_or_create

    start = time.perf_counter()
    owner, _ = user_get_or_create(address="0x" + "9" * 40)
    dao = dao_create(creator=owner, name="Bench DAO", slug="bench", token_symbol="BNCH")
    schema: dict[str, Any] = {
        "labels": LABELS,
        "overlap": OVERLAP,
        "max_overlap": MAX_OVERLAP,
        "gold_rate": gold_rate,
        "item_kind": "text",
    }
    dataset = dataset_create(
        dao=dao, actor=owner, name="Bench labeling", slug="bench-labeling",
        kind=DatasetKind.LABELING, schema=schema, license="CC-BY-4.0",
    )  # fmt: skip
    dataset = dataset_set_status(dataset=dataset, actor=owner, status=DatasetStatus.OPEN)
    gold = round(GOLD_SHARE * mode.tasks) if gold_rate > 0 else 0
    # About 2.99 labels per ordinary task (see _labeling_data); gold answers in proportion.
    ordinary_labels = 2.99 * (mode.tasks - gold)
    gold_answers = (
        min(USERS, round(gold_rate / (1 - gold_rate) * ordinary_labels / gold)) if gold else 0
    )
    shape = Shape(tasks=mode.tasks, gold=gold, labelers=USERS, gold_answers=gold_answers)
    with connection.cursor() as cursor:
        rows = load(cursor, shape=shape, dataset_id=dataset.pk, dao_id=dao.pk)
        timing["load"] = time.perf_counter() - start
        cursor.execute("CREATE TABLE bench_probe (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_probe SELECT k, 0 FROM generate_series(0, 255) k")
        meta = {
            "dataset_id": dataset.pk,
            "first_labeler_id": rows["first_labeler_id"],
            "shape": asdict(shape),
            "rows": rows,
            "schema": schema,
        }
        cursor.execute("CREATE TABLE bench_meta (v jsonb NOT NULL)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s::jsonb)", [json.dumps(meta)])
    start = time.perf_counter()
    connection.close()
    import psycopg

    # VACUUM (not only ANALYZE): hint bits and the visibility map of a table in use, which
    # autovacuum would have set long ago on a real dataset.
    with psycopg.connect(f"{PG_ADMIN_URL}/{BENCH_DB}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
    timing["vacuum_analyze_checkpoint"] = time.perf_counter() - start
    return meta | {"timing_s": {k: round(v, 1) for k, v in timing.items()}}


def reuse() -> dict[str, Any]:
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


# --- the run --------------------------------------------------------------------------------------


def _statements(rounds: list[list[dict[str, Any]]], ops_count: dict[str, int]) -> dict[str, Any]:
    merged: dict[str, dict[str, list[float]]] = {}
    for per_round in rounds:
        for result in per_round:
            for op, kinds in result["statements"].items():
                for kind, times in kinds.items():
                    merged.setdefault(op, {}).setdefault(kind, []).extend(times)
    table: dict[str, Any] = {}
    for op, kinds in merged.items():
        calls = ops_count[op] or 1
        rows = []
        for kind, times in kinds.items():
            rows.append(
                {
                    "statement": kind,
                    "per_call": round(len(times) / calls, 3),
                    "mean_ms": round(statistics.fmean(times), 3),
                    "p95_ms": round(pct(times, 0.95), 3),
                    "ms_per_call": round(sum(times) / calls, 3),
                }
            )
        table[op] = sorted(rows, key=lambda r: -r["ms_per_call"])
    return table


def _first_error(results: Any) -> str:
    """The root cause among the labelers' reports (the others see a broken barrier)."""
    errors = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            item = results.get(timeout=1)
        except Exception:
            break
        if "error" in item:
            errors.append(item["error"])
    real = [e for e in errors if "BrokenBarrierError" not in e]
    return (real or errors or ["(no report)"])[0]


def run(args: argparse.Namespace, mode: Mode) -> dict[str, Any]:
    started = time.perf_counter()
    meta = reuse() if args.reuse else build(mode, args.gold_rate)
    from django.db import connection

    from bench._labeling_data import check_counters

    plan = Plan(
        dataset_id=meta["dataset_id"],
        iterations=mode.iterations,
        warmup=mode.warmup,
        repeat=mode.repeat,
        floor=mode.floor,
        think_ms=args.think_ms,
    )
    connection.close()  # the children open their own; nothing of ours stays open meanwhile
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(args.labelers + 1)
    results = ctx.Queue()
    settle_queue = ctx.Queue() if args.consensus == "worker" else None
    settled = ctx.Value("q", 0)
    report = ctx.Queue()
    children: list[Any] = []
    # Ten of the dataset's labelers, spread over the user range (each has a history).
    step = max(1, USERS // args.labelers)
    users = [meta["first_labeler_id"] + step * k for k in range(args.labelers)]
    rounds: list[list[dict[str, Any]]] = []
    phase_s: list[dict[str, float]] = []
    settle_wait: list[float] = []
    problems: list[str] = []
    try:
        if settle_queue is not None:
            settler = ctx.Process(target=settler_main, args=(settle_queue, settled, report))
            settler.start()
            children.append(settler)
        for index, user_id in enumerate(users):
            child = ctx.Process(
                target=labeler_main, args=(index, user_id, plan, barrier, results, settle_queue)
            )
            child.start()
            children.append(child)
        dispatched = 0
        for round_no in range(plan.rounds):
            times: dict[str, float] = {}
            for phase in ("select_1", "commit_1", "label"):
                try:
                    barrier.wait(PHASE_TIMEOUT)
                    start, busy_before = time.perf_counter(), _busy()
                    barrier.wait(PHASE_TIMEOUT)
                except Exception as exc:
                    raise RuntimeError(f"a labeler failed:\n{_first_error(results)}") from exc
                times[phase] = time.perf_counter() - start
            busy_after = _busy()
            # Of the whole machine during the label phase: the share of CPU busy (ours and
            # everyone else's), and the load average at its end.
            times["machine_busy"] = (busy_after[0] - busy_before[0]) / (
                busy_after[1] - busy_before[1]
            )
            times["loadavg_1m"] = os.getloadavg()[0]
            per_round = [results.get(timeout=120) for _ in users]
            dispatched += sum(r["dispatched"] for r in per_round)
            start = time.perf_counter()
            while settle_queue is not None and settled.value < dispatched:
                if time.perf_counter() - start > SETTLE_TIMEOUT:
                    raise RuntimeError(f"the settler is stuck at {settled.value}/{dispatched}")
                time.sleep(0.05)
            settle_wait.append(time.perf_counter() - start)
            label = "warm-up" if round_no == 0 else f"round {round_no}"
            next_all = [ms for r in per_round for ms in r["next"]]
            submits = sum(len(r["submit"]) for r in per_round)
            print(
                f"{label:>8}: next p50 {pct(next_all, 0.5):6.2f} p95 {pct(next_all, 0.95):6.2f} "
                f"ms, {submits / times['label']:6.1f} labels/s, select_1 p95 "
                f"{pct([m for r in per_round for m in r['select_1']], 0.95):5.2f} ms, machine "
                f"{100 * times['machine_busy']:3.0f}% busy, load {times['loadavg_1m']:.1f}",
                file=sys.stderr,
            )
            if round_no:
                rounds.append(per_round)
                phase_s.append(times)
        if settle_queue is not None:
            settle_queue.put(None)
        for child in children:
            child.join(timeout=60)
        settler_report = report.get(timeout=30) if settle_queue is not None else None
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(timeout=10)

    # --- summary
    series: dict[str, Callable[[dict[str, Any]], list[float]]] = {
        "next": lambda r: r["next"],
        "next_ordinary": lambda r: [m for m, g in zip(r["next"], r["gold"], strict=True) if not g],
        "next_gold": lambda r: [m for m, g in zip(r["next"], r["gold"], strict=True) if g],
        "submit": lambda r: r["submit"],
        "select_1": lambda r: r["select_1"],
        "commit_1": lambda r: r["commit_1"],
    }
    per_round_dist = [
        {name: dist([v for r in rr for v in get(r)]) for name, get in series.items()}
        for rr in rounds
    ]
    latency: dict[str, Any] = {}
    for name in series:
        entry: dict[str, Any] = {"calls_per_round": per_round_dist[0][name].get("n", 0)}
        for q in ("p50", "p95", "p99"):
            values = [d[name][q] for d in per_round_dist if d[name].get("n")]
            if values:
                entry[q] = spread(values, 3)
        latency[name] = entry

    def ratio(a: str, b: str) -> dict[str, Any]:
        return spread([d[a]["p95"] / d[b]["p95"] for d in per_round_dist], 2)

    labels_per_s = [
        sum(len(r["submit"]) for r in rr) / t["label"]
        for rr, t in zip(rounds, phase_s, strict=True)
    ]
    cycles = sum(len(r["next"]) for rr in rounds for r in rr)
    per_cycle_rounds = [sum(len(r["next"]) for r in rr) or 1 for rr in rounds]
    cpu = {
        "client_next_ms": dist([v for rr in rounds for r in rr for v in r["next_cpu"]]),
        "client_submit_ms": dist([v for rr in rounds for r in rr for v in r["submit_cpu"]]),
        "client_ms_per_cycle": spread(
            [1000 * sum(r["client_cpu_s"] for r in rr) / n
             for rr, n in zip(rounds, per_cycle_rounds, strict=True)], 2,
        ),
        "server_ms_per_cycle": spread(
            [1000 * sum(r["server_cpu_s"] for r in rr) / n
             for rr, n in zip(rounds, per_cycle_rounds, strict=True)], 2,
        ),
        "machine_busy_share_label_phase": spread([t["machine_busy"] for t in phase_s], 3),
        "loadavg_1m_after_label_phase": spread([t["loadavg_1m"] for t in phase_s], 1),
    }  # fmt: skip
    for key in ("client_next_ms", "client_submit_ms"):
        cpu[key] = {k: round(v, 3) for k, v in cpu[key].items()}
    statements = _statements(rounds, {"next": cycles, "submit": cycles})
    samples: dict[str, dict[str, tuple[str, Any]]] = {}
    for r in rounds[-1]:
        for op, kinds in r["samples"].items():
            for kind, sample in kinds.items():
                samples.setdefault(op, {}).setdefault(kind, tuple(sample))
    slow = {
        row["statement"] for rows in statements.values() for row in rows
        if row["p95_ms"] > PLAN_SLOWER_THAN_MS and row["statement"] != "COMMIT"
    }  # fmt: skip
    plans = explain(samples, slow)
    with connection.cursor() as cursor:
        counters = check_counters(cursor, meta["dataset_id"])
        cursor.execute(
            "SELECT status, count(*) FROM labeling_labeltask WHERE dataset_id = %s GROUP BY 1",
            [meta["dataset_id"]],
        )
        task_status = dict(cursor.fetchall())
    context = database_context()
    refusals = [x for rr in rounds for r in rr for x in r["refusals"]]
    exhausted = any(r["exhausted"] for rr in rounds for r in rr)
    if refusals:
        problems.append(f"{len(refusals)} refusals, e.g. {refusals[0]}")
    if exhausted:
        problems.append("a labeler ran out of tasks")
    if any(counters.values()):
        problems.append(f"inconsistent task counters: {counters}")
    if settler_report and "error" in settler_report:
        problems.append(f"the settler failed: {settler_report['error'][-500:]}")
    broker = redis_size(flush=False)
    if broker:
        problems.append(f"{broker} keys in the broker's Redis db {REDIS_DB}: something dispatched")

    next_p95 = latency["next"]["p95"]["median"]
    shape = meta["shape"]
    summary: dict[str, Any] = {
        "benchmark": "labeling_assign",
        "mode": "quick" if args.quick else "full",
        "seed": SEED,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "database": context,
        "settings": "datadao.settings (production), persistent connections",
        "repetitions": {"measured": plan.repeat, "warmup": 1, "of": "rounds of every labeler"},
        "data": {
            "tasks": shape["tasks"],
            "gold_tasks": shape["gold"],
            "labelers_in_db": shape["labelers"],
            "rows": meta["rows"],
            "schema": meta["schema"],
            "task_status_after": task_status,
        },
        "run": {
            "concurrent_labelers": args.labelers,
            "as": "processes, one connection each, closed loop (no think time)",
            "cycles_per_labeler_per_round": plan.iterations,
            "warmup_cycles": plan.warmup,
            "repeat": plan.repeat,
            "floor_calls_per_labeler": plan.floor,
            "think_ms_mean": plan.think_ms,
            "consensus": (
                "worker: one process runs task_consensus_update per answer"
                if args.consensus == "worker"
                else "off: dispatch_task_consensus is a no-op, filled tasks stay open"
            ),
            "settler": settler_report,
            "settler_catch_up_s": spread(settle_wait, 2),
        },
        "latency_ms": latency,
        "ratios": {
            "next_p95_vs_select_1_p95": ratio("next", "select_1"),
            "next_p95_vs_commit_1_p95": ratio("next", "commit_1"),
            "submit_p95_vs_commit_1_p95": ratio("submit", "commit_1"),
        },
        "throughput": {
            "labels_per_s": spread(labels_per_s, 1),
            "label_phase_s": spread([t["label"] for t in phase_s], 2),
        },
        "cpu": cpu,
        "statements_ms": statements,
        "plans": plans,
        "counters_inconsistent": counters,
        "target": {
            "next_p95_ms": next_p95,
            "target_ms": TARGET_NEXT_P95_MS,
            "at_tasks": shape["tasks"],
            "met": next_p95 <= TARGET_NEXT_P95_MS,
            "applies": shape["tasks"] >= TARGET_TASKS,
        },
        "timing_s": meta["timing_s"] | {"total": round(time.perf_counter() - started, 1)},
        "problems": problems,
        "ok": not problems,
    }
    return summary


# --- report ---------------------------------------------------------------------------------------


def markdown(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    ratios = summary["ratios"]
    data = summary["data"]
    run_ = summary["run"]

    def cell(name: str, q: str) -> str:
        value = lat[name].get(q)
        if value is None:
            return "-"
        return f"{value['median']:.2f} ({value['min']:.2f}–{value['max']:.2f})"

    rows = [
        f"Tasks {data['tasks']:,} ({data['gold_tasks']:,} gold), labels "
        f"{data['rows']['label']:,}, holds {data['rows']['assignment']:,}; "
        f"{run_['concurrent_labelers']} labeler processes, {run_['cycles_per_labeler_per_round']} "
        f"cycles each per round, median (min–max) of {run_['repeat']} rounds; consensus "
        f"{run_['consensus'].split(':')[0]}. PostgreSQL {summary['database']['server_version']}, "
        f"{summary['cpus']} CPUs.",
        "",
        "| call | p50 ms | p95 ms | p99 ms | calls/round |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ("next", "next_ordinary", "next_gold", "submit", "select_1", "commit_1"):
        rows.append(
            f"| {name} | {cell(name, 'p50')} | {cell(name, 'p95')} | {cell(name, 'p99')} | "
            f"{lat[name]['calls_per_round']} |"
        )
    target = summary["target"]
    rows += [
        "",
        f"next p95 / select_1 p95: {ratios['next_p95_vs_select_1_p95']['median']}x; "
        f"next p95 / commit_1 p95: {ratios['next_p95_vs_commit_1_p95']['median']}x; "
        f"submit p95 / commit_1 p95: {ratios['submit_p95_vs_commit_1_p95']['median']}x.",
        f"Submit throughput: {summary['throughput']['labels_per_s']['median']} labels/s "
        f"(min {summary['throughput']['labels_per_s']['min']}, max "
        f"{summary['throughput']['labels_per_s']['max']}).",
        f"Target next p95 <= {target['target_ms']} ms at {TARGET_TASKS:,} tasks: "
        + (
            ("met" if target["met"] else "NOT met") + f" ({target['next_p95_ms']} ms)"
            if target["applies"]
            else f"not applicable at {target['at_tasks']:,} tasks ({target['next_p95_ms']} ms)"
        ),
        f"CPU per next+submit cycle: client {summary['cpu']['client_ms_per_cycle']['median']} ms "
        f"(next {summary['cpu']['client_next_ms'].get('mean')}, submit "
        f"{summary['cpu']['client_submit_ms'].get('mean')}), server "
        f"{summary['cpu']['server_ms_per_cycle']['median']} ms; machine "
        f"{100 * summary['cpu']['machine_busy_share_label_phase']['median']:.0f}% busy, load "
        f"{summary['cpu']['loadavg_1m_after_label_phase']['median']} during the label phase.",
        f"Timing (s): {summary['timing_s']}.",
        "",
        "| op | statement | per call | mean ms | p95 ms | ms per call |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for op, table in summary["statements_ms"].items():
        for row in table:
            rows.append(
                f"| {op} | {row['statement']} | {row['per_call']} | {row['mean_ms']} | "
                f"{row['p95_ms']} | {row['ms_per_call']} |"
            )
    if summary["plans"]:
        rows += ["", "EXPLAIN ANALYZE (warm, rolled back):", ""]
        for kind, found in summary["plans"].items():
            buffers = re.search(r"Buffers: shared hit=(\d+)", "\n".join(found.get("plan", [])))
            rows.append(
                f"- {kind}: {found.get('execution_ms', found.get('error'))} ms, "
                f"{buffers.group(1) if buffers else '?'} buffers hit"
            )
    if summary["problems"]:
        rows += ["", *[f"PROBLEM: {p}" for p in summary["problems"]]]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k tasks instead of 1M")
    parser.add_argument("--labelers", type=int, default=10, help="concurrent labeler processes")
    parser.add_argument("--iterations", type=int, help="next+submit cycles per labeler per round")
    parser.add_argument("--repeat", type=int, help="measured rounds after the warm-up")
    parser.add_argument("--consensus", choices=("worker", "off"), default="worker")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean think time between cycles (0: none)"
    )
    parser.add_argument("--gold-rate", type=float, default=0.05, help="0 for no gold tasks")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="run on a kept database as it is")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.iterations is not None or args.repeat is not None:
        if (args.iterations or 1) < 1 or (args.repeat or 1) < 1:
            parser.error("--iterations and --repeat must be positive")
        mode = Mode(
            mode.tasks, args.iterations or mode.iterations, mode.warmup,
            args.repeat or mode.repeat, mode.floor,
        )  # fmt: skip
    if not 1 <= args.labelers <= 256:
        parser.error("--labelers must be in 1..256")
    if not 0 <= args.gold_rate <= 0.5:
        parser.error("--gold-rate must be in [0, 0.5]")

    data_dir = Path(tempfile.mkdtemp(prefix="bench-labeling-"))
    os.environ.update(bench_env(data_dir))
    sys.path.insert(0, str(ROOT))
    keep = args.keep or args.reuse
    try:
        summary = run(args, mode)
    except BaseException:
        print(f"FAILED; the database {BENCH_DB} is kept for inspection", file=sys.stderr)
        keep = True
        raise
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        redis_size(flush=True)
        if not keep:
            admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
