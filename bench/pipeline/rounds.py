"""A fleet of workers standing for one lane, and one round of a workload on it."""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._procs import Processes, Started, children, start_workers, status_kib, wait_ready
from bench.pipeline.config import (
    CSV_ROWS,
    CSV_SCHEMA,
    FLOOR_PASSES,
    LANES,
    PNG_SCHEMA,
    WARMUP,
    Mode,
)
from bench.pipeline.inputs import floor_seconds, min_phash_distance, write_csvs, write_pngs
from bench.pipeline.world import World, statuses, submit, wait_final

_TASK_DONE = re.compile(r"Task (\S+?)\[[0-9a-f-]+\] succeeded in ([0-9.e-]+)s")


def task_times(logs: list[str]) -> dict[str, list[float]]:
    """Per task name, the seconds of each run, from the workers' "succeeded in" log lines."""
    times: dict[str, list[float]] = {}
    for text in logs:
        for name, seconds in _TASK_DONE.findall(text):
            times.setdefault(name.rsplit(".", 1)[-1], []).append(float(seconds))
    return times


@dataclass
class Fleet:
    """Worker processes standing for one lane and worker count, as the platform's fleet."""

    lane: str
    workers: list[Started]
    ready_s: float


@dataclass
class Bench:
    """One run: its inputs and processes, and the record of every round and every problem."""

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
            status_kib(pid, "VmHWM") for w in fleet.workers for pid in children(w.process.pid)
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
