"""Driving the labeling benchmark's child processes: the labelers and the settler started, each
round's phases run in lock step through one barrier, every labeler's result collected, the
settler waited for, and every child stopped in any case."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench._procs import machine_busy
from bench._stats import nearest_rank
from bench.labeling_assign.config import PHASE_TIMEOUT, SETTLE_TIMEOUT, USERS, Plan
from bench.labeling_assign.labeler import labeler_main
from bench.labeling_assign.settler import settler_main

PHASES = ("select_1", "commit_1", "label")


@dataclass
class Children:
    """The labeler processes, the settler, and what they share with this process: the barrier
    of the phases, the labelers' results, the settler's queue of task ids, its count of settled
    tasks and its report. ``settle_queue`` is None when consensus is off (no settler)."""

    ctx: Any
    users: list[int]
    barrier: Any
    results: Any
    settle_queue: Any
    settled: Any
    report: Any
    processes: list[Any] = field(default_factory=list)

    @classmethod
    def open(cls, labelers: int, consensus: str, first_labeler_id: int) -> Children:
        ctx = multiprocessing.get_context("spawn")
        # Of the dataset's labelers, ``labelers`` spread over the user range (each has a history).
        step = max(1, USERS // labelers)
        return cls(
            ctx=ctx,
            users=[first_labeler_id + step * k for k in range(labelers)],
            barrier=ctx.Barrier(labelers + 1),
            results=ctx.Queue(),
            settle_queue=ctx.Queue() if consensus == "worker" else None,
            settled=ctx.Value("q", 0),
            report=ctx.Queue(),
        )

    def start(self, plan: Plan) -> None:
        if self.settle_queue is not None:
            settler = self.ctx.Process(
                target=settler_main, args=(self.settle_queue, self.settled, self.report)
            )
            settler.start()
            self.processes.append(settler)
        for index, user_id in enumerate(self.users):
            child = self.ctx.Process(
                target=labeler_main,
                args=(index, user_id, plan, self.barrier, self.results, self.settle_queue),
            )
            child.start()
            self.processes.append(child)

    def finish(self) -> dict[str, Any] | None:
        """The settler told to stop, every child joined; the settler's report."""
        if self.settle_queue is not None:
            self.settle_queue.put(None)
        for child in self.processes:
            child.join(timeout=60)
        return self.report.get(timeout=30) if self.settle_queue is not None else None

    def stop(self) -> None:
        """Any child still running terminated (after a failure; a no-op after ``finish``)."""
        for child in self.processes:
            if child.is_alive():
                child.terminate()
                child.join(timeout=10)


@dataclass
class Measured:
    """What the rounds gave: every labeler's result per measured round, the phases' seconds and
    the machine's load per measured round, the settler's catch-up per round (warm-up
    included) and its report."""

    rounds: list[list[dict[str, Any]]] = field(default_factory=list)
    phase_s: list[dict[str, float]] = field(default_factory=list)
    settle_wait: list[float] = field(default_factory=list)
    settler_report: dict[str, Any] | None = None


def drive(children: Children, plan: Plan) -> Measured:
    """The warm-up round and ``plan.repeat`` measured rounds, then the children finished."""
    measured = Measured()
    dispatched = 0
    for round_no in range(plan.rounds):
        times = _phases(children)
        per_round = [children.results.get(timeout=120) for _ in children.users]
        dispatched += sum(r["dispatched"] for r in per_round)
        measured.settle_wait.append(_wait_settled(children, dispatched))
        _print_round(round_no, per_round, times)
        if round_no:
            measured.rounds.append(per_round)
            measured.phase_s.append(times)
    measured.settler_report = children.finish()
    return measured


def _phases(children: Children) -> dict[str, float]:
    """One round's phases, each between two barrier waits (start, end) shared with every
    labeler; their seconds, and the machine's busy share and load during the label phase."""
    times: dict[str, float] = {}
    for phase in PHASES:
        try:
            children.barrier.wait(PHASE_TIMEOUT)
            start, busy_before = time.perf_counter(), machine_busy()
            children.barrier.wait(PHASE_TIMEOUT)
        except Exception as exc:
            raise RuntimeError(f"a labeler failed:\n{_first_error(children.results)}") from exc
        times[phase] = time.perf_counter() - start
    busy_after = machine_busy()
    # Of the whole machine during the label phase: the share of CPU busy (ours and
    # everyone else's), and the load average at its end.
    times["machine_busy"] = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
    times["loadavg_1m"] = os.getloadavg()[0]
    return times


def _wait_settled(children: Children, dispatched: int) -> float:
    """Until the settler has settled every task handed over so far; the seconds it took."""
    start = time.perf_counter()
    while children.settle_queue is not None and children.settled.value < dispatched:
        if time.perf_counter() - start > SETTLE_TIMEOUT:
            raise RuntimeError(f"the settler is stuck at {children.settled.value}/{dispatched}")
        time.sleep(0.05)
    return time.perf_counter() - start


def _print_round(round_no: int, per_round: list[dict[str, Any]], times: dict[str, float]) -> None:
    label = "warm-up" if round_no == 0 else f"round {round_no}"
    next_all = [ms for r in per_round for ms in r["next"]]
    submits = sum(len(r["submit"]) for r in per_round)
    select_1 = [m for r in per_round for m in r["select_1"]]
    print(
        f"{label:>8}: next p50 {nearest_rank(next_all, 0.5):6.2f} p95 "
        f"{nearest_rank(next_all, 0.95):6.2f} ms, {submits / times['label']:6.1f} labels/s, "
        f"select_1 p95 {nearest_rank(select_1, 0.95):5.2f} ms, machine "
        f"{100 * times['machine_busy']:3.0f}% busy, load {times['loadavg_1m']:.1f}",
        file=sys.stderr,
    )


def _first_error(results: Any) -> str:
    """The root cause among the labelers' reports (the others see a broken barrier)."""
    errors = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            item = results.get(timeout=1)
        except Exception:
            break
        if "error" in item:
            errors.append(item["error"])
    real = [e for e in errors if "BrokenBarrierError" not in e]
    return (real or errors or ["(no report)"])[0]
