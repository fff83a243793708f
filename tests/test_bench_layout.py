"""The benchmarks stay split and keep their command lines: no module under ``bench/`` over
MAX_LINES lines, and every ``python -m bench.<name>`` the README documents still answers with
the options it documents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# Every runnable benchmark with the options the README's table and the runner pass it.
COMMANDS = {
    "bench": ["--quick", "--only", "--json", "--markdown", "--merge"],
    "bench.ipfs_cid": ["--quick", "--node-api", "--json"],
    "bench.labeling_consensus": ["--quick", "--json"],
    "bench.labeling_types": ["--quick", "--json", "--markdown", "--no-peer"],
    "bench.rewards_merkle": ["--quick", "--json"],
    "bench.sealing": ["--quick", "--json"],
    "bench.synthetic": ["--quick", "--json"],
    "bench.pipeline": ["--quick", "--lanes", "--workers", "--compare-workers", "--json"],
    "bench.labeling_assign": ["--quick", "--json", "--markdown", "--keep", "--reuse", "--task"],
    "bench.web": ["--quick", "--keep", "--json", "--markdown"],
    "bench.load": [
        "--quick",
        "--keep",
        "--json",
        "--markdown",
        "--step",
        "--stacks",
        "--past-knee",
    ],
    "bench.chain": ["--quick", "--events", "--keep", "--json"],
    "bench.replay": ["--quick", "--contributions", "--keep", "--json"],
    "bench.near_duplicates": ["--quick", "--size", "--queries", "--keep", "--json"],
    "bench.labeling_run": ["--quick", "--labels", "--keep", "--json"],
    "bench.rewards_epoch": ["--quick", "--size", "--keep", "--json"],
}


def test_no_bench_module_is_over_the_limit() -> None:
    too_long = {}
    for path in sorted((ROOT / "bench").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            too_long[name] = lines
    assert not too_long, f"split these modules (over {MAX_LINES} lines): {too_long}"


def test_the_runner_runs_every_documented_benchmark() -> None:
    from bench.run import BENCHMARKS

    assert {f"bench.{spec.name}" for spec in BENCHMARKS} == set(COMMANDS) - {"bench"}


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_a_benchmark_keeps_its_command_line(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    missing = [option for option in COMMANDS[module] if option not in result.stdout]
    assert not missing, f"python -m {module} lost {missing}:\n{result.stdout}"
