"""The labeling benchmark's sizes, limits and the plan every labeler process follows."""

from __future__ import annotations

import os
from dataclasses import dataclass

SEED = 20_240_601
# Its own database, dropped and re-created each run; another name lets two runs share a server.
BENCH_DB = os.environ.get("DATADAO_BENCH_LABEL_DB", "datadao_bench_label")
# The broker's Redis database, flushed after the run; another number lets two runs share a server.
REDIS_DB = int(os.environ.get("DATADAO_BENCH_LABEL_REDIS_DB", "8"))
TARGET_NEXT_P95_MS = 20.0
TARGET_TASKS = 1_000_000
USERS = 1_000
GOLD_SHARE = 0.002
OVERLAP, MAX_OVERLAP = 3, 5
PHASE_TIMEOUT = 900.0
SETTLE_TIMEOUT = 300.0
PLAN_SLOWER_THAN_MS = 1.0


@dataclass(frozen=True)
class Mode:
    tasks: int
    iterations: int
    warmup: int
    repeat: int
    floor: int


FULL = Mode(tasks=1_000_000, iterations=300, warmup=60, repeat=5, floor=300)
QUICK = Mode(tasks=100_000, iterations=50, warmup=30, repeat=5, floor=100)


@dataclass(frozen=True)
class Plan:
    """What every labeler process does, in the same order."""

    dataset_id: int
    iterations: int
    warmup: int
    repeat: int
    floor: int
    think_ms: float
    task_type: str = "classification"

    @property
    def rounds(self) -> int:
        return self.repeat + 1


# What the summary reports of the PostgreSQL server: the settings the hot path depends on.
DATABASE_SETTINGS = (
    "server_version", "fsync", "synchronous_commit", "shared_buffers", "work_mem",
    "random_page_cost", "max_connections",
)  # fmt: skip
