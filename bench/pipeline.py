"""Benchmark: the contribution pipeline end to end, on PostgreSQL + Redis, with real workers.

Run ``python -m bench.pipeline [--quick] [--json PATH] [--repeat R] [--workers 1,2,4] [--lanes
batch,express,stages] [--compare-workers 2] [--workdir DIR] [--keep]``. Everything runs
isolated from the test suite and from ``bin/run``: its own database ``datadao_bench`` (a copy
of ``datadao_bench_pipeline_template``, migrated once and made again when a migration changes),
Redis database 14 (flushed), a temporary ``DATA_DIR`` with the embedded IPFS store. Settings:
the production module ``datadao.settings`` (``DEBUG=false``, ``CONN_MAX_AGE`` at its production
default) with the HTTPS redirect and secure cookies relaxed exactly as ``tests/settings.py``
does, and an hourly quota no run can reach. The validator key is derived from a public string:
it guards nothing.

The lanes, each selected by settings (the uploading side reads them too):

* ``batch`` (the product's default): small uploads wait for a batch message (one per burst,
  the batch ticket); a worker claims up to ``PIPELINE_BATCH_SIZE`` of them and records them in
  one transaction (``contributions.batch``);
* ``express`` (``PIPELINE_BATCH_SIZE=1``): one message per upload, every stage in that delivery;
* ``stages`` (also ``PIPELINE_EXPRESS_MAX_BYTES=0``): one message per stage, as a file above
  the express limit takes.

For every lane and worker count (the first lane at ``--workers``, the others at
``--compare-workers``) a fleet of ``celery -A datadao worker --concurrency 1`` processes on all
queues is started (as ``tests/fixtures_celery.py`` does) and left standing, as the platform's
fleet is; its start-up (``fleets[].ready_s``) is not on a contribution's path. On it: a warm-up
round of each workload, then ``repeat`` measured rounds of each (CSV files of 100 rows, 64x64
seeded-noise PNGs), with fresh files in a fresh dataset so nothing is a duplicate:

* ``floor``: sha256 + one write + one fsync of each file into a fresh folder (files/s; the
  median of FLOOR_PASSES passes);
* ``submit``: each file staged (copied into the staging folder while hashed, as the upload
  handler does) and kept with ``contribution_receive``: the web side of an upload minus HTTP,
  one after another, while the fleet works;
* end to end: from the first submission until every contribution is final (pinned, rejected,
  failed), polling the database; ``tail_after_submit_s`` is the part after the last
  submission.

Rates are contributions/s (median, min, max over the repetitions) and ratios to the floor of
the same round; the per-contribution overhead beyond hashing and writing the bytes once is
``1/rate - 1/floor``. The first lane over each other lane's end-to-end rate is reported paired
by repetition. Per-task times come from the workers' "succeeded in" log lines of the round.

Then the web process: gunicorn (one sync worker) receives one large text file through
``POST /api/datasets/{id}/contributions`` with an API token, streamed by the CLI's multipart
body, ``repeat`` times. Its worker's peak RSS growth (VmHWM after a reset, minus VmRSS before)
is reported next to the upload size (target <= 64 MiB), and the upload rate next to the floor
of hashing and writing the same bytes once.

The JSON summary goes to stdout (and ``--json``), a short summary to stderr. The exit status is
1 when any contribution did not end ``pinned`` or a check failed: a benchmark of failed work
measures nothing. A stuck stage (no status change for STALL_SECONDS) or a dead worker aborts the
run with the worker's log; every process started here is stopped in any case, and the database
and temporary folder are then kept for inspection (``--keep`` keeps them after a success too).

On a 2-core machine ``--quick`` (batch lane, 1 and 2 workers, 100 CSVs and 30 PNGs, 5 rounds
each) takes about 45 s; the full mode (batch lane at 1, 2 and 4 workers, express and stages at
2, 1,000 CSVs and 200 PNGs, 5 rounds each, 1 GiB uploads) about 25 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._report import emit

ROOT = Path(__file__).resolve().parent.parent
SEED = 20_240_601
BENCH_DB = "datadao_bench"
TEMPLATE_DB = "datadao_bench_pipeline_template"
REDIS_DB = 14
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"
QUEUES = "default,validate,pin,synthetic,rewards"
FINAL = ("pinned", "rejected", "failed")
CSV_ROWS = 100
IMAGE_SIDE = 64
MIB = 1024 * 1024
TARGET_WEB_GROWTH_MIB = 64
WARM_SHUTDOWN_SECONDS = 10.0
FLOOR_PASSES = 3
STALL_SECONDS = 60

CSV_SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "id", "type": "int", "required": True, "min": 0},
        {"name": "value", "type": "float", "min": 0, "max": 100},
        {"name": "kind", "type": "category", "allowed": ["a", "b"]},
        {
            "name": "measured_at",
            "type": "datetime",
            "min": "2020-01-01T00:00:00+00:00",
            "max": "2030-01-01T00:00:00+00:00",
        },
        {"name": "note", "type": "string", "max_length": 64},
    ],
    "max_size": 10 * MIB,
}
PNG_SCHEMA: dict[str, Any] = {
    "media_types": ["image/png"],
    "max_size": 10 * MIB,
    "image": {"min_width": 4, "min_height": 4, "max_width": 4000, "max_height": 4000},
}


@dataclass(frozen=True)
class Mode:
    csv: int
    png: int
    repeat: int
    upload_mib: int


FULL = Mode(csv=1000, png=200, repeat=5, upload_mib=1024)
QUICK = Mode(csv=100, png=30, repeat=5, upload_mib=256)
# The lanes and the settings that select them (the bench's own process uses them too: the
# upload side decides whether a contribution waits for a batch).
LANES: dict[str, dict[str, str]] = {
    "batch": {},  # the product's defaults
    "express": {"PIPELINE_BATCH_SIZE": "1"},
    "stages": {"PIPELINE_BATCH_SIZE": "1", "PIPELINE_EXPRESS_MAX_BYTES": "0"},
}
WARMUP = {"csv": 20, "png": 5}


# --- deterministic inputs -------------------------------------------------------------------------


def write_csvs(folder: Path, count: int, first_id: int, rng: Any) -> list[Path]:
    """``count`` CSV files of CSV_ROWS rows; ids run on from ``first_id``, so every row of the
    run is distinct (and so every file)."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        base = first_id + index * CSV_ROWS
        values = rng.integers(0, 10_000, CSV_ROWS)
        kinds = rng.integers(0, 2, CSV_ROWS)
        minutes = rng.integers(0, 5 * 365 * 24 * 60, CSV_ROWS)
        notes = rng.integers(0, 1 << 40, CSV_ROWS)
        lines = ["id,value,kind,measured_at,note"]
        for r in range(CSV_ROWS):
            day, minute = divmod(int(minutes[r]), 24 * 60)
            stamp = (
                f"2021-{1 + day % 12:02d}-{1 + day % 28:02d}T{minute // 60:02d}:{minute % 60:02d}"
            )
            lines.append(
                f"{base + r},{values[r] / 100:.2f},{'ab'[kinds[r]]},{stamp}:00Z,n{notes[r]:x}"
            )
        path = folder / f"{base:09d}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def write_pngs(folder: Path, count: int, rng: Any) -> list[Path]:
    """``count`` IMAGE_SIDE-square RGB PNGs of seeded noise: distinct bytes and perceptual
    hashes about 32 bits apart, far from the near-duplicate distance."""
    from PIL import Image

    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        pixels = rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE, 3), dtype="uint8")
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, format="PNG")
        path = folder / f"{index:05d}.png"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def write_text(path: Path, size: int, seed: int = SEED) -> None:
    """``size`` bytes of seeded ASCII text (words and lines), written in 8 MiB steps."""
    import numpy as np

    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz      \n", dtype=np.uint8)
    with path.open("wb") as out:
        remaining = size
        while remaining:
            n = min(8 * MIB, remaining)
            out.write(alphabet[rng.integers(0, len(alphabet), n)].tobytes())
            remaining -= n


