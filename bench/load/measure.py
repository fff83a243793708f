"""What the load benchmark measures around the load: the load generator run (``users``, in a
process of its own), the drain after it, the database against what the clients were told,
and the server's logs."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench._procs import Started
from bench.load.config import (
    AGREEMENT,
    CSV_ROWS,
    REQUEST_TIMEOUT_S,
    SEED,
    STOP_TIMEOUT_S,
    Mode,
)
from bench.load.report import short_dist
from bench.load.setup import World, broker_backlog
from bench.pipeline.config import FINAL

ROOT = Path(__file__).resolve().parent.parent.parent


def _bound(duration_s: float, pace: tuple[float, float]) -> int:
    """The most requests one user can make at this pace: a hard cap on the run's count."""
    return int(duration_s / max(pace[0], 0.05)) + 1


def generate(
    world: World, mode: Mode, args: argparse.Namespace, base: str, scratch: Path
) -> dict[str, Any]:
    """Run ``bench.load.users`` against ``base``; its result, and its CPU seconds."""
    import resource

    config = {
        "host": base,
        "seed": SEED,
        "duration_s": mode.duration_s,
        "ramp_s": mode.ramp_s,
        "stop_timeout_s": STOP_TIMEOUT_S,
        "request_timeout_s": REQUEST_TIMEOUT_S,
        "tabular_id": world.tabular_id,
        "labeling_id": world.labeling_id,
        "contributor_tokens": world.contributor_tokens,
        "labeler_tokens": world.labeler_tokens,
        "contributor_wait": args.contributor_wait,
        "labeler_think": args.labeler_think,
        "csv_rows": CSV_ROWS,
        "agreement": AGREEMENT,
        "max_uploads_per_user": _bound(mode.duration_s, args.contributor_wait),
        "max_labels_per_user": _bound(mode.duration_s, args.labeler_think),
        "probe_interval_s": mode.probe_interval_s,
    }
    config_path, result_path = scratch / "load-config.json", scratch / "load-result.json"
    config_path.write_text(json.dumps(config))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (scratch / "logs" / "locust.log").open("wb") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.load.users", str(config_path), str(result_path)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False,
            timeout=mode.duration_s + mode.ramp_s + STOP_TIMEOUT_S + 120,
        )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode or not result_path.exists():
        text = (scratch / "logs" / "locust.log").read_text(errors="replace")
        raise RuntimeError(f"the load generator failed ({proc.returncode}):\n{text[-4000:]}")
    result = json.loads(result_path.read_text())
    result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["config"] = {k: v for k, v in config.items() if not k.endswith("_tokens")}
    return result


def drain(ended_at: float, limit_s: float, workers: list[Started]) -> dict[str, Any]:
    """Poll until no contribution is unfinished and the broker is empty (or ``limit_s`` after
    the end of the load); the time from the end of the load, and the backlog first seen."""
    from contributions.models import Contribution

    first: dict[str, Any] | None = None
    began = time.perf_counter()
    while True:
        unfinished = Counter(
            Contribution.objects.exclude(status__in=FINAL).values_list("status", flat=True)
        )
        backlog = broker_backlog()
        now = time.time()
        if first is None:
            first = {
                "seconds_after_end": round(now - ended_at, 2),
                "unfinished_contributions": dict(unfinished),
                "broker": backlog,
            }
        if not unfinished and not any(backlog.values()):
            return {
                "seconds": round(now - ended_at, 2),
                "at_first_poll": first,
                "polled_s": round(time.perf_counter() - began, 1),
            }
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} died:\n{worker.log()[-4000:]}")
        if now - ended_at > limit_s:
            return {
                "seconds": None,
                "at_first_poll": first,
                "at_limit": {"unfinished_contributions": dict(unfinished), "broker": backlog},
                "polled_s": round(time.perf_counter() - began, 1),
            }
        time.sleep(0.25)


def consistency(world: World, result: dict[str, Any]) -> dict[str, Any]:
    """What the database holds against what the clients were told, and the fleet invariants."""
    from contributions.models import Contribution, Status
    from ipfs.conf import get_backend
    from labeling.models import Label, LabelTask, TaskStatus
    from rewards.models import RewardEntry
    from tests.fleet.invariants import check_invariants

    began = time.perf_counter()
    stored = set(
        Contribution.objects.filter(dataset_id=world.tabular_id).values_list("pk", flat=True)
    )
    accepted = set(result["accepted_ids"])
    submitted = sum(1 for _, status, *_ in result["samples"]["submit"] if status == 201)
    labels = Label.objects.filter(dataset_id=world.labeling_id).count()
    statuses = Counter(Contribution.objects.values_list("status", flat=True))
    rejected = Contribution.objects.filter(status=Status.REJECTED)
    failed = Contribution.objects.filter(status=Status.FAILED)
    out: dict[str, Any] = {
        "contributions": {
            "answered_201": len(accepted),
            "stored": len(stored),
            "lost": sorted(accepted - stored)[:20],
            "stored_without_201": sorted(stored - accepted)[:20],
            "statuses": dict(statuses),
            "rejected_reasons": list(rejected.values_list("reasons", flat=True)[:3]),
            "failures": list(failed.values_list("failure", flat=True)[:3]),
        },
        "labels": {
            "answered_201": submitted,
            "stored": labels,
            "tasks_complete": LabelTask.objects.filter(
                dataset_id=world.labeling_id, status=TaskStatus.COMPLETE
            ).count(),
            "label_credits": RewardEntry.objects.filter(dataset_id=world.labeling_id).count(),
        },
    }
    try:
        report = check_invariants(backend=get_backend())
        out["invariants"] = {"ok": True, **asdict(report)}
    except AssertionError as exc:
        out["invariants"] = {"ok": False, "violations": str(exc)[:4000]}
    out["checked_s"] = round(time.perf_counter() - began, 1)
    return out


_ACCESS_LINE = re.compile(r'^(\d{3}) (\d+) "(\w+) (\S+) ', re.MULTILINE)
_ENDPOINTS = {
    "upload": re.compile(r"POST /api/datasets/\d+/contributions$"),
    "next": re.compile(r"GET /api/labeling/\d+/next$"),
    "submit": re.compile(r"POST /api/labeling/\d+/holds/\d+/label$"),
    "healthz": re.compile(r"GET /healthz$"),
}


def server_logs(web: Started, workers: list[Started]) -> dict[str, Any]:
    """Status classes and, per endpoint, the time in the web worker of its 2xx answers, from
    gunicorn's access log; errors and tracebacks in every log."""
    text = web.log()
    classes: Counter[str] = Counter()
    in_worker: dict[str, list[float]] = {name: [] for name in _ENDPOINTS}
    for status, micros, method, path in _ACCESS_LINE.findall(text):
        classes[f"{status[0]}xx"] += 1
        if not status.startswith("2"):
            continue
        for name, pattern in _ENDPOINTS.items():
            if pattern.match(f"{method} {path}"):
                in_worker[name].append(int(micros) / 1000)
    worker_text = "".join(w.log() for w in workers)
    first = next(
        (t[t.index("Traceback") :][:3000] for t in (text, worker_text) if "Traceback" in t), ""
    )
    return {
        "access_log_status": dict(sorted(classes.items())),
        "in_worker_ms": {name: short_dist(values) for name, values in in_worker.items()},
        "gunicorn_tracebacks": text.count("Traceback"),
        "gunicorn_errors": text.count("[ERROR]"),
        "worker_tracebacks": worker_text.count("Traceback"),
        "worker_errors": worker_text.count("ERROR/"),
        "worker_retries": worker_text.count(" retry: "),
        "first_traceback": first,
    }
