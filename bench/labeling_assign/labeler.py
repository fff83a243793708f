"""Inside a labeler process: lock-step phases with the others (``SELECT 1``, a one-row
commit, then ``next`` + submit cycles), every SQL statement timed, one result per round."""

from __future__ import annotations

import random
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench._procs import cpu_s
from bench.labeling_assign.config import PHASE_TIMEOUT, SEED, Plan


def statement_kind(sql: str) -> str:
    """A short, stable name for a statement: verb + first table (+ its locking)."""
    text = " ".join(sql.split())
    if text.startswith("WITH gone AS"):
        return "release expired holds (CTE)"
    # The hot path's statements (labeling.services.fastpath): one each.
    if text.startswith("SELECT d.status, d.schema"):
        return "standing (dataset, membership, pause, live hold)"
    if text.startswith("WITH pick AS"):
        return "hold next task (claim + slot + hold)"
    if text.startswith("WITH real AS"):
        return "hold check question (gold)"
    if text.startswith("WITH held AS"):
        return "submit (hold + task + label + stats)"
    if "SKIP LOCKED" in text and "labeling_labeltask" in text:
        return "next candidate (SKIP LOCKED)"
    if "ORDER BY random()" in text:
        return "gold candidate (random)"
    verb = text.split(" ", 1)[0].upper()
    found = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', text)
    lock = " FOR UPDATE" if "FOR UPDATE" in text else ""
    return f"{verb} {found.group(1) if found else '?'}{lock}"


