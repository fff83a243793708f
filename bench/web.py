"""Benchmark: web pages over HTTP (gunicorn, 2 workers) with 1M contributions in the database.

Run ``python -m bench.web [--quick] [--requests N] [--repeat R] [--json PATH] [--markdown PATH]
[--keep]``. Everything runs isolated from the test suite and from ``bin/run``: its own database
``datadao_bench_web`` (dropped and re-created as a copy of ``datadao_bench_web_template``, a
migrated database kept between runs and migrated afresh whenever a migration file or Django
changes: ``create_database``), Redis database 11 as the broker (flushed; nothing consumes it), a
temporary ``DATA_DIR``. Settings: the production module ``datadao.settings`` (``DEBUG=false``,
persistent connections) with the HTTPS redirect and secure cookies relaxed exactly as
``tests/settings.py`` does; static files collected as ``bin/run`` does, unless the collected
manifest already names every static file and is newer than all of them.

The data: the demo DAO (``manage.py demo``: members, a tabular, a files, a labeling and a
synthetic dataset, labeling tasks with labels), then, in SQL (``INSERT … SELECT
generate_series``), 300 more contributors with their memberships, 1,000,000 contributions
(``--quick``: 100,000) over the tabular and files datasets, their statuses (80 % pinned, 12 %
rejected, 2 % failed, 6 % in flight), scores and dates spread over 90 days, one contributor
(the demo's Alice) holding 2 % of them; a reward entry per pinned contribution, three closed
epochs (with an allocation per contributor) and an open one; then ``ANALYZE``.

``gunicorn datadao.wsgi -w 2`` serves it on a free loopback port (started before the bulk data
goes in, so that its workers boot meanwhile; ready once ``/healthz`` answers, within 60 s, or
the run fails; stopped in any case). Sessions for the DAO creator
and Alice are created directly in the database (``SessionStore``) and sent as cookies with
``requests`` (one keep-alive connection). After a warm-up, ``repeat`` rounds, each of
``requests`` sequential GETs of every page in turn: the home page, the DAO page, the tabular
dataset's page, ``/me/contributions`` (Alice, first page), ``/me/rewards`` (Alice), the
console dashboard ``/admin/dashboard/<slug>/`` (the creator) and ``/healthz`` (one
``SELECT 1`` through the same stack: the same-run reference). Reported per page: p50/p95 ms
(median, min, max over rounds) and the ratio of each to ``/healthz``'s of the same round, the
response size, and the gunicorn workers' peak RSS. Every response must be 200 and name what the
page is about; otherwise the run fails (exit status 1). The database is dropped at the end
unless ``--keep``. The quick run (100k contributions, 5 rounds of 8 requests per page after 2
warm-up rounds) takes about 30 s on a 2-core machine, the setup about half of it. JSON to stdout
(and ``--json``), a markdown table with ``--markdown``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._report import emit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "datadao_bench_web"
TEMPLATE_DB = "datadao_bench_web_template"
REDIS_DB = 11
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"
CONTRIBUTORS = 300
DAYS = 90
HEAVY_SHARE = 50  # every 50th contribution is the heavy contributor's: 2 %
WORKERS = 2
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Mode:
    contributions: int
    requests: int
    repeat: int
    warmup: int


FULL = Mode(contributions=1_000_000, requests=20, repeat=5, warmup=5)
QUICK = Mode(contributions=100_000, requests=8, repeat=5, warmup=2)


# --- setup ----------------------------------------------------------------------------------------


def bench_env(data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "datadao.settings",
        "DATABASE_URL": f"{PG_ADMIN_URL}/{BENCH_DB}",
        "CELERY_BROKER_URL": f"{REDIS_URL}/{REDIS_DB}",
        "DATA_DIR": str(data_dir),
        "IPFS_BACKEND": "embedded",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        # Keys derived from public strings: they guard nothing.
        "VALIDATOR_KEY": "0x" + hashlib.sha256(b"datadao-bench-validator").hexdigest(),
        "REWARD_SIGNER_KEY": "0x" + hashlib.sha256(b"datadao-bench-rewards").hexdigest(),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}").flushdb()


def manage(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def migrations_fingerprint() -> str:
    """What the migrated schema depends on: Django's version and every migration file here."""
    import django

    digest = hashlib.sha256(django.__version__.encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def _template_fingerprint(template: str) -> str | None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [template],
        ).fetchone()
    return row[0] if row else None


