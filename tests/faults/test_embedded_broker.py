"""The embedded broker (``config.broker``) under load and under a SIGKILL.

The soak: several producer processes publish 10,000 messages while several real Celery worker
processes consume them; one worker is SIGKILLed mid-run. Every message must be recorded (at
least once: the task is idempotent), no surviving worker may log a CRITICAL, and nothing may be
left in the queue or in flight. No sweeper runs here: recovery is the broker's own.

kombu's stock filesystem transport fails this in two ways, each shown here deterministically on
one message: its producer creates a message file and then writes it, so a consumer can read it
empty and die on a JSONDecodeError (celery/kombu#1551:
``test_a_message_file_still_being_written_crashes_the_stock_reader``); and it deletes a message
as it reads it, so a consumer killed before the ack takes the message with it
(``test_a_killed_stock_consumers_message_is_gone``). ``run_soak(..., transport=STOCK_TRANSPORT)``
runs the soak itself on the stock transport; whether a given run shows the crash, the loss or
(rarely) neither depends on timing, so it is not an assertion here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection
from kombu.transport import filesystem

from config import broker
from config.celeryconf import celery_settings
from tests.fixtures_celery import ROOT

pytestmark = pytest.mark.worker

MESSAGES = 10_000
PRODUCERS = 4
WORKERS = 3
WORKER_CONCURRENCY = 2
STOCK_TRANSPORT = "kombu.transport.filesystem:Transport"


@dataclass
class Soak:
    data_dir: Path
    transport: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        return env | {
            "SOAK_DATA_DIR": str(self.data_dir),
            "SOAK_TRANSPORT": self.transport,
            "PYTHONUNBUFFERED": "1",
        }

    def start_worker(self) -> None:
        log = self.data_dir / f"worker-{len(self.workers)}.log"
        with log.open("wb") as out:
            self.workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "tests.faults.embedded_soak",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "-Q",
                        "default",
                        "--concurrency",
                        str(WORKER_CONCURRENCY),
                        "--hostname",
                        f"soak-{uuid.uuid4().hex[:6]}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.logs.append(log)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(" ready." in log.read_text(errors="replace") for log in self.logs):
                return
            time.sleep(0.2)
        pytest.fail("the soak workers did not start:\n" + self.tails())

    def produce(self) -> list[subprocess.Popen[bytes]]:
        share = MESSAGES // PRODUCERS
        return [
            subprocess.Popen(
                [sys.executable, "-m", "tests.faults.embedded_soak", str(i * share), str(share)],
                cwd=ROOT,
                env=self.env,
            )
            for i in range(PRODUCERS)
        ]

    def recorded(self) -> set[int]:
        return {int(name) for name in os.listdir(self.data_dir / "recorded")}

    def leftovers(self) -> list[str]:
        root = self.data_dir / "broker"
        return [
            str(path.relative_to(root))
            for folder in ("queue", "inflight")
            if (root / folder).exists()
            for path in (root / folder).rglob("*")
        ]

    def tails(self) -> str:
        return "\n".join(
            f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs
        )

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=5)


def run_soak(data_dir: Path, *, transport: str, timeout: float) -> tuple[Soak, float, bool]:
    """Produce MESSAGES from PRODUCERS processes into WORKERS workers, SIGKILL worker 0 once a
    fifth is recorded; wait until all are recorded, every worker is dead, or ``timeout``.
    Returns the soak, the seconds from the first publish to the end, and whether the SIGKILL
    happened."""
    soak = Soak(data_dir=data_dir, transport=transport)
    for _ in range(WORKERS):
        soak.start_worker()
    try:
        soak.wait_ready()
        started = time.monotonic()
        producers = soak.produce()
        killed = False
        while time.monotonic() - started < timeout:
            done = len(soak.recorded())
            if not killed and done >= MESSAGES // 5 and soak.workers[0].poll() is None:
                with contextlib.suppress(ProcessLookupError):  # it may just have crashed
                    os.killpg(soak.workers[0].pid, signal.SIGKILL)
                soak.workers[0].wait(timeout=10)
                killed = True
            if done >= MESSAGES or all(w.poll() is not None for w in soak.workers):
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        for producer in producers:
            assert producer.wait(timeout=30) == 0, "a producer failed"
    finally:
        soak.stop()
    return soak, elapsed, killed


def test_soak_many_producers_many_workers_one_killed_nothing_lost(tmp_path: Path) -> None:
    soak, elapsed, killed = run_soak(tmp_path, transport="", timeout=150)
    assert killed, "the soak ended before a worker could be killed"
    missing = set(range(MESSAGES)) - soak.recorded()
    assert not missing, (
        f"{len(missing)} of {MESSAGES} messages never ran (after {elapsed:.0f} s), e.g. "
        f"{sorted(missing)[:10]}\n{soak.tails()}"
    )
    for log in soak.logs[1:]:
        text = log.read_text(errors="replace")
        assert "CRITICAL" not in text, f"a surviving worker crashed:\n{text[-4000:]}"
    assert all(worker.returncode == 0 for worker in soak.workers[1:]), soak.tails()
    # The killed worker's claims went back to the queue and ran; the survivors left nothing.
    assert soak.leftovers() == []
    print(f"soak: {MESSAGES} messages in {elapsed:.1f} s with one worker killed")


def _channel(tmp_path: Path, transport: str) -> Connection:
    conf = celery_settings(broker_url="", result_backend="", data_dir=tmp_path)
    options = conf["CELERY_BROKER_TRANSPORT_OPTIONS"]
    for key in ("data_folder_in", "control_folder", "inflight_folder"):
        os.makedirs(options[key], exist_ok=True)
    return Connection("filesystem://", transport=transport, transport_options=options)


def _half_written(tmp_path: Path) -> Path:
    """A message file exactly as kombu's producer leaves it between ``open`` and ``write``."""
    path = (
        tmp_path / "broker" / "queue" / f"{int(time.monotonic() * 1000)}_{uuid.uuid4()}.default.msg"
    )
    path.touch()
    return path


