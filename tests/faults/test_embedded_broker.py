"""The embedded broker (``datadao.broker``) under load and under a SIGKILL.

The soak: several producer processes publish 10,000 messages while several real Celery worker
processes consume them; one worker is SIGKILLed mid-run. Every message must be recorded (at
least once: the task is idempotent), no surviving worker may log a CRITICAL, and nothing may be
left in the queue or in flight. No sweeper runs here: recovery is the broker's own.

The same soak on kombu's stock filesystem transport loses the killed worker's messages (it
deletes a message as it reads it), and its producers' create-then-write leaves a window in
which a consumer reads an empty file and dies on a JSONDecodeError (celery/kombu#1551); the
window is shown deterministically by ``test_a_message_file_still_being_written_*``.
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

from datadao import broker
from datadao.celeryconf import celery_settings
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


def test_the_stock_filesystem_transport_fails_the_same_soak(tmp_path: Path) -> None:
    """kombu's stock transport under the same load: its workers die on a half-written message
    (the race of celery/kombu#1551), and the messages they held are gone for good."""
    soak, elapsed, _ = run_soak(tmp_path, transport=STOCK_TRANSPORT, timeout=90)
    missing = set(range(MESSAGES)) - soak.recorded()
    crashed = [
        log.name
        for log in soak.logs
        if "CRITICAL celery.worker Unrecoverable error: JSONDecodeError"
        in log.read_text(errors="replace")
    ]
    print(f"stock: {len(missing)} never ran after {elapsed:.0f} s; crashed: {crashed}")
    assert missing, "the stock transport lost nothing: the soak no longer tells them apart"
    assert crashed, "no stock worker hit the half-written message in this run"


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
    with _channel(tmp_path, "datadao.broker:Transport") as connection:
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
