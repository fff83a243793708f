"""``python -m bench.load``: the run in its steps, the arguments and the clean-up (see the
package's docstring)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench.load as package
from bench._db import create_database, drop_database
from bench._procs import (
    Processes,
    Started,
    free_port,
    machine_busy,
    start_workers,
    stop_now,
    tree_cpu_s,
    wait_healthy,
    wait_ready,
)
from bench._report import emit
from bench.load import steps
from bench.load.config import (
    BASELINE,
    CELERY_WORKERS,
    CSV_ROWS,
    FULL,
    LOAD_DB,
    QUICK,
    TARGET_DRAIN_S,
    TEMPLATE_DB,
    WINDOWS,
    Mode,
    Stack,
)
from bench.load.measure import consistency, drain, generate, server_logs
from bench.load.report import markdown, p95_ratio, problems_of, requests_summary, windows_summary
from bench.load.setup import (
    World,
    broker_backlog,
    build_world,
    import_tasks,
    load_env,
    start_broker,
    web_argv,
)

ROOT = Path(__file__).resolve().parent.parent.parent
WEB_START_TIMEOUT = 120.0
# Booting a worker takes seconds; on a 2-core machine shared with other work, minutes.
WORKERS_READY_TIMEOUT = 240.0


@dataclass
class Served:
    """The platform under load: its web server and workers, the world in its database, the
    imported items, and the seconds of each set-up step."""

    web: Started
    workers: list[Started]
    base: str
    world: World
    database: str
    items: dict[str, Any]
    steps: dict[str, float]
    bouncer: Any = None  # tests.pgbouncer.PgBouncer when the stack has one


# Server connections pgbouncer keeps to PostgreSQL: about the cores' worth of queries at once,
# against the web threads' and workers' 18 clients of the tuned stack.
POOL_SIZE = 10


def _pooled(env: dict[str, str], procs_env: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """A pgbouncer in front of the benchmark's PostgreSQL and the servers' settings for it."""
    from tests.pgbouncer import PgBouncer

    bouncer = PgBouncer(pool_size=POOL_SIZE, max_clients=2000)
    bouncer.start()
    return bouncer, procs_env | {
        "DATABASE_URL": bouncer.url(LOAD_DB),
        "DATABASE_POOLER": "pgbouncer",
    }


def setup(mode: Mode, scratch: Path, procs: Processes, stack: Stack = BASELINE) -> Served:
    """The broker, the workers and the web server of ``stack`` started (and its pgbouncer),
    the database made, the world built, the items imported; the broker empty before the load.
    This process (the world, the drain, the checks) connects directly either way."""
    logs = scratch / "logs"
    logs.mkdir()
    env = load_env(scratch / "data", start_broker(procs, logs))
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    drop_database(LOAD_DB)
    bouncer, served_env = _pooled(env, env) if stack.pgbouncer else (None, env)
    prefetch = ("--prefetch-multiplier", str(stack.prefetch)) if stack.prefetch else ()
    # The workers and the web server boot (imports, mostly) while the database is made:
    # neither touches it before it is asked to work.
    workers = start_workers(procs, CELERY_WORKERS, served_env, logs, "load", prefetch)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = procs.start("gunicorn", web_argv(port, stack), served_env, logs)
    mark = time.perf_counter()
    database = create_database(env, LOAD_DB, TEMPLATE_DB)
    steps: dict[str, float] = {"database": time.perf_counter() - mark}
    import django

    django.setup()
    from django.db import connection

    from ipfs.conf import get_backend

    mark = time.perf_counter()
    get_backend().create_shards()  # type: ignore[attr-defined]
    world = build_world(mode)
    steps["users_and_datasets"] = time.perf_counter() - mark
    mark = time.perf_counter()
    wait_healthy(web, base, WEB_START_TIMEOUT)
    wait_ready(workers, WORKERS_READY_TIMEOUT)
    steps["servers_ready_after_that"] = time.perf_counter() - mark
    items = import_tasks(world, mode.tasks, scratch)
    steps["import"] = items["import_s"]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    backlog = broker_backlog()
    if any(backlog.values()):
        raise RuntimeError(f"the broker is not empty before the load: {backlog}")
    return Served(web, workers, base, world, database, items, steps, bouncer)


def load(
    served: Served, mode: Mode, args: argparse.Namespace, scratch: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The load generator's run; its result, and the CPU seconds of every side meanwhile."""
    web, workers = served.web, served.workers
    cpu_before = {
        "web": tree_cpu_s(web.process.pid),
        "celery": sum(tree_cpu_s(w.process.pid) for w in workers),
    }
    busy_before, load_before = machine_busy(), os.getloadavg()[0]
    result = generate(served.world, mode, args, served.base, scratch)
    busy_after = machine_busy()
    cpu = {
        "web_s": round(tree_cpu_s(web.process.pid) - cpu_before["web"], 1),
        "celery_s": round(
            sum(tree_cpu_s(w.process.pid) for w in workers) - cpu_before["celery"], 1
        ),
        "load_generator_s": round(result["cpu_s"], 1),
        "machine_busy_s": round(busy_after[0] - busy_before[0], 1),
        "machine_busy_share": round(
            (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]), 3
        ),
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return result, cpu