def test_a_message_file_still_being_written_crashes_the_stock_reader(tmp_path: Path) -> None:
    with _channel(tmp_path, STOCK_TRANSPORT) as connection:
        channel = connection.default_channel
        assert isinstance(channel, filesystem.Channel)
        _half_written(tmp_path)
        with pytest.raises(ValueError, match="Expecting value"):
            channel._get("default")


def test_a_message_file_still_being_written_is_not_yet_there(tmp_path: Path) -> None:
    with _channel(tmp_path, "config.broker:Transport") as connection:
        channel = connection.default_channel
        assert isinstance(channel, broker.Channel)
        path = _half_written(tmp_path)
        with pytest.raises(Empty):
            channel._get("default")
        assert path.exists(), "the file goes back to the queue for when it is complete"
        message = {"body": "x", "properties": {"delivery_tag": "tag-1"}}
        path.write_bytes(json.dumps(message).encode())
        time.sleep(broker.RELIST_EVERY_SECONDS)
        assert channel._get("default") == message
        claimed = list((tmp_path / "broker" / "inflight").rglob("*.msg"))
        assert [p.name for p in claimed] == [path.name], "claimed, not deleted, until the ack"
        channel.qos.ack("tag-1")
        assert not claimed[0].exists()


# A consumer in its own process: claims one message, forks a child that lives on (as Celery's
# pool does), says what it took and the child's pid, then waits to be killed.
CLAIMER = """
import os, sys, time
from kombu import Connection
from config.celeryconf import celery_settings
from pathlib import Path
options = celery_settings(broker_url="", result_backend="", data_dir=Path(sys.argv[1]))[
    "CELERY_BROKER_TRANSPORT_OPTIONS"]
with Connection("filesystem://", transport=sys.argv[2],
                transport_options=options) as connection:
    body = connection.default_channel._get("default")["body"]
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print(body, child, flush=True)
    time.sleep(60)
"""