def min_phash_distance(paths: list[Path]) -> int:
    """The smallest perceptual-hash distance between two of the images (64 when < 2)."""
    import numpy as np

    from contributions.scoring import image_phash

    hashes = np.array([image_phash(p) for p in paths], dtype=np.int64).view(np.uint64)
    if len(hashes) < 2:
        return 64
    xor = np.bitwise_xor(hashes[:, None], hashes[None, :])
    bits = np.unpackbits(xor.view(np.uint8).reshape(len(hashes), len(hashes), 8), axis=2)
    distances = bits.sum(axis=2)
    np.fill_diagonal(distances, 64)
    return int(distances.min())


# --- floors ---------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def floor_seconds(paths: list[Path], scratch: Path) -> float:
    """sha256 + one write + one fsync of each file into a fresh folder."""
    target = Path(tempfile.mkdtemp(prefix="floor-", dir=scratch))
    try:
        start = time.perf_counter()
        for index, path in enumerate(paths):
            data = path.read_bytes()
            hashlib.sha256(data).digest()
            fd = os.open(target / str(index), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(target, ignore_errors=True)


def stream_floor_seconds(path: Path, scratch: Path, *, hash_it: bool) -> tuple[float, str]:
    """Read ``path`` in 1 MiB chunks and write it once to a fresh file, fsync at the end
    (hashing it too when ``hash_it``); returns (seconds, sha256 or "")."""
    target = scratch / f"floor-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    buf = bytearray(MIB)
    try:
        start = time.perf_counter()
        with open(path, "rb", buffering=0) as src:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                while n := src.readinto(buf):
                    chunk = memoryview(buf)[:n]
                    if hash_it:
                        digest.update(chunk)
                    _write_all(fd, chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
        return time.perf_counter() - start, digest.hexdigest() if hash_it else ""
    finally:
        target.unlink(missing_ok=True)


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Started:
    """A process this benchmark started, in its own session (process group)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WARM_SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # The group is ours (start_new_session): take down any child the parent left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Processes:
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> Started:
        log_path = logs / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        item = Started(name=name, process=process, log_path=log_path)
        self.started.append(item)
        return item

    def stop(self, items: list[Started]) -> None:
        for item in items:
            item.stop()
            if item in self.started:
                self.started.remove(item)

    def stop_all(self) -> None:
        self.stop(list(self.started))


def _status_kib(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/{pid}/status")


def _children(pid: int) -> list[int]:
    import psutil

    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def start_workers(
    procs: Processes, count: int, env: dict[str, str], logs: Path, tag: str
) -> list[Started]:
    workers = []
    for number in range(count):
        name = f"worker-{tag}-{number}"
        argv = [
            sys.executable, "-m", "celery", "-A", "datadao", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "-Q", QUEUES,
            "--hostname", f"bench-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        workers.append(procs.start(name, argv, env, logs))
    return workers


def wait_ready(workers: list[Started], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(workers)
    while pending:
        for worker in list(pending):
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} exited early:\n{worker.log()[-4000:]}")
            if " ready." in worker.log():
                pending.remove(worker)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending[0].name} not ready in {timeout:.0f} s")
        time.sleep(0.05)


_TASK_DONE = re.compile(r"Task (\S+?)\[[0-9a-f-]+\] succeeded in ([0-9.e-]+)s")


def task_times(logs: list[str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for text in logs:
        for name, seconds in _TASK_DONE.findall(text):
            times.setdefault(name.rsplit(".", 1)[-1], []).append(float(seconds))
    return times


# --- Django side (after setup) --------------------------------------------------------------------


@dataclass
class World:
    owner: Any
    member: Any
    dao: Any
    counter: int = 0

    def dataset(self, kind: str, schema: dict[str, Any], label: str) -> Any:
        from datadao.models import DatasetStatus
        from datadao.services import dataset_create, dataset_set_status

        self.counter += 1
        dataset = dataset_create(
            dao=self.dao,
            actor=self.owner,
            name=f"Bench {label} {self.counter}",
            slug=f"bench-{label}-{self.counter}",
            kind=kind,
            schema=schema,
            license="CC-BY-4.0",
        )
        return dataset_set_status(dataset=dataset, actor=self.owner, status=DatasetStatus.OPEN)


def make_world() -> World:
    from eth_account import Account

    from datadao.models import Role
    from datadao.services import dao_create, membership_add, user_get_or_create

    def address(label: str) -> str:
        return Account.from_key(hashlib.sha256(label.encode()).digest()).address

    owner, _ = user_get_or_create(address=address("datadao-bench-owner"))
    member, _ = user_get_or_create(address=address("datadao-bench-member"))
    dao = dao_create(creator=owner, name="Bench DAO", slug="bench", token_symbol="BNCH")
    membership_add(dao=dao, user=member, role=Role.CONTRIBUTOR, actor=owner)
    return World(owner=owner, member=member, dao=dao)


def stage(path: Path) -> Any:
    """Copy ``path`` into the staging folder, hashing it on the way, as the upload handler
    does with a request body (64 KiB chunks, Django's default)."""
    from contributions.uploads import StagedUpload, staging_dir

    fd, name = tempfile.mkstemp(prefix="upload-", dir=staging_dir())
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(65_536):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return StagedUpload(
        path=Path(name),
        sha256=digest.hexdigest(),
        size=size,
        client_name=path.name,
        client_content_type="",
    )


def submit(paths: list[Path], dataset: Any, member: Any) -> dict[str, float]:
    from contributions.services import contribution_receive

    staging = receiving = 0.0
    for path in paths:
        t0 = time.perf_counter()
        staged = stage(path)
        t1 = time.perf_counter()
        contribution_receive(dataset_id=dataset.pk, contributor=member, staged=staged)
        staging += t1 - t0
        receiving += time.perf_counter() - t1
    return {"stage_s": staging, "receive_s": receiving, "submit_s": staging + receiving}


def statuses(dataset_id: int) -> dict[str, int]:
    from django.db.models import Count

    from contributions.models import Contribution

    rows = (
        Contribution.objects.filter(dataset_id=dataset_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}


def wait_final(dataset_id: int, total: int, workers: list[Started], timeout: float) -> float:
    """Poll until all ``total`` contributions are final; fail on a dead worker, on no status
    change for STALL_SECONDS (a stuck stage) or after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_counts: dict[str, int] = {}
    last_change = time.monotonic()
    while True:
        counts = statuses(dataset_id)
        if sum(counts.get(s, 0) for s in FINAL) >= total:
            return time.perf_counter()
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} died:\n{worker.log()[-4000:]}")
        now = time.monotonic()
        if counts != last_counts:
            last_counts, last_change = counts, now
        elif now - last_change > STALL_SECONDS:
            raise RuntimeError(
                f"no progress for {STALL_SECONDS} s: {counts}\n{workers[0].log()[-4000:]}"
            )
        if now > deadline:
            raise RuntimeError(f"not final after {timeout:.0f} s: {counts}")
        time.sleep(0.1)


# --- one round ------------------------------------------------------------------------------------


@dataclass
class Bench:
    mode: Mode
    env: dict[str, str]
    scratch: Path
    procs: Processes
    world: World
    rng: Any
    next_id: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def files(self, kind: str, count: int) -> list[Path]:
        folder = self.scratch / "inputs" / uuid.uuid4().hex
        if kind == "csv":
            paths = write_csvs(folder, count, self.next_id, self.rng)
            self.next_id += count * CSV_ROWS
            return paths
        return write_pngs(folder, count, self.rng)

    def fleet(self, lane: str, workers: int) -> Fleet:
        """Start ``workers`` worker processes for ``lane`` and wait until they are ready."""
        env = self.env | LANES[lane]
        tag = f"{lane}-{workers}w"
        spawned = time.perf_counter()
        started = start_workers(self.procs, workers, env, self.scratch / "logs", tag)
        fleet = Fleet(lane=lane, workers=started, ready_s=0.0)
        try:
            wait_ready(started)
        except BaseException:
            self.procs.stop(started)
            raise
        fleet.ready_s = time.perf_counter() - spawned
        return fleet

    def round(self, fleet: Fleet, kind: str, rep: int | None) -> dict[str, Any]:
        """One measured (or, with rep None, warm-up) round on a standing fleet; its record."""
        from django.test import override_settings

        count = WARMUP[kind] if rep is None else getattr(self.mode, kind)
        workers = len(fleet.workers)
        paths = self.files(kind, count)
        record: dict[str, Any] = {
            "kind": kind,
            "lane": fleet.lane,
            "workers": workers,
            "rep": rep,
            "files": count,
            "bytes": sum(p.stat().st_size for p in paths),
        }
        if kind == "png":
            record["min_phash_distance"] = min_phash_distance(paths)
        # The floor takes well under a second against the pipeline's seconds: the median of a
        # few passes keeps one fsync stall on a shared disk from setting the round's ratio.
        record["floor_s"] = statistics.median(
            floor_seconds(paths, self.scratch) for _ in range(FLOOR_PASSES)
        )
        schema, dataset_kind = (CSV_SCHEMA, "tabular") if kind == "csv" else (PNG_SCHEMA, "files")
        dataset = self.world.dataset(dataset_kind, schema, kind)
        marks = [len(w.log()) for w in fleet.workers]
        lane_settings = {k: int(v) for k, v in LANES[fleet.lane].items()}
        start = time.perf_counter()
        with override_settings(**lane_settings):
            record |= submit(paths, dataset, self.world.member)
        submitted = time.perf_counter()
        done = wait_final(dataset.pk, count, fleet.workers, timeout=120 + 2.0 * count)
        record["worker_peak_rss_kib"] = [
            _status_kib(pid, "VmHWM") for w in fleet.workers for pid in _children(w.process.pid)
        ]
        logs = [w.log()[mark:] for w, mark in zip(fleet.workers, marks, strict=True)]
        record |= {
            "end_to_end_s": done - start,
            "tail_s": done - submitted,
            "statuses": statuses(dataset.pk),
            "task_s": task_times(logs),
            "log_errors": sum(text.count(" ERROR ") + text.count("Traceback") for text in logs),
        }
        shutil.rmtree(paths[0].parent, ignore_errors=True)
        tag = f"{kind}-{fleet.lane}-{workers}w-{'warmup' if rep is None else rep}"
        pinned = record["statuses"].get("pinned", 0)
        if pinned != count:
            self.problems.append(f"{tag}: {pinned}/{count} pinned: {record['statuses']}")
        if record["log_errors"]:
            self.problems.append(f"{tag}: {record['log_errors']} errors in the worker logs")
        print(
            f"{tag:>24}: {count / record['end_to_end_s']:6.1f} contributions/s end to end "
            f"(submit {count / record['submit_s']:6.1f}/s, tail {record['tail_s']:5.2f} s, "
            f"floor {count / record['floor_s']:7.1f} files/s) {record['statuses']}",
            file=sys.stderr,
        )
        return record


@dataclass
class Fleet:
    """Worker processes standing for one lane and worker count, as the platform's fleet."""

    lane: str
    workers: list[Started]
    ready_s: float


# --- web upload -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _upload(base: str, dataset_id: int, path: Path, token: str) -> tuple[float, dict[str, Any]]:
    import requests

    from datadao_cli.client import _Multipart

    body = _Multipart(path=path, fields={}, boundary=secrets.token_hex(16))
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={body.boundary}",
    }
    start = time.perf_counter()
    # The body object itself, not iter(body): requests then sends its len() as Content-Length.
    response = requests.post(
        f"{base}/api/datasets/{dataset_id}/contributions", data=body, headers=headers, timeout=900
    )
    seconds = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")
    return seconds, response.json()


def web_upload(bench: Bench, repeat: int) -> dict[str, Any]:
    import requests

    from contributions.tokens import api_token_create

    size = bench.mode.upload_mib * MIB
    big = bench.scratch / "upload.txt"
    small = bench.scratch / "warmup.txt"
    write_text(big, size)
    write_text(small, MIB, seed=SEED + 1)
    schema = {"media_types": ["text/plain"], "max_size": 2 * size}
    _, token = api_token_create(user=bench.world.member, name="bench")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [
        str(gunicorn), "datadao.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}",
        "--timeout", "900", "--no-control-socket",
    ]  # fmt: skip
    server = bench.procs.start("gunicorn", argv, bench.env, bench.scratch / "logs")
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{server.log()[-4000:]}")
            try:
                # The first request imports the whole app: give it time to answer.
                if requests.get(f"{base}/healthz", timeout=30).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in 60 s:\n{server.log()[-4000:]}")
            time.sleep(0.2)
        (worker_pid,) = _children(server.process.pid)
        # Warm-up: the first request imports the views, opens the database connection, etc.
        _upload(base, bench.world.dataset("files", schema, "upload").pk, small, token)

        runs = []
        for _ in range(repeat):
            floor_s, sha = stream_floor_seconds(big, bench.scratch, hash_it=True)
            write_s, _ = stream_floor_seconds(big, bench.scratch, hash_it=False)
            dataset = bench.world.dataset("files", schema, "upload")
            with open(f"/proc/{worker_pid}/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            rss_before = _status_kib(worker_pid, "VmRSS")
            seconds, reply = _upload(base, dataset.pk, big, token)
            growth = _status_kib(worker_pid, "VmHWM") - rss_before
            if reply["sha256"] != sha or reply["size"] != size:
                bench.problems.append(f"web upload stored {reply['size']} bytes {reply['sha256']}")
            runs.append(
                {"seconds": seconds, "floor_s": floor_s, "write_s": write_s, "growth_kib": growth}
            )
            _drop_upload(reply["id"])
            print(
                f"web upload {bench.mode.upload_mib} MiB: {size / MIB / seconds:6.1f} MiB/s "
                f"(floor {size / MIB / floor_s:6.1f} MiB/s), worker peak RSS growth "
                f"{growth / 1024:.1f} MiB",
                file=sys.stderr,
            )
    finally:
        bench.procs.stop([server])
    rates = [size / MIB / r["seconds"] for r in runs]
    floors = [size / MIB / r["floor_s"] for r in runs]
    growth_mib = max(r["growth_kib"] for r in runs) / 1024
    if growth_mib > TARGET_WEB_GROWTH_MIB:
        bench.problems.append(f"web worker grew {growth_mib:.1f} MiB during the upload")
    return {
        "upload_mib": bench.mode.upload_mib,
        "server": "gunicorn datadao.wsgi --workers 1 (sync) --timeout 900",
        "mib_s": summary(rates, 1),
        "floor_sha256_write_fsync_mib_s": summary(floors, 1),
        "floor_write_fsync_mib_s": summary([size / MIB / r["write_s"] for r in runs], 1),
        "ratio_vs_floor": ratios(rates, floors),
        "worker_peak_rss_growth_mib": round(growth_mib, 1),
        "worker_peak_rss_growth_per_run_mib": [round(r["growth_kib"] / 1024, 1) for r in runs],
        "target_growth_mib": TARGET_WEB_GROWTH_MIB,
        "target_met": growth_mib <= TARGET_WEB_GROWTH_MIB,
    }


def _drop_upload(contribution_id: int) -> None:
    """Free the disk the stored upload takes (its row stays; nothing processes it)."""
    from contributions.models import Contribution
    from contributions.services import contribution_file

    contribution_file(Contribution.objects.get(pk=contribution_id)).unlink(missing_ok=True)


# --- report ---------------------------------------------------------------------------------------


def summary(values: list[float], digits: int = 2) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


def ratios(values: list[float], floors: list[float]) -> dict[str, Any]:
    per_round = [v / f for v, f in zip(values, floors, strict=True)]
    return {
        "median": round(statistics.median(per_round), 4),
        "min": round(min(per_round), 4),
        "max": round(max(per_round), 4),
    }


def _stage_table(records: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, list[float]] = {}
    for record in records:
        for name, times in record["task_s"].items():
            merged.setdefault(name, []).extend(times)
    contributions = sum(r["files"] for r in records)
    table = {}
    for name, times in sorted(merged.items()):
        ordered = sorted(times)
        table[name] = {
            "tasks": len(times),
            "median_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
            "ms_per_contribution": round(1000 * sum(times) / contributions, 2),
        }
    return table


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = [r["files"] for r in records]
    floor = [c / r["floor_s"] for c, r in zip(n, records, strict=True)]
    e2e = [c / r["end_to_end_s"] for c, r in zip(n, records, strict=True)]
    submit_rate = [c / r["submit_s"] for c, r in zip(n, records, strict=True)]
    task_busy = [
        sum(sum(t) for t in r["task_s"].values()) / (r["workers"] * r["end_to_end_s"])
        for r in records
    ]
    status_total: dict[str, int] = {}
    for record in records:
        for status, count in record["statuses"].items():
            status_total[status] = status_total.get(status, 0) + count
    return {
        "contributions_per_round": n[0],
        "repetitions": len(records),
        "floor_files_s": summary(floor, 1),
        "end_to_end_contrib_s": summary(e2e),
        "end_to_end_ratio_vs_floor": ratios(e2e, floor),
        "end_to_end_overhead_ms_per_contribution": summary(
            [1000 * (1 / v - 1 / f) for v, f in zip(e2e, floor, strict=True)], 2
        ),
        "submit_contrib_s": summary(submit_rate),
        "tail_after_submit_s": summary([r["tail_s"] for r in records]),
        "submit_ms_per_contribution": {
            "stage": round(1000 * sum(r["stage_s"] for r in records) / sum(n), 3),
            "receive": round(1000 * sum(r["receive_s"] for r in records) / sum(n), 3),
        },
        "stages": _stage_table(records),
        "worker_busy_share": summary(task_busy, 3),
        "worker_peak_rss_mib": round(
            max(max(r["worker_peak_rss_kib"], default=0) for r in records) / 1024, 1
        ),
        "statuses": status_total,
        "all_pinned": status_total.get("pinned", 0) == sum(n),
    }


def report(bench: Bench, workers: list[int], lane: str) -> dict[str, Any]:
    measured = [r for r in bench.rounds if r["rep"] is not None and r["lane"] == lane]
    out: dict[str, Any] = {}
    counts = [c for c in workers if any(r["workers"] == c for r in measured)]
    for kind in ("csv", "png"):
        per_kind: dict[str, Any] = {}
        for count in counts:
            records = [r for r in measured if r["kind"] == kind and r["workers"] == count]
            per_kind[str(count)] = aggregate(records)
        if len(counts) > 1:
            base = per_kind[str(counts[0])]["end_to_end_contrib_s"]["median"]
            per_kind["end_to_end_speedup_vs_first"] = {
                str(c): round(per_kind[str(c)]["end_to_end_contrib_s"]["median"] / base, 3)
                for c in counts[1:]
            }
        if kind == "png":
            per_kind["min_phash_distance"] = min(
                r["min_phash_distance"] for r in measured if r["kind"] == "png"
            )
        out[kind] = per_kind
    return out


def lane_ratios(bench: Bench) -> dict[str, Any]:
    """The first lane's end-to-end rate over each other lane's, per workload and worker
    count, paired by repetition (the pairs run minutes apart on the same machine)."""
    measured = [r for r in bench.rounds if r["rep"] is not None]
    lanes = list(dict.fromkeys(r["lane"] for r in measured))
    out: dict[str, Any] = {}
    for other in lanes[1:]:
        for kind in ("csv", "png"):
            for count in sorted({r["workers"] for r in measured}):
                pairs = []
                for rep in sorted({r["rep"] for r in measured}):
                    rates = {
                        r["lane"]: r["files"] / r["end_to_end_s"]
                        for r in measured
                        if (r["kind"], r["workers"], r["rep"]) == (kind, count, rep)
                    }
                    if {lanes[0], other} <= rates.keys():
                        pairs.append(rates[lanes[0]] / rates[other])
                if pairs:
                    out[f"{lanes[0]}_vs_{other}/{kind}_{count}w"] = {
                        "median": round(statistics.median(pairs), 3),
                        "min": round(min(pairs), 3),
                        "max": round(max(pairs), 3),
                        "pairs": len(pairs),
                    }
    return out


# --- setup and main -------------------------------------------------------------------------------


def bench_env(data_dir: Path) -> dict[str, str]:
    validator_key = "0x" + hashlib.sha256(b"datadao-bench-validator").hexdigest()
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "datadao.settings",
        "DATABASE_URL": f"{PG_ADMIN_URL}/{BENCH_DB}",
        "CELERY_BROKER_URL": f"{REDIS_URL}/{REDIS_DB}",
        "DATA_DIR": str(data_dir),
        "IPFS_BACKEND": "embedded",
        "CONTRIBUTIONS_PER_HOUR": "1000000000",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "VALIDATOR_KEY": validator_key,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}").flushdb()


def database_context() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        found = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def run(args: argparse.Namespace, mode: Mode, scratch: Path, procs: Processes) -> dict[str, Any]:
    import numpy as np

    started = time.perf_counter()
    env = bench_env(scratch / "data")
    os.environ.update(env)
    (scratch / "logs").mkdir()
    drop_database()
    flush_redis()
    from bench.web import create_database

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
    setup_s = time.perf_counter() - started
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
                for rep in range(mode.repeat):
                    for kind in ("csv", "png"):
                        bench.rounds.append(bench.round(fleet, kind, rep))
            finally:
                bench.procs.stop(fleet.workers)
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
        "settings": "datadao.settings, DEBUG=false, SSL redirect/secure cookies off, "
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


def human(summary_: dict[str, Any]) -> str:
    lines = []
    for lane, per_lane in summary_["pipeline_by_lane"].items():
        for kind in ("csv", "png"):
            for count, entry in per_lane[kind].items():
                if not count.isdigit():
                    continue
                lines.append(
                    f"{kind} {lane} x{count} worker(s): end to end "
                    f"{entry['end_to_end_contrib_s']['median']}/s "
                    f"({entry['end_to_end_contrib_s']['min']}-"
                    f"{entry['end_to_end_contrib_s']['max']}; x"
                    f"{entry['end_to_end_ratio_vs_floor']['median']} of the floor "
                    f"{entry['floor_files_s']['median']} files/s; overhead "
                    f"{entry['end_to_end_overhead_ms_per_contribution']['median']} ms/contribution)"
                    f", submit {entry['submit_contrib_s']['median']}/s, statuses "
                    f"{entry['statuses']}"
                )
    web = summary_["web_upload"]
    lines.append(
        f"web upload {web['upload_mib']} MiB: {web['mib_s']['median']} MiB/s "
        f"(x{web['ratio_vs_floor']['median']} of sha256+write+fsync), worker peak RSS growth "
        f"{web['worker_peak_rss_growth_mib']} MiB (target <= {web['target_growth_mib']})"
    )
    for key, ratio in summary_.get("lane_ratios", {}).items():
        lines.append(f"{key}: x{ratio['median']} end to end ({ratio['min']}-{ratio['max']})")
    lines.append(f"total {summary_['timing_s']['total']} s; ok={summary_['ok']}")
    lines.extend(f"PROBLEM: {p}" for p in summary_["problems"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
            drop_database()
            flush_redis()
            shutil.rmtree(scratch, ignore_errors=True)
    emit(result, json_path=args.json, human=human(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