def create_database(env: dict[str, str], database: str, template: str) -> str:
    """``database``, migrated: a copy of ``template`` (``CREATE DATABASE … TEMPLATE``, about a
    second instead of the seconds of ``migrate``), which is made again, migrated and labelled
    with ``migrations_fingerprint`` whenever a migration (or Django) changed. Says which."""
    fingerprint = migrations_fingerprint()
    how = "copied from the migrated template"
    if _template_fingerprint(template) != fingerprint:
        admin(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        admin(f"CREATE DATABASE {template}")
        template_env = env | {"DATABASE_URL": f"{PG_ADMIN_URL}/{template}"}
        manage(template_env, "migrate", "--no-input", "--skip-checks")
        admin(f"COMMENT ON DATABASE {template} IS '{fingerprint}'")
        how = "migrated (template made afresh)"
    admin(f"CREATE DATABASE {database} TEMPLATE {template}")
    return how


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


SEED_SQL = """
INSERT INTO contributions_contribution (
    dataset_id, contributor_id, status, sha256, size, media_type, original_name, storage_name,
    signature, signed, reasons, report, authenticity, ownership, quality, uniqueness, score,
    validator_version, review, cid, failure, attempts, created_at, status_changed_at
)
SELECT
    CASE WHEN g %% 5 < 3 THEN %(tabular)s ELSE %(files)s END,
    CASE WHEN g %% %(heavy)s = 0 THEN %(heavy_user)s
         ELSE (%(users)s::bigint[])[1 + (g * 7919) %% cardinality(%(users)s::bigint[])] END,
    s.status,
    encode(sha256(('bench-web-' || g)::bytea), 'hex'),
    1000 + (g * 104729) %% 5000000,
    CASE WHEN g %% 5 < 3 THEN 'text/csv' ELSE 'image/png' END,
    'file-' || g || CASE WHEN g %% 5 < 3 THEN '.csv' ELSE '.png' END,
    'bench-' || g,
    '', g %% 3 = 0,
    CASE WHEN s.status = 'rejected' THEN '["a value is out of range"]' ELSE '[]' END::jsonb,
    '{}'::jsonb,
    CASE WHEN s.scored THEN 10000 END,
    CASE WHEN s.scored THEN (CASE WHEN g %% 3 = 0 THEN 10000 ELSE 0 END) END,
    CASE WHEN s.scored THEN 5000 + (g * 31) %% 5001 END,
    CASE WHEN s.scored THEN 7000 + (g * 17) %% 3001 END,
    CASE WHEN s.scored THEN 4000 + (g * 13) %% 6001 END,
    CASE WHEN s.scored THEN 1 END,
    '',
    CASE WHEN s.status = 'pinned' THEN 'bafkrei' || substr(md5(g::text), 1, 20) ELSE '' END,
    CASE WHEN s.status = 'failed' THEN 'bench: gave up after 5 attempts' ELSE '' END,
    CASE WHEN s.status = 'failed' THEN 5 ELSE 1 END,
    t.at,
    t.at + interval '30 seconds'
FROM generate_series(1::bigint, %(n)s) AS g
CROSS JOIN LATERAL (
    SELECT now() - make_interval(secs => ((g::bigint * 2654435761) %% (%(days)s * 86400))::float8)
        AS at
) AS t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN g %% 100 < 80 THEN 'pinned'
        WHEN g %% 100 < 92 THEN 'rejected'
        WHEN g %% 100 < 94 THEN 'failed'
        WHEN g %% 100 < 96 THEN 'received'
        WHEN g %% 100 < 97 THEN 'validating'
        WHEN g %% 100 < 98 THEN 'accepted'
        ELSE 'pinning'
    END AS status, g %% 100 < 92 OR g %% 100 >= 97 AS scored
) AS s
"""


def seed(n: int) -> dict[str, Any]:
    """Bulk data on top of the demo DAO; returns what the pages are about."""
    from django.db import connection, transaction

    from datadao.demo import DEMO_DAO_SLUG, demo_address
    from datadao.models import DAO, Dataset, Membership, Role, User
    from rewards.models import Epoch, EpochStatus

    dao = DAO.objects.get(slug=DEMO_DAO_SLUG)
    creator = User.objects.get(address=demo_address("creator"))
    alice = User.objects.get(address=demo_address("alice"))
    tabular = Dataset.objects.get(dao=dao, slug="air-readings")
    files = Dataset.objects.get(dao=dao, slug="street-photos")
    timing: dict[str, float] = {}
    with transaction.atomic():
        started = time.perf_counter()
        users = User.objects.bulk_create(
            User(address=demo_address(f"bench-{i}"), display_name=f"Bench {i}")
            for i in range(CONTRIBUTORS)
        )
        Membership.objects.bulk_create(
            Membership(dao=dao, user=u, role=Role.CONTRIBUTOR) for u in users
        )
        user_ids = [u.pk for u in users]
        with connection.cursor() as cursor:
            cursor.execute(
                SEED_SQL,
                {
                    "tabular": tabular.pk, "files": files.pk, "heavy_user": alice.pk,
                    "users": user_ids, "n": n, "heavy": HEAVY_SHARE, "days": DAYS,
                },
            )  # fmt: skip
            timing["contributions"] = time.perf_counter() - started
            started = time.perf_counter()
            # Epochs: three closed, 30 days each, and the open one; a credit per pinned
            # contribution in the epoch of its day.
            Epoch.objects.filter(dao=dao).delete()
            now = time.time()
            epochs = []
            for number in (1, 2, 3):
                epochs.append(
                    Epoch.objects.create(
                        dao=dao,
                        number=number,
                        status=EpochStatus.CLOSED,
                        opened_at=_ts(now - (DAYS - 30 * (number - 1)) * 86400),
                        closed_at=_ts(now - (DAYS - 30 * number) * 86400 + 60),
                        root="0x" + hashlib.sha256(f"epoch-{number}".encode()).hexdigest(),
                    )
                )
            open_epoch = Epoch.objects.create(dao=dao, number=4, opened_at=_ts(now - 60))
            cursor.execute(
                """
                INSERT INTO rewards_rewardentry (
                    dao_id, dataset_id, account_id, amount, reason, source_type, source_id,
                    epoch_id, created_at
                )
                SELECT %(dao)s, c.dataset_id, c.contributor_id, c.score::numeric * 10^14,
                       'contribution', 'bench-contribution', c.id::text,
                       CASE
                           WHEN c.status_changed_at < %(e1)s THEN %(id1)s
                           WHEN c.status_changed_at < %(e2)s THEN %(id2)s
                           WHEN c.status_changed_at < %(e3)s THEN %(id3)s
                           ELSE %(open)s
                       END,
                       c.status_changed_at
                FROM contributions_contribution c
                WHERE c.status = 'pinned' AND c.storage_name LIKE 'bench-%%'
                """,
                {
                    "dao": dao.pk, "open": open_epoch.pk,
                    **{f"e{i + 1}": e.closed_at for i, e in enumerate(epochs)},
                    **{f"id{i + 1}": e.pk for i, e in enumerate(epochs)},
                },
            )  # fmt: skip
            cursor.execute(
                """
                INSERT INTO rewards_allocation (epoch_id, account, amount, tree_index, proof)
                SELECT r.epoch_id, u.address, sum(r.amount),
                       row_number() OVER (PARTITION BY r.epoch_id ORDER BY u.address) - 1,
                       jsonb_build_array(
                           '0x' || encode(sha256(u.address::bytea), 'hex'),
                           '0x' || encode(sha256((u.address || 'x')::bytea), 'hex')
                       )
                FROM rewards_rewardentry r JOIN datadao_user u ON u.id = r.account_id
                WHERE r.epoch_id = ANY(%(closed)s)
                GROUP BY r.epoch_id, u.address
                """,
                {"closed": [e.pk for e in epochs]},
            )
            cursor.execute(
                "UPDATE rewards_epoch e SET total = coalesce("
                "(SELECT sum(amount) FROM rewards_allocation a WHERE a.epoch_id = e.id), 0) "
                "WHERE e.dao_id = %s",
                [dao.pk],
            )
            timing["rewards"] = time.perf_counter() - started
    # What beat's fold_tallies would have done by the time anyone looks: the seed's one big
    # insert left its tally changes as deltas.
    from contributions.tasks import fold_tallies

    started = time.perf_counter()
    timing["tally_deltas_folded"] = fold_tallies()
    timing["tally_fold"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        rows = {}
        for table in (
            "contributions_contribution",
            "rewards_rewardentry",
            "rewards_allocation",
            "labeling_labeltask",
            "labeling_label",
            "datadao_membership",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            rows[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM contributions_contribution WHERE contributor_id = %s", [alice.pk]
        )
        alice_count = cursor.fetchone()[0]
    timing["analyze"] = time.perf_counter() - started
    return {
        "dao": dao.slug,
        "dao_name": dao.name,
        "dataset": tabular.slug,
        "dataset_name": tabular.name,
        "creator_id": creator.pk,
        "contributor_id": alice.pk,
        "contributor_contributions": alice_count,
        "rows": rows,
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
    }


def _ts(epoch_seconds: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)


def session_for(user_id: int) -> str:
    """A signed-in session, as ``login()`` leaves it, stored where the settings say."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from datadao.models import User

    user = User.objects.get(pk=user_id)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key


# --- server ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn, started; ``wait_healthy`` says when it answers."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log, "wb") as out:
        return subprocess.Popen(
            [
                str(gunicorn), "datadao.wsgi", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
                "--timeout", "120", "--access-logfile", "-",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> float:
    """Poll ``/healthz`` until it answers 200 (the first request imports the whole app: on a
    busy machine that takes a while), up to ``START_TIMEOUT``; the seconds it took. Raises if
    gunicorn exits or never answers (the caller stops it)."""
    import requests

    started = time.monotonic()
    deadline = started + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(
                f"gunicorn did not answer in {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}"
            )
        try:
            reply = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=max(1.0, left))
            if reply.status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.1)


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful), SIGKILL after 20 s; then the whole process group, so no worker the
    arbiter left behind survives."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- measurement ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spread(values: list[float], digits: int = 2) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def measure(
    base: str, pages: list[dict[str, Any]], cookies: dict[str, str], mode: Mode
) -> dict[str, Any]:
    import requests

    sessions = {}
    for who, key in cookies.items():
        sessions[who] = requests.Session()
        if key:
            sessions[who].cookies.set("sessionid", key, domain="127.0.0.1", path="/")
    problems: list[str] = []

    def get(page: dict[str, Any]) -> tuple[float, int]:
        started = time.perf_counter()
        response = sessions[page["as"]].get(base + page["path"], allow_redirects=False, timeout=60)
        ms = 1000 * (time.perf_counter() - started)
        if response.status_code != 200:
            problems.append(f"{page['name']}: HTTP {response.status_code}")
        elif page["expect"] not in response.text:
            problems.append(f"{page['name']}: {page['expect']!r} not in the page")
        return ms, len(response.content)

    sizes: dict[str, int] = {}
    for _ in range(mode.warmup):
        for page in pages:
            _, sizes[page["name"]] = get(page)
    rounds: list[dict[str, dict[str, float]]] = []
    for round_no in range(mode.repeat):
        samples: dict[str, list[float]] = {p["name"]: [] for p in pages}
        for _ in range(mode.requests):
            for page in pages:  # interleaved: drift and noise touch every page alike
                samples[page["name"]].append(get(page)[0])
        rounds.append({n: {"p50": pct(v, 0.5), "p95": pct(v, 0.95)} for n, v in samples.items()})
        line = "  ".join(f"{n} {r['p50']:.1f}/{r['p95']:.1f}" for n, r in rounds[-1].items())
        print(f"round {round_no + 1} p50/p95 ms: {line}", file=sys.stderr)
    out: dict[str, Any] = {}
    for page in pages:
        name = page["name"]
        entry: dict[str, Any] = {"path": page["path"], "as": page["as"], "bytes": sizes[name]}
        for q in ("p50", "p95"):
            entry[f"{q}_ms"] = spread([r[name][q] for r in rounds])
            entry[f"{q}_vs_healthz"] = spread([r[name][q] / r["healthz"][q] for r in rounds])
        out[name] = entry
    return {"pages": out, "problems": sorted(set(problems))}


def run(args: argparse.Namespace, mode: Mode, scratch: Path) -> dict[str, Any]:
    started = time.perf_counter()
    env = bench_env(scratch / "data")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    steps: dict[str, float] = {}
    mark = time.perf_counter()
    admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    database = create_database(env, BENCH_DB, TEMPLATE_DB)
    flush_redis()
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
    from django.db import connections

    connections.close_all()
    port = _free_port()
    log = scratch / "gunicorn.log"
    # Its workers boot (imports, mostly) while the bulk data goes in: they touch the database
    # only when asked, and the manifest of the static files is final.
    proc = start_gunicorn(env, port, log)
    try:
        mark = time.perf_counter()
        about = seed(mode.contributions)
        cookies = {
            "anonymous": "",
            "creator": session_for(about["creator_id"]),
            "contributor": session_for(about["contributor_id"]),
        }
        connections.close_all()
        steps["seed"] = time.perf_counter() - mark
        steps["gunicorn_ready_after_that"] = wait_healthy(proc, port, log)
        setup_s = time.perf_counter() - started
        print(f"set up in {setup_s:.0f} s: {about['rows']}", file=sys.stderr)
        pages = [
            {"name": "healthz", "path": "/healthz", "as": "anonymous", "expect": "ok"},
            {"name": "home", "path": "/", "as": "anonymous", "expect": about["dao_name"]},
            {
                "name": "dao", "path": f"/daos/{about['dao']}/", "as": "anonymous",
                "expect": about["dao_name"],
            },
            {
                "name": "dataset", "path": f"/daos/{about['dao']}/{about['dataset']}/",
                "as": "anonymous", "expect": about["dataset_name"],
            },
            {
                "name": "me_contributions", "path": "/me/contributions", "as": "contributor",
                "expect": "file-",
            },
            {"name": "me_rewards", "path": "/me/rewards", "as": "contributor", "expect": "0x"},
            {
                "name": "console_dashboard", "path": f"/admin/dashboard/{about['dao']}/",
                "as": "creator", "expect": "chart-contributions",
            },
        ]  # fmt: skip
        mark = time.perf_counter()
        measured = measure(f"http://127.0.0.1:{port}", pages, cookies, mode)
        steps["measure"] = time.perf_counter() - mark
        workers = _children(proc.pid)
        peak_rss = {str(pid): round(_status_kib(pid, "VmHWM") / 1024, 1) for pid in workers}
    finally:
        mark = time.perf_counter()
        stop_gunicorn(proc)
        steps["stop"] = time.perf_counter() - mark
    problems = measured["problems"]
    if problems:
        print((scratch / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
    return {
        "benchmark": "web",
        "mode": "quick" if args.quick else "full",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "server": f"gunicorn datadao.wsgi -w {WORKERS} (sync), DEBUG=false, "
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


def markdown(summary: dict[str, Any]) -> str:
    data = summary["data"]
    run_ = summary["run"]
    lines = [
        f"{data['rows']['contributions_contribution']:,} contributions "
        f"({data['contributor_contributions']:,} of them the signed-in contributor's), "
        f"{summary['server']}; {run_['rounds']} rounds x {run_['requests_per_round']} requests "
        f"per page; median (min–max) over rounds.",
        "",
        "| page | p50 / healthz | p95 / healthz | p50 ms | p95 ms | KiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, p in summary["pages"].items():
        lines.append(
            f"| {name} `{p['path']}` | {p['p50_vs_healthz']['median']}x | "
            f"{p['p95_vs_healthz']['median']}x | {p['p50_ms']['median']} "
            f"({p['p50_ms']['min']}–{p['p50_ms']['max']}) | {p['p95_ms']['median']} "
            f"({p['p95_ms']['min']}–{p['p95_ms']['max']}) | {p['bytes'] / 1024:.0f} |"
        )
    lines += ["", f"gunicorn workers' peak RSS (MiB): {summary['gunicorn_worker_peak_rss_mib']}"]
    lines += [f"PROBLEM: {p}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
        flush_redis()
        if not keep:
            admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            shutil.rmtree(scratch, ignore_errors=True)
    table = markdown(summary)
    emit(summary, json_path=args.json, markdown_path=args.markdown, markdown=table, human=table)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
