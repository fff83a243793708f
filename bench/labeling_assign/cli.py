"""``python -m bench.labeling_assign``: the arguments, the run in its steps, and the clean-up
(see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
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
from bench.labeling_assign.types import TASK_TYPES

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
    meta = reuse() if args.reuse else build(mode, args.gold_rate, args.task, args.order)
    from django.db import connection

    plan = Plan(
        dataset_id=meta["dataset_id"],
        iterations=mode.iterations,
        warmup=mode.warmup,
        repeat=mode.repeat,
        floor=mode.floor,
        think_ms=args.think_ms,
        task_type=meta.get("task_type", "classification"),
    )
    connection.close()  # the children open their own; nothing of ours stays open meanwhile
    children = Children.open(args.labelers, args.consensus, meta["first_labeler_id"])
    try:
        children.start(plan)
        measured = drive(children, plan)
    finally:
        children.stop()
    return summarise(args, plan, meta, measured, started) | {"task_type": plan.task_type}


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
        "--task",
        choices=(*TASK_TYPES, "all"),
        default="classification",
        help="the dataset's task type; 'all' runs each in turn and compares with classification",
    )
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

    if args.task == "all":
        if args.reuse or args.keep:
            parser.error("--task all makes a database per type: no --reuse or --keep")
        return _all_types(args)

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


# Each type's next and submit against classification's, in the same run.
TARGET_TYPED_RATIO = 1.5


def _all_types(args: argparse.Namespace) -> int:
    """Every task type in turn, each in a process and a database of its own (the same sizes and
    load), then each type's p50 and p95 of ``next`` and submit over classification's."""
    rest = [
        *(["--quick"] if args.quick else []),
        "--labelers", str(args.labelers),
        *(["--iterations", str(args.iterations)] if args.iterations else []),
        *(["--repeat", str(args.repeat)] if args.repeat else []),
        "--consensus", args.consensus,
        "--think-ms", str(args.think_ms),
        "--gold-rate", str(args.gold_rate),
        "--order", args.order,
    ]  # fmt: skip
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-labeling-types-") as folder:
        for task_type in TASK_TYPES:
            out = Path(folder) / f"{task_type}.json"
            print(f"--- {task_type} ---", file=sys.stderr)
            done = subprocess.run(
                [sys.executable, "-m", "bench.labeling_assign", *rest, "--task", task_type,
                 "--json", str(out)],
                cwd=ROOT, stdout=subprocess.DEVNULL, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not out.exists():
                runs[task_type] = {"ok": False, "exit_status": done.returncode}
                continue
            runs[task_type] = json.loads(out.read_text())
    summary = compare_types(runs)
    table = types_markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1


def compare_types(runs: dict[str, Any]) -> dict[str, Any]:
    """Per type: next and submit p50/p95 (median over rounds) and their ratios to
    classification's; ok when every run was ok and every ratio is within the target."""
    base = runs.get("classification", {})
    rows: dict[str, Any] = {}
    within = True
    for task_type, summary in runs.items():
        if not summary.get("ok") or not base.get("ok"):
            rows[task_type] = {"ok": False}
            within = False
            continue
        row: dict[str, Any] = {"ok": True}
        for call in ("next", "submit"):
            for q in ("p50", "p95"):
                mine = summary["latency_ms"][call][q]["median"]
                theirs = base["latency_ms"][call][q]["median"]
                row[f"{call}_{q}_ms"] = mine
                row[f"{call}_{q}_ratio"] = round(mine / theirs, 2)
                within &= mine / theirs <= TARGET_TYPED_RATIO
        rows[task_type] = row
    return {
        "benchmark": "labeling_assign --task all",
        "tasks": base.get("data", {}).get("tasks"),
        "target": (
            f"next and submit p50/p95 of every type <= {TARGET_TYPED_RATIO}x classification's"
        ),
        "types": rows,
        "runs": runs,
        "ok": within,
    }


def types_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"Tasks per dataset: {summary['tasks']}; {summary['target']}.",
        "",
        "| type | next p50 ms | next p95 ms | submit p50 ms | submit p95 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for task_type, row in summary["types"].items():
        if not row["ok"]:
            lines.append(f"| {task_type} | failed | | | |")
            continue
        cells = [
            f"{row[f'{c}_{q}_ms']:.2f} ({row[f'{c}_{q}_ratio']:.2f}x)"
            for c in ("next", "submit")
            for q in ("p50", "p95")
        ]
        lines.append(f"| {task_type} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
