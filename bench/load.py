"""Benchmark: the whole platform under load: contributors uploading and labelers labeling at once.

Run ``python -m bench.load [--quick] [--contributors N] [--labelers N] [--duration S]
[--contributor-wait A,B] [--labeler-think A,B] [--drain-limit S] [--json PATH] [--markdown PATH]
[--keep]``.

Everything runs on loopback, isolated from the test suite and from ``bin/run``: its own
database ``datadao_bench_load`` (dropped and re-created as a copy of
``datadao_bench_load_template``, a migrated database kept between runs and migrated afresh
whenever a migration file or Django changes: ``bench.web.create_database``); a redis-server of
its own on a free port as the broker (not a database of the shared Redis: test sessions flush
theirs when they start, and one that picked the same number once wiped messages in flight
here); a temporary ``DATA_DIR`` with the embedded IPFS store. Settings: the production module
``datadao.settings`` (``DEBUG=false``, persistent connections) relaxed for plain HTTP as
``bench.pipeline`` does, with an hourly upload quota no run can reach (a 429 would still be
counted, apart).

The served platform: ``gunicorn datadao.wsgi -w 2`` (sync workers, as ``bench.web`` starts it)
and 2 Celery workers (``--concurrency 1`` on every queue, as ``bench.pipeline`` starts them).
The data, made through the services: a DAO with a tabular dataset (the 5-column CSV schema of
``bench.pipeline``, a reward per contribution) and a text labeling dataset (3 labels, overlap
3, a reward per label) whose items (``tasks``: enough that nobody runs dry) are imported by
the workers from a CSV (``label_import_create``); ``contributors`` + ``labelers`` members with
an API token each.

The load (``bench/_load_users.py``: locust as a library, headless, in its own process):
``contributors`` users each upload a new CSV of 20 rows (every row unique in the run, so every
file is accepted) and then wait ``--contributor-wait`` seconds; ``labelers`` users each loop
``next`` → read the item ``--labeler-think`` seconds → submit (the right label 85 % of the
time); one probe user reads ``/healthz`` once a second (``--quick``: every 0.2 s, so that
each window below has a dozen). Users start over ``ramp_s`` seconds and run for ``duration``
seconds; then none starts a request, those in flight finish (within 30 s), and the load ends.
Bounded in count too: a user makes at most ``duration`` / (its shortest pause) uploads or
labels. Full size: 50 + 50 users for 5 minutes (ramp 10 s); ``--quick``: 10 + 10 for 15
seconds (ramp 2 s; the whole run, set-up included, in under 30 s on a 2-core machine once the
template database exists, about 8 s more when it is made afresh).

Repetitions: the ramp is the warm-up, and the rest of the load is cut into 5 windows of equal
length (58 s full, 2.6 s quick); each request belongs to the window it started in. The ratios to
``/healthz`` are per window (each endpoint's p95 over ``/healthz``'s p95 in the same window),
reported as median and min–max over the windows that had answers of both. In the quick run a
window holds about a dozen of each labeling request and of ``/healthz`` but only 0–8 uploads
(10 contributors pausing 3–9 s; the first uploads all fall in the ramp), so a window's p95 is
close to its maximum, and the upload ratio often comes from 4 windows, not 5: the window right
after the ramp has none.

The figures:

* requests: every request with its status; 5xx (must be 0, from the client and from the
  server's access log), 4xx by endpoint, status and the API's error code, requests with no
  answer (connection errors, timeouts) by exception;
* latency (ms, p50/p95/p99, nearest rank; from sending the request to the end of the body, so
  the wait in gunicorn's backlog is in it) of ``next`` (200 with a task), submit (201) and
  upload accept (201), and of ``/healthz`` as the same-run reference: the ratio of each p95 to
  ``/healthz``'s says how much is the endpoint's own work rather than queueing for a worker.
  Also, from gunicorn's access log, the time of each in the web worker (p50/p95 of ``%(D)s``:
  from reading the request to the end of the response, so without the backlog; on a shared
  machine still with the time the worker waited for a CPU);
* throughput over the load: requests/s, uploads accepted/s, labels/s;
* the same p95s and ratios over the whole load (ramp included), as context;
* drain: from the end of the load until no contribution is in a non-final state and the
  broker holds nothing (every queue empty, nothing unacknowledged), polled from the database
  and Redis; target ≤ 60 s. The backlog at the end of the load is reported too;
* the invariant check of the fleet tests (``tests/fleet/invariants.check_invariants`` over the
  whole database, with the IPFS store: every contribution final, one pin, CID and proof per
  pinned one, pinned on the store, exactly one credit of the policy's amount each, …), plus
  two cross-checks: every upload answered 201 is in the database (and nothing else is), every
  submit answered 201 is a stored label;
* CPU: the machine's busy share during the load and the CPU seconds of the web workers, the
  Celery workers and the load generator (the machine may be shared: figures under contention
  are what they are, the busy share shows it).

The run fails (exit status 1, the problems listed) on any 5xx, request without an answer,
unexpected 4xx, labeler finding nothing to do, contribution rejected or failed, lost
contribution or label, drain over 60 s, or invariant violation. JSON to stdout (and ``--json``),
a markdown table with ``--markdown``; every process started here is stopped in any case (after
the drain and the checks, with nothing left to do, the web server and the Celery workers get a
quick shutdown); the database and logs are dropped at the end unless ``--keep`` (kept after a
crash).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._report import emit
from bench.labeling_assign import _busy, dist
from bench.pipeline import CSV_SCHEMA, FINAL, Processes, Started, start_workers, wait_ready
from bench.pipeline import bench_env as pipeline_env
from bench.web import WORKERS as GUNICORN_WORKERS
from bench.web import _free_port, admin, create_database

ROOT = Path(__file__).resolve().parent.parent
LOAD_DB = "datadao_bench_load"
TEMPLATE_DB = "datadao_bench_load_template"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
CELERY_WORKERS = 2
CSV_ROWS = 20
LABELS = ["positive", "negative", "neutral"]
AGREEMENT = 0.85
TARGET_DRAIN_S = 60.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0
IMPORT_TIMEOUT_S = 180.0
REWARD = 10**18
SEED = 20_240_601
WINDOWS = 5


@dataclass(frozen=True)
class Mode:
    contributors: int
    labelers: int
    duration_s: float
    tasks: int
    ramp_s: float
    drain_limit_s: float
    probe_interval_s: float


FULL = Mode(
    contributors=50, labelers=50, duration_s=300, tasks=12_000, ramp_s=10, drain_limit_s=300,
    probe_interval_s=1.0,
)  # fmt: skip
QUICK = Mode(
    contributors=10, labelers=10, duration_s=15, tasks=1_000, ramp_s=2, drain_limit_s=90,
    probe_interval_s=0.2,
)  # fmt: skip


# --- setup ----------------------------------------------------------------------------------------


def load_env(data_dir: Path, broker_url: str) -> dict[str, str]:
    return pipeline_env(data_dir) | {
        "DATABASE_URL": f"{PG_ADMIN_URL}/{LOAD_DB}",
        "CELERY_BROKER_URL": broker_url,
        "LOG_LEVEL": "WARNING",
    }


def start_broker(procs: Processes, logs: Path) -> str:
    """A redis-server of our own on a free loopback port, without persistence; its URL.

    Not a database of the shared server: test sessions flush their broker database when they
    start (``tests/conftest.py``), and on a machine shared by several runs one that picked the
    same number wiped messages in flight (contributions left unprocessed)."""
    import redis

    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not on the PATH (bin/services-up installs it)")
    port = _free_port()
    server = procs.start(
        "redis",
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        os.environ.copy(), logs,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return url
        except redis.RedisError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start:\n{server.log()[-2000:]}")
        time.sleep(0.05)


def broker_backlog() -> dict[str, int]:
    """Messages waiting in each queue (every list key: kombu keeps one per queue and priority)
    and messages delivered but not acknowledged yet (kombu's ``unacked`` hash)."""
    import redis

    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    found: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        if client.type(key) == b"list":
            name = key.decode(errors="replace").split("\x06", 1)[0]
            found[name] = found.get(name, 0) + int(client.llen(key))
    found["unacked"] = int(client.hlen("unacked"))
    return found


@dataclass
class World:
    tabular_id: int
    labeling_id: int
    contributor_tokens: list[str]
    labeler_tokens: list[str]
    owner_id: int


def build_world(mode: Mode) -> World:
    """The DAO, both datasets with their reward policies, the users, memberships and tokens."""
    import hashlib

    from contributions.tokens import api_token_create
    from datadao.models import DatasetKind, DatasetStatus, Role
    from datadao.services import (
        dao_create,
        dataset_create,
        dataset_set_status,
        membership_add,
        user_get_or_create,
    )
    from rewards.models import RewardPolicy

    def user(label: str) -> Any:
        address = "0x" + hashlib.sha256(f"datadao-bench-load-{label}".encode()).hexdigest()[:40]
        return user_get_or_create(address=address)[0]

    owner = user("owner")
    dao = dao_create(creator=owner, name="Load DAO", slug="load", token_symbol="LOAD")

    def dataset(kind: str, slug: str, schema: dict[str, Any]) -> Any:
        made = dataset_create(
            dao=dao, actor=owner, name=f"Load {slug}", slug=slug, kind=kind, schema=schema,
            license="CC-BY-4.0",
        )  # fmt: skip
        return dataset_set_status(dataset=made, actor=owner, status=DatasetStatus.OPEN)

    tabular = dataset(DatasetKind.TABULAR, "readings", CSV_SCHEMA)
    labeling = dataset(
        DatasetKind.LABELING, "sentiment", {"labels": LABELS, "overlap": 3, "item_kind": "text"}
    )
    RewardPolicy.objects.create(dataset=tabular, per_contribution=REWARD)
    RewardPolicy.objects.create(dataset=labeling, per_label=REWARD // 10)
    tokens: dict[str, list[str]] = {"contributor": [], "labeler": []}
    for kind, count in (("contributor", mode.contributors), ("labeler", mode.labelers)):
        for index in range(count):
            member = user(f"{kind}-{index}")
            membership_add(dao=dao, user=member, role=Role.CONTRIBUTOR, actor=owner)
            tokens[kind].append(api_token_create(user=member, name="load")[1])
    return World(
        tabular_id=tabular.pk,
        labeling_id=labeling.pk,
        contributor_tokens=tokens["contributor"],
        labeler_tokens=tokens["labeler"],
        owner_id=owner.pk,
    )


def import_tasks(world: World, count: int, scratch: Path) -> dict[str, Any]:
    """``count`` text items imported the product's way: ``label_import_create`` queues the
    file and a Celery worker reads it in; waits until it is done."""
    import csv

    from datadao.models import User
    from labeling.models import RunStatus
    from labeling.services import label_import_create

    source = scratch / "items.csv"
    with source.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        for n in range(count):
            writer.writerow([f"item-{n}", f"item {n}: what does this sentence feel like, {n}?"])
    owner = User.objects.get(pk=world.owner_id)
    started = time.perf_counter()
    job = label_import_create(
        dataset_id=world.labeling_id, actor=owner, source=source, file_name="items.csv", fmt="csv"
    )
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    while True:
        job.refresh_from_db()
        if job.status in (RunStatus.DONE, RunStatus.FAILED):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the item import is not done after {IMPORT_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    if job.status != RunStatus.DONE or job.rows_created != count:
        raise RuntimeError(
            f"the item import ended {job.status}: {job.rows_created}/{count}, {job.errors[:3]}"
        )
    return {"tasks": job.rows_created, "import_s": round(time.perf_counter() - started, 1)}


# Status, time in the worker (µs: from reading the request to the end of the response, so
# without the wait in the listen backlog), request line.
ACCESS_LOG_FORMAT = '%(s)s %(D)s "%(r)s"'


def gunicorn_argv(port: int) -> list[str]:
    """``bench.web``'s server: sync workers, access log on stdout (status, time in the worker and
    request of every answer)."""
    return [
        str(Path(sys.executable).with_name("gunicorn")), "datadao.wsgi",
        "-w", str(GUNICORN_WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "120",
        "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT, "--no-control-socket",
    ]  # fmt: skip


def stop_together(items: list[Started], signum: int = signal.SIGTERM) -> None:
    """``signum`` to every process at once, so their shutdowns overlap (``Processes.stop`` then
    waits for each in turn). SIGTERM: warm shutdown; SIGQUIT: quick (gunicorn) or cold (Celery)
    shutdown, for when nothing is left in flight."""
    for item in items:
        if item.process.poll() is None:
            item.process.send_signal(signum)


def stop_now(items: list[Started], grace_s: float = 1.0) -> None:
    """Quick (gunicorn) and cold (Celery) shutdown at once, then SIGKILL to the process group of
    any still running after ``grace_s``: only once nothing is left in flight (a Celery worker's
    cold shutdown alone takes seconds to close its pool and broker connection)."""
    stop_together(items, signal.SIGQUIT)
    deadline = time.monotonic() + grace_s
    for item in items:
        try:
            item.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(item.process.pid, signal.SIGKILL)
            item.process.wait(timeout=10)


def wait_web(base: str, web: Started, timeout: float = 120.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if web.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{web.log()[-4000:]}")
        try:
            # The first request imports the whole app: on a busy machine that takes a while.
            if requests.get(f"{base}/healthz", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s:\n{web.log()[-4000:]}")
        time.sleep(0.2)


# --- the load -------------------------------------------------------------------------------------


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            times = proc.cpu_times()
            total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def _bound(duration_s: float, pace: tuple[float, float]) -> int:
    """The most requests one user can make at this pace: a hard cap on the run's count."""
    return int(duration_s / max(pace[0], 0.05)) + 1


def generate(
    world: World, mode: Mode, args: argparse.Namespace, base: str, scratch: Path
) -> dict[str, Any]:
    """Run ``bench._load_users`` against ``base``; its result, and its CPU seconds."""
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
            [sys.executable, "-m", "bench._load_users", str(config_path), str(result_path)],
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
        "in_worker_ms": {name: _dist(values) for name, values in in_worker.items()},
        "gunicorn_tracebacks": text.count("Traceback"),
        "gunicorn_errors": text.count("[ERROR]"),
        "worker_tracebacks": worker_text.count("Traceback"),
        "worker_errors": worker_text.count("ERROR/"),
        "worker_retries": worker_text.count(" retry: "),
        "first_traceback": first,
    }


# --- report ---------------------------------------------------------------------------------------

OK_STATUS = {"upload": 201, "submit": 201, "next": 200, "healthz": 200}


def _dist(values: list[float]) -> dict[str, float]:
    return {k: round(v, 1) if k != "n" else v for k, v in dist(values).items()}


def requests_summary(result: dict[str, Any]) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    client_4xx: Counter[str] = Counter()
    no_answer: Counter[str] = Counter()
    fivexx: Counter[str] = Counter()
    for name, rows in result["samples"].items():
        statuses = Counter(str(status) for _, status, *_ in rows)
        endpoints[name] = {
            "requests": len(rows),
            "status": dict(sorted(statuses.items())),
            "ms_ok": _dist([ms for ms, status, *_ in rows if status == OK_STATUS[name]]),
        }
        for _, status, reason, _ in rows:
            if status == 0:
                no_answer[f"{name}: {reason}"] += 1
            elif 400 <= status < 500:
                client_4xx[f"{name} {status} {reason}"] += 1
            elif status >= 500:
                fivexx[f"{name} {status}"] += 1
    total = sum(e["requests"] for e in endpoints.values())
    seconds = result["load_s"]
    quota = {k: n for k, n in client_4xx.items() if " 429 " in k}
    return {
        "total": total,
        "per_s": round(total / seconds, 1),
        "endpoints": endpoints,
        "5xx": sum(fivexx.values()),
        "5xx_by_endpoint": dict(fivexx),
        "4xx_by_reason": dict(client_4xx),
        "429_quota": sum(quota.values()),
        "no_answer_by_reason": dict(no_answer),
    }


def _spread(values: list[float], digits: int = 2) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def windows_summary(result: dict[str, Any], mode: Mode) -> dict[str, Any]:
    """The load after the ramp (the warm-up) cut into ``WINDOWS`` equal windows by when each
    request started; per window and endpoint the p95 of its answers and its ratio to
    ``/healthz``'s p95 in the same window; median and min–max over the windows."""
    width = (mode.duration_s - mode.ramp_s) / WINDOWS
    per: list[dict[str, list[float]]] = [{name: [] for name in OK_STATUS} for _ in range(WINDOWS)]
    for name, rows in result["samples"].items():
        for ms, status, _, started in rows:
            if status != OK_STATUS[name] or started < mode.ramp_s:
                continue
            # A submit can start just after the end (its labeler was reading): the last window.
            index = min(WINDOWS - 1, int((started - mode.ramp_s) // width))
            per[index][name].append(ms)
    windows = []
    for window in per:
        p95 = {name: dist(values)["p95"] for name, values in window.items() if values}
        windows.append(
            {
                "requests": {name: len(values) for name, values in window.items()},
                "p95_ms": {name: round(v, 1) for name, v in p95.items()},
                "p95_vs_healthz": {
                    name: round(v / p95["healthz"], 2)
                    for name, v in p95.items()
                    if name != "healthz" and p95.get("healthz")
                },
            }
        )
    return {
        "warmup_s": mode.ramp_s,
        "width_s": round(width, 1),
        "windows": windows,
        "p95_ms": {
            name: _spread([w["p95_ms"][name] for w in windows if name in w["p95_ms"]], 1)
            for name in OK_STATUS
        },
        "p95_vs_healthz": {
            name: _spread(
                [w["p95_vs_healthz"][name] for w in windows if name in w["p95_vs_healthz"]]
            )
            for name in ("next", "submit", "upload")
        },
    }


def _p95_ratio(requests: dict[str, Any], name: str) -> float | None:
    p95 = requests["endpoints"][name]["ms_ok"].get("p95")
    ref = requests["endpoints"]["healthz"]["ms_ok"].get("p95")
    return round(p95 / ref, 2) if p95 and ref else None


def problems_of(summary: dict[str, Any]) -> list[str]:
    found = []
    req, checks = summary["requests"], summary["consistency"]
    if req["5xx"] or summary["server_logs"]["access_log_status"].get("5xx"):
        found.append(
            f"5xx: {req['5xx_by_endpoint']} (client), "
            f"{summary['server_logs']['access_log_status'].get('5xx', 0)} in the access log"
        )
    if req["no_answer_by_reason"]:
        found.append(f"requests without an answer: {req['no_answer_by_reason']}")
    unexpected = {k: n for k, n in req["4xx_by_reason"].items() if " 429 " not in k}
    if unexpected:
        found.append(f"unexpected 4xx: {unexpected}")
    if summary["load"]["dry_next"]:
        found.append(f"labelers found nothing to label {summary['load']['dry_next']} times")
    logs = summary["server_logs"]
    for key in ("gunicorn_tracebacks", "worker_tracebacks", "worker_errors"):
        if logs[key]:
            found.append(
                f"{logs[key]} {key.replace('_', ' ')}; the first: {logs['first_traceback']}"
            )
    contributions = checks["contributions"]
    if contributions["lost"] or contributions["stored_without_201"]:
        found.append(
            f"contributions answered 201 but not stored: {contributions['lost']}; stored "
            f"without a 201: {contributions['stored_without_201']}"
        )
    bad = {s: n for s, n in contributions["statuses"].items() if s in ("rejected", "failed")}
    if bad:
        found.append(
            f"contributions not pinned: {bad}; reasons {contributions['rejected_reasons']}, "
            f"failures {contributions['failures']}"
        )
    labels = checks["labels"]
    if labels["answered_201"] != labels["stored"]:
        found.append(
            f"labels answered 201 ({labels['answered_201']}) != stored ({labels['stored']})"
        )
    drained = summary["drain"]["seconds"]
    if drained is None or drained > TARGET_DRAIN_S:
        found.append(f"queue not drained within {TARGET_DRAIN_S:.0f} s of the end: {drained}")
    if not checks["invariants"]["ok"]:
        found.append(checks["invariants"]["violations"])
    return found


def markdown(summary: dict[str, Any]) -> str:
    load, req = summary["load"], summary["requests"]
    ends = req["endpoints"]

    def cell(name: str) -> str:
        d = ends[name]["ms_ok"]
        if not d.get("n"):
            return "none"
        return f"{d['p50']} / {d['p95']} / {d['p99']}"

    def worker(name: str) -> str:
        d = summary["server_logs"]["in_worker_ms"].get(name, {})
        return f"{d['p50']} / {d['p95']}" if d.get("n") else "none"

    drain = summary["drain"]
    win = summary["windows"]

    def ratio(name: str) -> str:
        r = win["p95_vs_healthz"][name]
        if not r.get("n"):
            return "none"
        whole = summary["ratios"][f"{name}_p95_vs_healthz"]
        return f"{r['median']} ({r['min']}–{r['max']}; {r['n']} windows); whole load {whole}"

    lines = [
        f"{load['contributors']} contributors + {load['labelers']} labelers for "
        f"{load['duration_s']:.0f} s against {summary['server']}; {summary['workers']}. "
        f"Machine {100 * summary['cpu']['machine_busy_share']:.0f} % busy during the load "
        f"({summary['cpus']} CPUs, shared: figures under contention).",
        "",
        f"Ratios: per window of {win['width_s']} s after a {win['warmup_s']:.0f} s ramp, median "
        "(min–max) over the windows.",
        "",
        "| figure | client p50 / p95 / p99 ms | p95 / healthz p95 | in the worker p50 / p95 ms |",
        "| --- | --- | --- | --- |",
        f"| `next` ({ends['next']['ms_ok']['n']} with a task) | {cell('next')} | "
        f"{ratio('next')} | {worker('next')} |",
        f"| submit ({ends['submit']['ms_ok']['n']}) | {cell('submit')} | "
        f"{ratio('submit')} | {worker('submit')} |",
        f"| upload accept ({ends['upload']['ms_ok']['n']}) | {cell('upload')} | "
        f"{ratio('upload')} | {worker('upload')} |",
        f"| `/healthz` (reference) | {cell('healthz')} | 1 | {worker('healthz')} |",
        f"| requests | {req['total']} ({req['per_s']}/s); 5xx {req['5xx']}; 4xx "
        f"{req['4xx_by_reason'] or 0}; 429 quota {req['429_quota']}; no answer "
        f"{req['no_answer_by_reason'] or 0} | | |",
        f"| throughput | {summary['throughput']['uploads_accepted_per_s']} uploads accepted/s, "
        f"{summary['throughput']['labels_per_s']} labels/s | | |",
        f"| drain after the end | "
        f"{'NOT drained' if drain['seconds'] is None else str(drain['seconds']) + ' s'} "
        f"(target ≤ {TARGET_DRAIN_S:.0f} s); backlog first seen "
        f"{drain['at_first_poll']['unfinished_contributions']} unfinished, broker "
        f"{drain['at_first_poll']['broker']} | | |",
        f"| invariants | {'pass' if summary['consistency']['invariants']['ok'] else 'FAIL'}: "
        f"{summary['consistency']['contributions']['statuses']} | | |",
    ]
    lines += [f"PROBLEM: {p}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, mode: Mode, scratch: Path, procs: Processes) -> dict[str, Any]:
    started = time.perf_counter()
    logs = scratch / "logs"
    logs.mkdir()
    env = load_env(scratch / "data", start_broker(procs, logs))
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    admin(f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")
    # The workers and the web server boot (imports, mostly) while the database is made:
    # neither touches it before it is asked to work.
    workers = start_workers(procs, CELERY_WORKERS, env, logs, "load")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web = procs.start("gunicorn", gunicorn_argv(port), env, logs)
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
    wait_web(base, web)
    wait_ready(workers)
    steps["servers_ready_after_that"] = time.perf_counter() - mark
    items = import_tasks(world, mode.tasks, scratch)
    steps["import"] = items["import_s"]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    backlog = broker_backlog()
    if any(backlog.values()):
        raise RuntimeError(f"the broker is not empty before the load: {backlog}")
    setup_s = time.perf_counter() - started
    print(f"set up in {setup_s:.0f} s; load for {mode.duration_s:.0f} s", file=sys.stderr)
    cpu_before = {
        "web": _tree_cpu_s(web.process.pid),
        "celery": sum(_tree_cpu_s(w.process.pid) for w in workers),
    }
    busy_before, load_before = _busy(), os.getloadavg()[0]
    result = generate(world, mode, args, base, scratch)
    busy_after = _busy()
    cpu = {
        "web_s": round(_tree_cpu_s(web.process.pid) - cpu_before["web"], 1),
        "celery_s": round(
            sum(_tree_cpu_s(w.process.pid) for w in workers) - cpu_before["celery"], 1
        ),
        "load_generator_s": round(result["cpu_s"], 1),
        "machine_busy_s": round(busy_after[0] - busy_before[0], 1),
        "machine_busy_share": round(
            (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]), 3
        ),
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(f"load done in {result['load_s']:.0f} s; draining", file=sys.stderr)
    drained = drain(result["ended_at"], mode.drain_limit_s, workers)
    checks = consistency(world, result)
    mark = time.perf_counter()
    # Drained and checked: nothing is left to finish, so no warm shutdown to wait for.
    stop_now([web, *workers])
    procs.stop([web, *workers])
    steps_after = {"stop_servers": time.perf_counter() - mark}
    requests = requests_summary(result)
    summary: dict[str, Any] = {
        "benchmark": "load",
        "mode": "quick" if args.quick else "full",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "server": f"gunicorn datadao.wsgi -w {GUNICORN_WORKERS} (sync), DEBUG=false, loopback",
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
            "database": database,
            "labeling_tasks": items["tasks"],
            "import_s": items["import_s"],
        },
        "requests": requests,
        "ratios": {
            f"{name}_p95_vs_healthz": _p95_ratio(requests, name)
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
        "server_logs": server_logs(web, workers),
        "cpu": cpu,
        "timing_s": {
            "setup": round(setup_s, 1),
            "setup_steps": {k: round(v, 1) for k, v in steps.items()},
            "load": round(result["load_s"], 1),
            "drain_and_checks": round(drained["polled_s"] + checks["checked_s"], 1),
            "stop_servers": round(steps_after["stop_servers"], 1),
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
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
        summary = run(args, mode, scratch, procs)
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
            admin(f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")
            shutil.rmtree(scratch, ignore_errors=True)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
