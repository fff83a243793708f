"""``python -m bench.pipeline``: the run, from the database to the summary (see the package's
docstring)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.pipeline as package
from bench._db import create_database, database_context, drop_database, redis_size
from bench._procs import Processes
from bench._report import emit
from bench.pipeline.config import (
    BENCH_DB,
    CSV_ROWS,
    FULL,
    IMAGE_SIDE,
    LANES,
    QUICK,
    REDIS_DB,
    SEED,
    TEMPLATE_DB,
    Mode,
    pipeline_env,
)
from bench.pipeline.report import human, lane_ratios, report
from bench.pipeline.rounds import Bench
from bench.pipeline.upload import web_upload
from bench.pipeline.world import make_world


def setup(mode: Mode, scratch: Path, procs: Processes) -> tuple[Bench, str]:
    """A fresh database from the template, an empty broker, Django, the store's shards and the
    DAO; the bench and how its database was made."""
    import numpy as np

    env = pipeline_env(scratch / "data")
    os.environ.update(env)
    (scratch / "logs").mkdir()
    drop_database(BENCH_DB)
    redis_size(REDIS_DB, flush=True)
    database_from = create_database(env, BENCH_DB, TEMPLATE_DB)

    import django

    django.setup()
    from ipfs.conf import get_backend

    # A store in use has every shard directory; making them is a one-off, not per-round, cost.
    get_backend().create_shards()  # type: ignore[attr-defined]
    bench = Bench(
        mode=mode,
        env=env,
        scratch=scratch,
        procs=procs,
        world=make_world(),
        rng=np.random.default_rng(SEED),
    )
    return bench, database_from


def measure_fleets(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every lane at its worker counts: a fleet each, a warm-up round and ``repeat`` measured
    rounds of each workload on it, then the fleet stopped; the fleets' start-up times."""
    fleets = []
    for lane in args.lanes:
        counts = args.workers if lane == args.lanes[0] else args.compare_workers
        for count in counts:
            fleet = bench.fleet(lane, count)
            fleets.append({"lane": lane, "workers": count, "ready_s": round(fleet.ready_s, 2)})
            try:
                # Warm-up on every fleet: page cache, buffers and plans, the workers' imports.
                for kind in ("csv", "png"):
                    bench.rounds.append(bench.round(fleet, kind, None))
                for rep in range(bench.mode.repeat):
                    for kind in ("csv", "png"):
                        bench.rounds.append(bench.round(fleet, kind, rep))
            finally:
                bench.procs.stop(fleet.workers)
    return fleets


def run(args: argparse.Namespace, mode: Mode, scratch: Path, procs: Processes) -> dict[str, Any]:
    started = time.perf_counter()
    bench, database_from = setup(mode, scratch, procs)
    setup_s = time.perf_counter() - started
    fleets = measure_fleets(bench, args)
    pipeline_s = time.perf_counter() - started - setup_s
    upload = web_upload(bench, mode.repeat)
    return {
        "benchmark": "pipeline",
        "mode": "quick" if args.quick else "full",
        "repeat": mode.repeat,
        "workers": args.workers,
        "lanes": args.lanes,
        "compare_workers": args.compare_workers,
        "repetitions": {"measured": mode.repeat, "warmup": 1, "of": "rounds per fleet"},
        "database": database_from,
        "fleets": fleets,
        "workloads": {
            "csv": {"files": mode.csv, "rows_per_file": CSV_ROWS, "columns": 5},
            "png": {"files": mode.png, "side_px": IMAGE_SIDE, "kind": "seeded RGB noise"},
        },
        "settings": "config.settings, DEBUG=false, SSL redirect/secure cookies off, "
        "CONN_MAX_AGE default (60), embedded IPFS, Redis broker",
        "seed": SEED,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "postgres": database_context(),
        # The product's default path; the other lanes (when run) beside it, and the ratios.
        "pipeline": report(bench, args.workers, args.lanes[0]),
        "pipeline_by_lane": {lane: report(bench, args.workers, lane) for lane in args.lanes},
        "lane_ratios": lane_ratios(bench),
        "web_upload": upload,
        "rounds": [
            {k: v for k, v in r.items() if k != "task_s"}
            | {"tasks": {name: len(times) for name, times in r["task_s"].items()}}
            for r in bench.rounds
        ],
        "timing_s": {
            "setup": round(setup_s, 1),
            "pipeline_rounds": round(pipeline_s, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "problems": bench.problems,
        "ok": not bench.problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=package.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100 CSV, 30 PNG, 256 MiB")
    parser.add_argument("--repeat", type=int, help="measured rounds per fleet (5)")
    parser.add_argument(
        "--workers", help="the first lane's worker counts, comma-separated (1,2,4; quick 1,2)"
    )
    parser.add_argument(
        "--lanes",
        help="batch, express, stages, comma-separated, the first the reference "
        "(all three; quick batch)",
    )
    parser.add_argument(
        "--compare-workers", help="worker counts of the other lanes, comma-separated (2)"
    )
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the database and temp folder")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")]
    args.lanes = (args.lanes or ("batch" if args.quick else ",".join(LANES))).split(",")
    if not set(args.lanes) <= set(LANES):
        parser.error(f"--lanes takes {', '.join(LANES)}")
    args.compare_workers = [int(w) for w in (args.compare_workers or "2").split(",")]
    mode = QUICK if args.quick else FULL
    if args.repeat is not None:
        if args.repeat < 1:
            parser.error("--repeat must be positive")
        mode = Mode(mode.csv, mode.png, args.repeat, mode.upload_mib)

    scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-", dir=args.workdir))
    procs = Processes()
    try:
        result = run(args, mode, scratch, procs)
    except BaseException:
        print(f"FAILED; logs and data kept in {scratch}", file=sys.stderr)
        args.keep = True
        raise
    finally:
        procs.stop_all()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(BENCH_DB)
            redis_size(REDIS_DB, flush=True)
            shutil.rmtree(scratch, ignore_errors=True)
    emit(result, json_path=args.json, human=human(result))
    return 0 if result["ok"] else 1
