"""The load benchmark's sizes, pacing and limits."""

from __future__ import annotations

from dataclasses import dataclass

LOAD_DB = "datadao_bench_load"
TEMPLATE_DB = "datadao_bench_load_template"
CELERY_WORKERS = 2
CSV_ROWS = 20
LABELS = ["positive", "negative", "neutral"]
AGREEMENT = 0.85
TARGET_DRAIN_S = 60.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0
IMPORT_TIMEOUT_S = 180.0
REWARD = 10**18
SEED = 20_240_601
WINDOWS = 5


@dataclass(frozen=True)
class Mode:
    contributors: int
    labelers: int
    duration_s: float
    tasks: int
    ramp_s: float
    drain_limit_s: float
    probe_interval_s: float


FULL = Mode(
    contributors=50, labelers=50, duration_s=300, tasks=12_000, ramp_s=10, drain_limit_s=300,
    probe_interval_s=1.0,
)  # fmt: skip
QUICK = Mode(
    contributors=10, labelers=10, duration_s=15, tasks=1_000, ramp_s=2, drain_limit_s=90,
    probe_interval_s=0.2,
)  # fmt: skip


@dataclass(frozen=True)
class Stack:
    """How the platform is served: gunicorn's worker class, processes and threads, pgbouncer in
    front of PostgreSQL (``DATABASE_POOLER=pgbouncer``) or not, and the Celery workers'
    prefetch multiplier (None: the settings' own, 1 with a Redis broker)."""

    name: str
    gunicorn_workers: int = 2
    worker_class: str = "sync"
    threads: int = 1
    pgbouncer: bool = False
    prefetch: int | None = None

    def describe(self) -> str:
        threads = f" --threads {self.threads}" if self.worker_class == "gthread" else ""
        pooler = ", pgbouncer (transaction mode)" if self.pgbouncer else ", direct to PostgreSQL"
        prefetch = f", prefetch {self.prefetch}" if self.prefetch else ""
        return (
            f"gunicorn -w {self.gunicorn_workers} -k {self.worker_class}{threads}{pooler}{prefetch}"
        )


# The stack ``bench.web`` and the single runs serve with, and the tuned one the stepping mode
# pairs it with (``bench/load/steps.py``).
BASELINE = Stack(name="baseline")
TUNED = Stack(
    name="tuned", gunicorn_workers=4, worker_class="gthread", threads=4, pgbouncer=True, prefetch=4
)
# One change of TUNED's at a time, to tell which one moves the knee.
THREADED = Stack(name="threaded", gunicorn_workers=4, worker_class="gthread", threads=4)
POOLED = Stack(name="pooled", pgbouncer=True)
PREFETCH = Stack(name="prefetch", prefetch=4)
