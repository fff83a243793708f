"""The processes the benchmarks start, watch and stop, and what a process costs.

Every process a benchmark starts runs in its own session (process group), with its output in a
log file, so that stopping it takes down anything it forked and a failure can show the log:
``Processes`` keeps them and stops them in any case. Here too: the Celery worker fleet (as
``tests/fixtures_celery.py`` starts it), gunicorn and its readiness, the js-ipfs peer of
``bench.ipfs_cid``, and the Linux ``/proc`` readings the benchmarks report (peak RSS, CPU
seconds of a process, of a process tree, of the whole machine).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_SHUTDOWN_SECONDS = 10.0
# Every queue of the platform: a bench worker takes any task, as one process of a small fleet.
QUEUES = "default,validate,pin,synthetic,rewards,predict"
# gunicorn's sync workers in bench.web and bench.load: one per core of the 2-core machine.
GUNICORN_WORKERS = 2


# --- started processes ----------------------------------------------------------------------------


@dataclass
class Started:
    """A process a benchmark started, in its own session (process group)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    grace_s: float = WARM_SHUTDOWN_SECONDS

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), SIGKILL after ``grace_s``; then the whole group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # The group is ours (start_new_session): take down any child the parent left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Processes:
    """Every process a benchmark started and has not stopped yet."""

    started: list[Started] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        logs: Path,
        grace_s: float = WARM_SHUTDOWN_SECONDS,
    ) -> Started:
        """``argv`` from the repository root, its output in ``logs/<name>.log``."""
        log_path = logs / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        item = Started(name=name, process=process, log_path=log_path, grace_s=grace_s)
        self.started.append(item)
        return item

    def stop(self, items: list[Started]) -> None:
        for item in items:
            item.stop()
            if item in self.started:
                self.started.remove(item)

    def stop_all(self) -> None:
        self.stop(list(self.started))


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


# --- Celery workers -------------------------------------------------------------------------------


def start_workers(
    procs: Processes,
    count: int,
    env: dict[str, str],
    logs: Path,
    tag: str,
    options: tuple[str, ...] = (),
) -> list[Started]:
    """``count`` ``celery -A config worker --concurrency 1`` processes on every queue, with
    ``options`` added; they boot meanwhile (``wait_ready`` says when)."""
    workers = []
    for number in range(count):
        name = f"worker-{tag}-{number}"
        argv = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "-Q", QUEUES,
            "--hostname", f"bench-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", *options,
        ]  # fmt: skip
        workers.append(procs.start(name, argv, env, logs))
    return workers


def wait_ready(workers: list[Started], timeout: float = 90.0) -> None:
    """Until every worker has logged `` ready.``; raises with the log of one that exited."""
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


# --- gunicorn -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_argv(port: int, *options: str) -> list[str]:
    """``gunicorn config.wsgi`` of this virtual environment on a loopback ``port``."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", *options]


def wait_healthy(
    server: Started,
    base: str,
    timeout: float,
    *,
    accept: Callable[[int], bool] | None = None,
    poll_s: float = 0.2,
) -> float:
    """Poll ``{base}/healthz`` until it answers (200, or a status ``accept`` takes), up to
    ``timeout``; the seconds it took. The first request imports the whole app: on a busy
    machine that takes a while. Raises if the server exits or never answers (the caller stops
    it)."""
    import requests

    ok = accept or (lambda status: status == 200)
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log()[-4000:]}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(
                f"{server.name} did not answer in {timeout:.0f} s:\n{server.log()[-4000:]}"
            )
        try:
            if ok(requests.get(f"{base}/healthz", timeout=min(30.0, max(1.0, left))).status_code):
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(poll_s)


# --- the js-ipfs peer -----------------------------------------------------------------------------


@contextlib.contextmanager
def ipfs_peer(log: Any) -> Iterator[list[str]]:
    """The js-ipfs node of ``tests/ipfsnode`` as ``bench.ipfs_cid``'s peer, when it is
    installed: the arguments that name it; no arguments otherwise."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.ipfsnode import IpfsNode

        node = IpfsNode()
        node.start()
    except Exception as exc:  # not installed or does not start: the peer row is left out
        print(f"js-ipfs node not started ({exc}); ipfs_cid runs without its peer", file=log)
        yield []
        return
    try:
        yield ["--node-api", node.api_url]
    finally:
        node.close()


# --- what a process costs (Linux /proc) -----------------------------------------------------------


def status_kib(pid: int | str, field_name: str) -> int:
    """A KiB figure of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``); ``pid`` may be "self"."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/{pid}/status")


def reset_peak_rss(pid: int | str = "self") -> int:
    """Reset the RSS high-water mark (Linux >= 4.0); return the current RSS in KiB.

    Without the reset, ru_maxrss/VmHWM would still hold the peak reached before (imports,
    making the input) and hide any growth below it.
    """
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return status_kib(pid, "VmRSS")


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (a pool's or an arbiter's workers)."""
    import psutil

    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of one process on this machine so far; NaN once gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
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


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: two readings
    give the share of the machine busy in between (ours and everyone else's)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / tick, sum(values) / tick
