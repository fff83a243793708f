"""``python -m bench.web``: the run, from the database to the summary (see the package's
docstring)."""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.web as package
from bench._db import (
    REDIS_URL,
    bench_env,
    create_database,
    drop_database,
    public_key,
    redis_size,
)
from bench._procs import (
    GUNICORN_WORKERS,
    Processes,
    Started,
    children,
    free_port,
    gunicorn_argv,
    status_kib,
    wait_healthy,
)
from bench._report import emit
from bench.web.measure import FULL, QUICK, Mode, markdown, measure
from bench.web.pages import pages
from bench.web.seed import CONTRIBUTORS, DAYS, seed, session_for

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH_DB = "datadao_bench_web"
TEMPLATE_DB = "datadao_bench_web_template"
REDIS_DB = 11
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def web_env(data_dir: Path) -> dict[str, str]:
    """The settings of the run: the embedded IPFS store, keys derived from public strings (they
    guard nothing), warnings only in the logs."""
    return bench_env(
        database=BENCH_DB,
        broker_url=f"{REDIS_URL}/{REDIS_DB}",
        data_dir=data_dir,
        log_level="WARNING",
        IPFS_BACKEND="embedded",
        VALIDATOR_KEY=public_key("datadao-bench-validator"),
        REWARD_SIGNER_KEY=public_key("datadao-bench-rewards"),
        PYTHONUNBUFFERED="1",
    )


def static_is_current() -> bool:
    """Whether ``collectstatic`` would change nothing the pages use: the manifest of the
    collected files names every file the finders list, and is newer than each of them."""
    from django.apps import apps
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    try:
        collected = json.loads(manifest.read_text())["paths"]
        built = manifest.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return False
    ignore = apps.get_app_config("staticfiles").ignore_patterns
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            name = path.replace(os.sep, "/")
            if name not in collected or os.stat(storage.path(path)).st_mtime > built:
                return False
    return True


def prepare(env: dict[str, str], steps: dict[str, float]) -> tuple[str, str]:
    """The database from its template with the demo DAO in it, an empty broker, the static files
    collected as ``bin/run`` does; how the database and the static files were made."""
    mark = time.perf_counter()
    drop_database(BENCH_DB)
    database = create_database(env, BENCH_DB, TEMPLATE_DB)
    redis_size(REDIS_DB, flush=True)
    steps["database"] = time.perf_counter() - mark
    import django

    django.setup()
    from django.core.management import call_command

    mark = time.perf_counter()
    call_command("demo", stdout=io.StringIO())
    steps["demo"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # As bin/run does: DEBUG=false serves the hashed, compressed files of the manifest.
    static = "up to date"
    if not static_is_current():
        call_command("collectstatic", interactive=False, verbosity=0)
        static = "collected"
    steps["static"] = time.perf_counter() - mark
    return database, static


def seed_and_measure(
    mode: Mode, server: Started, port: int, steps: dict[str, float], started: float
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float], float]:
    """The bulk data and the sessions (while gunicorn boots), then the measured requests; what
    the pages are about, the measurements, the workers' peak RSS and the setup's seconds."""
    from django.db import connections

    mark = time.perf_counter()
    about = seed(mode.contributions)
    cookies = {
        "anonymous": "",
        "creator": session_for(about["creator_id"]),
        "contributor": session_for(about["contributor_id"]),
    }
    connections.close_all()
    steps["seed"] = time.perf_counter() - mark
    base = f"http://127.0.0.1:{port}"
    steps["gunicorn_ready_after_that"] = wait_healthy(server, base, START_TIMEOUT, poll_s=0.1)
    setup_s = time.perf_counter() - started
    print(f"set up in {setup_s:.0f} s: {about['rows']}", file=sys.stderr)
    mark = time.perf_counter()
    measured = measure(base, pages(about), cookies, mode)
    steps["measure"] = time.perf_counter() - mark
    workers = children(server.process.pid)
    peak_rss = {str(pid): round(status_kib(pid, "VmHWM") / 1024, 1) for pid in workers}
    return about, measured, peak_rss, setup_s


def run(args: argparse.Namespace, mode: Mode, scratch: Path) -> dict[str, Any]:
    started = time.perf_counter()
    env = web_env(scratch / "data")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    steps: dict[str, float] = {}
    database, static = prepare(env, steps)
    from django.db import connections

    connections.close_all()
    port = free_port()
    procs = Processes()
    # Its workers boot (imports, mostly) while the bulk data goes in: they touch the database
    # only when asked, and the manifest of the static files is final.
    argv = gunicorn_argv(
        port, "-w", str(GUNICORN_WORKERS), "--timeout", "120", "--access-logfile", "-"
    )
    server = procs.start("gunicorn", argv, env, scratch, grace_s=STOP_TIMEOUT)
    try:
        about, measured, peak_rss, setup_s = seed_and_measure(mode, server, port, steps, started)
    finally:
        mark = time.perf_counter()
        procs.stop_all()
        steps["stop"] = time.perf_counter() - mark
    problems = measured["problems"]
    if problems:
        print(server.log()[-3000:], file=sys.stderr)
    return {
        "benchmark": "web",
        "mode": "quick" if args.quick else "full",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "server": f"gunicorn config.wsgi -w {GUNICORN_WORKERS} (sync), DEBUG=false, "
        "persistent connections, loopback",
        "client": "requests, one keep-alive connection per user, sequential",
        "data": {
            "database": database,
            "static_files": static,
            "contributions_seeded": mode.contributions,
            "contributors_seeded": CONTRIBUTORS,
            "days": DAYS,
            **about,
        },
        "run": {"requests_per_round": mode.requests, "rounds": mode.repeat, "warmup": mode.warmup},
        "repetitions": {
            "warmup": mode.warmup,
            "measured": mode.repeat,
            "of": f"rounds of {mode.requests} requests per page, interleaved",
        },
        "pages": measured["pages"],
        "gunicorn_worker_peak_rss_mib": peak_rss,
        "timing_s": {
            "setup": round(setup_s, 1),
            "steps": {k: round(v, 1) for k, v in steps.items()},
            "total": round(time.perf_counter() - started, 1),
        },
        "problems": problems,
        "ok": not problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.web", description=package.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100k contributions instead of 1M")
    parser.add_argument("--requests", type=int, help="requests per page per round")
    parser.add_argument("--repeat", type=int, help="measured rounds after the warm-up")
    parser.add_argument("--json", type=Path, help="also write the JSON summary here")
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.requests is not None or args.repeat is not None:
        if (args.requests or 1) < 1 or (args.repeat or 1) < 1:
            parser.error("--requests and --repeat must be positive")
        mode = Mode(
            mode.contributions, args.requests or mode.requests, args.repeat or mode.repeat,
            mode.warmup,
        )  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="bench-web-"))
    keep = args.keep
    try:
        summary = run(args, mode, scratch)
    except BaseException:
        print(f"FAILED; the database {BENCH_DB} and {scratch} are kept", file=sys.stderr)
        keep = True
        raise
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        redis_size(REDIS_DB, flush=True)
        if not keep:
            drop_database(BENCH_DB)
            shutil.rmtree(scratch, ignore_errors=True)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1
