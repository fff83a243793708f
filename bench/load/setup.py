"""The load benchmark's platform: a broker of its own, the web server's arguments, the DAO
with its datasets, users and tokens, and the labeling items imported by the workers."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._db import PG_ADMIN_URL
from bench._procs import Processes, free_port, gunicorn_argv
from bench.load.config import BASELINE, IMPORT_TIMEOUT_S, LABELS, LOAD_DB, REWARD, Mode, Stack
from bench.pipeline.config import CSV_SCHEMA, pipeline_env


def load_env(data_dir: Path, broker_url: str) -> dict[str, str]:
    """``bench.pipeline``'s settings on this benchmark's database and broker. Logs at INFO:
    a worker's `` ready.`` line, which ``wait_ready`` waits for, is an INFO record of the root
    logger's handlers (Celery does not take the root logger over)."""
    return pipeline_env(data_dir) | {
        "DATABASE_URL": f"{PG_ADMIN_URL}/{LOAD_DB}",
        "CELERY_BROKER_URL": broker_url,
        "LOG_LEVEL": "INFO",
        # A label's settle message waits out the undo window (60 s by default) in the broker:
        # with it the drain could never be under 60 s, whatever the load. The drain measures
        # the work left, so the window is short here.
        "LABEL_UNDO_SECONDS": "5",
    }


def start_broker(procs: Processes, logs: Path) -> str:
    """A redis-server of our own on a free loopback port, without persistence; its URL.

    Not a database of the shared server: test sessions flush their broker database when they
    start (``tests/conftest.py``), and on a machine shared by several runs one that picked the
    same number wiped messages in flight (contributions left unprocessed)."""
    import redis

    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not on the PATH (bin/services-up installs it)")
    port = free_port()
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
KEEP_ALIVE_S = 75
ACCESS_LOG_FORMAT = '%(s)s %(D)s "%(r)s"'


def web_argv(port: int, stack: Stack = BASELINE) -> list[str]:
    """The server of ``stack`` (``BASELINE``: ``bench.web``'s, 2 sync workers), access log on
    stdout (status, time in the worker and request of every answer)."""
    # A threaded worker keeps connections alive between requests, 2 s by default: shorter than
    # a labeler's think time, so the server would close a connection just as the client sends
    # its next request on it, which then fails unanswered. Longer than any pause here.
    threads = (
        ["--threads", str(stack.threads), "--keep-alive", str(KEEP_ALIVE_S)]
        if stack.worker_class == "gthread"
        else []
    )
    return gunicorn_argv(
        port, "-w", str(stack.gunicorn_workers), "-k", stack.worker_class, *threads,
        "--timeout", "120", "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT,
        "--no-control-socket",
    )  # fmt: skip
