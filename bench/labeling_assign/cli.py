"""``python -m bench.labeling_assign``: the arguments, the run in its steps, and the clean-up
(see the package's docstring)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.labeling_assign as package
from bench._db import REDIS_URL, bench_env, drop_database, redis_size
from bench._report import emit
from bench.labeling_assign.config import BENCH_DB, FULL, QUICK, REDIS_DB, Mode, Plan
from bench.labeling_assign.database import build, reuse
from bench.labeling_assign.drive import Children, drive
from bench.labeling_assign.report import markdown
from bench.labeling_assign.summary import summarise

ROOT = Path(__file__).resolve().parent.parent.parent


def labeling_env(data_dir: Path) -> dict[str, str]:
    """The settings of the run; the broker's Redis database must stay empty."""
    return bench_env(
        database=BENCH_DB,
        broker_url=f"{REDIS_URL}/{REDIS_DB}",
        data_dir=data_dir,
        log_level="WARNING",
    )


def run(args: argparse.Namespace, mode: Mode) -> dict[str, Any]:
    """The database made (or reused), the labelers and the settler driven through the rounds,
    the figures summarised."""
    started = time.perf_counter()
    meta = reuse() if args.reuse else build(mode, args.gold_rate, args.order)
    from django.db import connection

    plan = Plan(
        dataset_id=meta["dataset_id"],
        iterations=mode.iterations,
        warmup=mode.warmup,
        repeat=mode.repeat,
        floor=mode.floor,
        think_ms=args.think_ms,
    )
    connection.close()  # the children open their own; nothing of ours stays open meanwhile
    children = Children.open(args.labelers, args.consensus, meta["first_labeler_id"])
    try:
        children.start(plan)
        measured = drive(children, plan)
    finally:
        children.stop()
    return summarise(args, plan, meta, measured, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.labeling_assign",
        description=package.__doc__.split("\n\n")[0],
    )
    parser.add_argument("--quick", action="store_true", help="100k tasks instead of 1M")
    parser.add_argument("--labelers", type=int, default=10, help="concurrent labeler processes")
    parser.add_argument("--iterations", type=int, help="next+submit cycles per labeler per round")
    parser.add_argument("--repeat", type=int, help="measured rounds after the warm-up")
    parser.add_argument("--consensus", choices=("worker", "off"), default="worker")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean think time between cycles (0: none)"
    )
    parser.add_argument("--gold-rate", type=float, default=0.05, help="0 for no gold tasks")
    parser.add_argument(
        "--order",
        choices=("arrival", "uncertain"),
        default="arrival",
        help="the dataset's order of open items (schema 'order'; not with --reuse)",
    )
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
    os.environ.update(labeling_env(data_dir))
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
        redis_size(REDIS_DB, flush=True)
        if not keep:
            drop_database(BENCH_DB)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1