def test_a_killed_consumers_claim_goes_back_to_the_queue_and_a_live_ones_does_not(
    tmp_path: Path,
) -> None:
    """The consumer's forked child outlives it and must not keep its claim alive."""
    with _channel(tmp_path, "config.broker:Transport") as connection:
        channel = connection.default_channel
        channel._put("default", {"body": "m1", "properties": {"delivery_tag": "t1"}})
        claimer = subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(tmp_path), "config.broker:Transport"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert claimer.stdout is not None
            body, child = claimer.stdout.readline().split()
            assert body == "m1"
            queue = tmp_path / "broker" / "queue"
            assert list(queue.glob("*.msg")) == []  # claimed: out of the queue, not deleted
            assert channel.recover_dead_consumers() == 0  # alive: its claim is its own
            with pytest.raises(Empty):
                channel._get("default")
            claimer.kill()  # the consumer only: its child lives on
            claimer.wait(timeout=10)
            os.kill(int(child), 0)  # still alive
            # The child drops its inherited copy of the lock in its after-fork hook, which runs
            # once the kernel schedules it: on a busy machine that may be a moment after its
            # parent died. Recovery is retried by every sweep; what must not happen is the
            # child keeping the claim alive for its lifetime (60 s).
            moved, deadline = 0, time.monotonic() + 10
            while moved == 0 and time.monotonic() < deadline:
                moved = channel.recover_dead_consumers()
                if moved == 0:
                    time.sleep(0.05)
            assert moved == 1
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(claimer.pid, signal.SIGKILL)
            claimer.wait(timeout=10)
        time.sleep(broker.RELIST_EVERY_SECONDS)
        assert channel._get("default")["body"] == "m1"
        # The dead consumer's folder and lock file are gone; only this consumer's remain.
        inflight = sorted(p.name for p in (tmp_path / "broker" / "inflight").iterdir())
        assert inflight == sorted([channel._owner, f"{channel._owner}.lock"])


def test_a_file_that_never_becomes_a_message_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _channel(tmp_path, "config.broker:Transport") as connection:
        channel = connection.default_channel
        path = _half_written(tmp_path)
        path.write_bytes(b"{not json")
        old = time.time() - broker.CORRUPT_AFTER_SECONDS - 1
        os.utime(path, (old, old))
        with pytest.raises(Empty):
            channel._get("default")
        assert not path.exists()
        assert (tmp_path / "broker" / "corrupt" / path.name).read_bytes() == b"{not json"
        assert f"Unreadable broker message {path.name} set aside" in caplog.text


def test_a_killed_stock_consumers_message_is_gone(tmp_path: Path) -> None:
    """The stock transport deletes a message as it reads it: a consumer killed before the ack
    takes the message with it, and nothing can bring it back."""
    with _channel(tmp_path, STOCK_TRANSPORT) as connection:
        connection.default_channel._put("default", {"body": "m1", "properties": {}})
    claimer = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(tmp_path), STOCK_TRANSPORT],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert claimer.stdout is not None
        assert claimer.stdout.readline().split()[0] == "m1"
    finally:
        os.killpg(claimer.pid, signal.SIGKILL)
        claimer.wait(timeout=10)
    assert not list((tmp_path / "broker").rglob("*.msg")), "the message is somewhere"


def test_a_message_read_without_acks_leaves_no_claim_behind(tmp_path: Path) -> None:
    """Celery's remote control reads its queue with no_ack: a claim kept for it would never
    be released, and would be replayed when the consumer dies."""
    with _channel(tmp_path, "config.broker:Transport") as connection:
        channel = connection.default_channel
        channel._put("default", {"body": "m1", "properties": {"delivery_tag": "t1"}})
        time.sleep(broker.RELIST_EVERY_SECONDS)
        message = channel.basic_get("default", no_ack=True)
        assert message is not None and message.delivery_tag == "t1"
        assert not list((tmp_path / "broker").rglob("*.msg"))


def test_a_whole_file_that_is_not_a_message_is_set_aside_at_once(tmp_path: Path) -> None:
    with _channel(tmp_path, "config.broker:Transport") as connection:
        path = _half_written(tmp_path)
        path.write_bytes(b'["not", "a", "message"]')
        with pytest.raises(Empty):
            connection.default_channel._get("default")
        assert (tmp_path / "broker" / "corrupt" / path.name).exists()