class Recorder:
    """Times every statement (and commit) of the operation in progress."""

    def __init__(self) -> None:
        self.op: str | None = None
        self.times: dict[str, dict[str, list[float]]] = {}
        # The first text and parameters of each statement, per operation: what EXPLAIN runs.
        self.samples: dict[str, dict[str, tuple[str, Any]]] = {}

    def add(self, kind: str, ms: float) -> None:
        if self.op is not None:
            self.times.setdefault(self.op, {}).setdefault(kind, []).append(ms)

    def wrap(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            kind = statement_kind(sql)
            self.add(kind, 1000 * (time.perf_counter() - start))
            if self.op is not None and not many:
                per_op = self.samples.setdefault(self.op, {})
                kept = dict(params) if isinstance(params, dict) else list(params or [])
                per_op.setdefault(kind, (sql, kept))

    def take(self) -> dict[str, dict[str, list[float]]]:
        times, self.times = self.times, {}
        return times


def _answer(rng: random.Random, task: Any, task_type: str) -> Any:
    """The right answer (by the task's gold, else the seeded truth) often, else a random class,
    in the shape the task type's API takes."""
    from bench.labeling_assign.data import AGREEMENT, GOLD_CORRECT, N_CLASSES, truth
    from bench.labeling_assign.types import answer_of, class_of

    if task.is_gold:
        right, p = class_of(task_type, task.gold), GOLD_CORRECT
    else:
        right, p = truth(task.pk), AGREEMENT
    klass = right if rng.random() < p else rng.randrange(N_CLASSES)
    return answer_of(task_type, task.pk, klass)


def labeler_main(
    index: int, user_id: int, plan: Plan, barrier: Any, results: Any, settle_queue: Any
) -> None:
    """One labeler: lock-step phases with the others, one result per round."""
    try:
        _labeler(index, user_id, plan, barrier, results, settle_queue)
    except BaseException:
        results.put({"index": index, "error": traceback.format_exc()})
        barrier.abort()
        raise


def _labeler(
    index: int, user_id: int, plan: Plan, barrier: Any, results: Any, settle_queue: Any
) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from datadao.models import User
    from labeling.services import settle

    sent = [0]

    def dispatch(task_id: int) -> None:
        def hand_over() -> None:
            sent[0] += 1
            if settle_queue is not None:
                settle_queue.put(task_id)

        transaction.on_commit(hand_over)

    # label_submit imports it at call time, so the module attribute is what it calls.
    settle.dispatch_task_consensus = dispatch

    recorder = Recorder()
    plain_commit = connection.commit

    def timed_commit() -> None:
        start = time.perf_counter()
        try:
            plain_commit()
        finally:
            recorder.add("COMMIT", 1000 * (time.perf_counter() - start))

    connection.commit = timed_commit
    user = User.objects.get(pk=user_id)
    rng = random.Random(SEED + index)

    def select_1() -> float:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return 1000 * (time.perf_counter() - start)

    def commit_1() -> float:
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE bench_probe SET n = n + 1 WHERE id = %s", [index])
        return 1000 * (time.perf_counter() - start)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    with connection.execute_wrapper(recorder.wrap):
        for round_no in range(plan.rounds):
            out: dict[str, Any] = {"index": index, "round": round_no}
            barrier.wait(PHASE_TIMEOUT)
            out["select_1"] = [select_1() for _ in range(plan.floor)]
            barrier.wait(PHASE_TIMEOUT)
            barrier.wait(PHASE_TIMEOUT)
            out["commit_1"] = [commit_1() for _ in range(plan.floor)]
            barrier.wait(PHASE_TIMEOUT)
            recorder.take()
            out |= _label_phase(plan, round_no, user, rng, recorder, sent, backend_pid, barrier)
            out["statements"] = recorder.take()
            out["samples"] = recorder.samples if round_no == plan.rounds - 1 else {}
            results.put(out)


def _label_phase(
    plan: Plan,
    round_no: int,
    user: Any,
    rng: random.Random,
    recorder: Recorder,
    sent: list[int],
    backend_pid: int,
    barrier: Any,
) -> dict[str, Any]:
    """``next`` then submit, ``iterations`` times; latencies and CPU spent on both sides."""
    from labeling import errors
    from labeling.services import label_submit, task_next

    next_ms: list[float] = []
    next_cpu: list[float] = []
    gold: list[bool] = []
    submit_ms: list[float] = []
    submit_cpu: list[float] = []
    refusals: list[str] = []
    exhausted = False
    sent_before = sent[0]
    count = plan.warmup if round_no == 0 else plan.iterations
    barrier.wait(PHASE_TIMEOUT)
    server_before = cpu_s(backend_pid)
    client_before = time.process_time()
    for _ in range(count):
        if plan.think_ms:
            time.sleep(rng.expovariate(1000 / plan.think_ms))
        recorder.op = "next"
        cpu, start = time.process_time(), time.perf_counter()
        hold = task_next(dataset_id=plan.dataset_id, labeler=user)
        took, took_cpu = time.perf_counter() - start, time.process_time() - cpu
        recorder.op = None
        if hold is None:
            exhausted = True
            break
        answer = _answer(rng, hold.task, plan.task_type)
        recorder.op = "submit"
        cpu, start = time.process_time(), time.perf_counter()
        try:
            label_submit(
                dataset_id=plan.dataset_id,
                labeler=user,
                hold_id=hold.pk,
                value=answer,
                duration_ms=rng.randint(1500, 9500),
            )
        except errors.LabelingRefused as exc:
            refusals.append(f"{type(exc).__name__}: {exc.message}")
            continue
        finally:
            recorder.op = None
        submit_ms.append(1000 * (time.perf_counter() - start))
        submit_cpu.append(1000 * (time.process_time() - cpu))
        next_ms.append(1000 * took)
        next_cpu.append(1000 * took_cpu)
        gold.append(bool(hold.task.is_gold))
    client_cpu = time.process_time() - client_before
    server_cpu = cpu_s(backend_pid) - server_before
    barrier.wait(PHASE_TIMEOUT)
    return {
        "next": next_ms,
        "gold": gold,
        "submit": submit_ms,
        "next_cpu": next_cpu,
        "submit_cpu": submit_cpu,
        "client_cpu_s": client_cpu,
        "server_cpu_s": server_cpu,
        "refusals": refusals,
        "exhausted": exhausted,
        "dispatched": sent[0] - sent_before,
    }