def run(
    args: argparse.Namespace,
    mode: Mode,
    scratch: Path,
    procs: Processes,
    stack: Stack = BASELINE,
) -> dict[str, Any]:
    started = time.perf_counter()
    served = setup(mode, scratch, procs, stack)
    setup_s = time.perf_counter() - started
    print(f"set up in {setup_s:.0f} s; load for {mode.duration_s:.0f} s", file=sys.stderr)
    result, cpu = load(served, mode, args, scratch)
    print(f"load done in {result['load_s']:.0f} s; draining", file=sys.stderr)
    drained = drain(result["ended_at"], mode.drain_limit_s, served.workers)
    checks = consistency(served.world, result)
    mark = time.perf_counter()
    # Drained and checked: nothing is left to finish, so no warm shutdown to wait for.
    stop_now([served.web, *served.workers])
    procs.stop([served.web, *served.workers])
    if served.bouncer is not None:
        served.bouncer.close()
    stop_s = time.perf_counter() - mark
    requests = requests_summary(result)
    summary: dict[str, Any] = {
        "benchmark": "load",
        "mode": "quick" if args.quick else "full",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "stack": stack.name,
        "server": f"{stack.describe()}, DEBUG=false, loopback",
        "workers": f"{CELERY_WORKERS} Celery workers (--concurrency 1, every queue), Redis broker",
        "generator": "locust (HttpUser, headless, own process), users of fixed counts",
        "load": {
            "contributors": mode.contributors,
            "labelers": mode.labelers,
            "duration_s": mode.duration_s,
            "ramp_s": mode.ramp_s,
            "probe_interval_s": mode.probe_interval_s,
            "contributor_wait_s": list(args.contributor_wait),
            "labeler_think_s": list(args.labeler_think),
            "csv_rows": CSV_ROWS,
            "load_s": round(result["load_s"], 1),
            "stop_s": round(result["stop_s"], 1),
            "dry_next": result["counters"]["dry_next"],
            "caps_per_user": {
                "uploads": result["config"]["max_uploads_per_user"],
                "labels": result["config"]["max_labels_per_user"],
            },
            "locust_totals": result["locust"],
        },
        "data": {
            "database": served.database,
            "labeling_tasks": served.items["tasks"],
            "import_s": served.items["import_s"],
        },
        "requests": requests,
        "ratios": {
            f"{name}_p95_vs_healthz": p95_ratio(requests, name)
            for name in ("next", "submit", "upload")
        },
        "windows": windows_summary(result, mode),
        "repetitions": {
            "warmup": 1,
            "measured": WINDOWS,
            "of": "windows of the load after the ramp",
        },
        "throughput": {
            "requests_per_s": requests["per_s"],
            "uploads_accepted_per_s": round(len(result["accepted_ids"]) / result["load_s"], 2),
            "labels_per_s": round(checks["labels"]["answered_201"] / result["load_s"], 2),
        },
        "drain": drained | {"target_s": TARGET_DRAIN_S},
        "consistency": checks,
        "server_logs": server_logs(served.web, served.workers),
        "cpu": cpu,
        "timing_s": {
            "setup": round(setup_s, 1),
            "setup_steps": {k: round(v, 1) for k, v in served.steps.items()},
            "load": round(result["load_s"], 1),
            "drain_and_checks": round(drained["polled_s"] + checks["checked_s"], 1),
            "stop_servers": round(stop_s, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }
    summary["problems"] = problems_of(summary)
    summary["ok"] = not summary["problems"]
    return summary


def _pair(text: str) -> tuple[float, float]:
    low, high = (float(x) for x in text.split(","))
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError("give two seconds A,B with 0 <= A <= B")
    return low, high


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=package.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="10 + 10 users for 15 s")
    parser.add_argument("--contributors", type=int, help="contributor users")
    parser.add_argument("--labelers", type=int, help="labeler users")
    parser.add_argument("--duration", type=float, help="seconds of load")
    parser.add_argument(
        "--contributor-wait", type=_pair, default=(3.0, 9.0),
        help="seconds a contributor waits between uploads, uniform in A,B",
    )  # fmt: skip
    parser.add_argument(
        "--labeler-think", type=_pair, default=(1.0, 3.0),
        help="seconds a labeler reads an item before answering, uniform in A,B",
    )  # fmt: skip
    parser.add_argument(
        "--drain-limit", type=float, help="seconds to wait for the drain (300 full, 90 quick)"
    )
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    parser.add_argument(
        "--stack", type=steps.parse_stack, default=BASELINE,
        help="the stack served (baseline by default; the names of --stacks)",
    )  # fmt: skip
    # One step of --step: the step's shorter mode (its own process: Django and Celery are
    # configured once per process, with that step's data folder and broker).
    parser.add_argument("--stepped", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--step", type=steps.parse_steps,
        help="step the load up: contributors (and as many labelers) per step, e.g. 50,100,200",
    )  # fmt: skip
    parser.add_argument(
        "--stacks", type=steps.parse_stacks, default=steps.parse_stacks("baseline,tuned"),
        help="with --step: the stacks each step runs on (baseline,tuned by default): "
        + ", ".join(f"{name}: {stack.describe()}" for name, stack in steps.STACKS.items()),
    )  # fmt: skip
    parser.add_argument(
        "--past-knee", type=int, default=0, help="with --step: steps to run past a stack's knee"
    )
    args = parser.parse_args(argv)
    if args.step:
        summary = steps.run_steps(args)
        table = steps.markdown(summary)
        emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
        return 0
    mode = QUICK if args.quick else FULL
    if args.stepped:
        mode = steps.step_mode(args.contributors or 1, args)
    mode = Mode(
        contributors=args.contributors or mode.contributors,
        labelers=args.labelers or mode.labelers,
        duration_s=args.duration or mode.duration_s,
        tasks=mode.tasks,
        ramp_s=mode.ramp_s,
        drain_limit_s=args.drain_limit or mode.drain_limit_s,
        probe_interval_s=mode.probe_interval_s,
    )
    if min(mode.contributors, mode.labelers) < 1 or mode.duration_s <= mode.ramp_s:
        parser.error(
            f"--contributors and --labelers must be positive, --duration over {mode.ramp_s:.0f} s"
        )
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    procs = Processes()
    keep = args.keep
    try:
        summary = run(args, mode, scratch, procs, args.stack)
    except BaseException:
        print(f"FAILED; the database {LOAD_DB} and {scratch} are kept", file=sys.stderr)
        keep = True
        raise
    finally:
        # Newest first: the broker goes last, after the workers' warm shutdown.
        procs.stop(list(reversed(procs.started)))
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            drop_database(LOAD_DB)
            shutil.rmtree(scratch, ignore_errors=True)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1
