"""bin/respawn under honcho: a process that dies is started again, and the others keep running.

Real processes: honcho with a Procfile like the project's, a command that crashes, a command
that must not be stopped by that crash, and Ctrl-C (honcho's SIGTERM to each process group).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.fixtures_celery import ROOT

RESPAWN = ROOT / "bin" / "respawn"
HONCHO = ROOT / ".venv" / "bin" / "honcho"


def _wait_for(condition, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_crashing_process_is_restarted_and_does_not_stop_the_others(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    beacon = tmp_path / "beacon"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"crasher: {RESPAWN} sh -c 'echo x >> {starts}; sleep 0.3; exit 3'\n"
        f"steady: {RESPAWN} sh -c 'while :; do date +%s%N > {beacon}; sleep 0.2; done'\n"
    )
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [str(HONCHO), "-f", str(procfile), "start"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | {"RESPAWN_MIN_UPTIME": "0"},
            start_new_session=True,
        )
    try:
        restarted = _wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 3)
        assert restarted, log.read_text()
        assert honcho.poll() is None, f"honcho stopped:\n{log.read_text()}"
        before = beacon.read_text()
        assert _wait_for(lambda: beacon.read_text() != before, timeout=5), "steady stopped"
        assert "respawn: sh exited with code 3" in log.read_text()
        # Ctrl-C: everything stops, and nothing is started again.
        honcho.send_signal(signal.SIGINT)
        assert honcho.wait(timeout=15) is not None
        count = len(starts.read_text().split())
        time.sleep(1.5)
        assert len(starts.read_text().split()) == count, "started again after Ctrl-C"
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(timeout=5)


def test_quick_crashes_back_off(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    proc = subprocess.Popen(
        [str(RESPAWN), "sh", "-c", f"date +%s.%N >> {starts}; exit 1"],
        stderr=subprocess.PIPE,
        env=os.environ | {"RESPAWN_MIN_UPTIME": "10"},
        start_new_session=True,
    )
    try:
        assert _wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 3, 15)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    times = [float(t) for t in starts.read_text().split()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps  # 1 s, then 2 s
    assert b"starting it again in 2 s" in proc.stderr.read()


def test_the_procfile_runs_every_process_under_respawn() -> None:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert {line.split(":", 1)[0] for line in lines} == {"web", "worker", "beat"}
    assert all(line.split(":", 1)[1].split()[0] == "bin/respawn" for line in lines)
