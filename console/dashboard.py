"""Reads for the DAO creator dashboard: what a DAO's data, labelers, rewards and workers look
like, in numbers a chart can draw.

Every query is an aggregate (GROUP BY in the database) over a bounded window or a capped list;
nothing here loads rows one by one. Contribution counts come from the tallies
(``contributions.tally``), which hold a row per dataset, day and status, so those charts cost
the same at a thousand contributions as at a million. The broker is asked only when it is
Redis, with short timeouts, and an unreachable broker is reported, never raised.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import connection
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from contributions import tally
from contributions.models import ACTIVE_STATUSES, TALLY_SCORE_BINS, Contribution, Status
from datadao.models import DAO, MANAGER_ROLES, Dataset, DatasetKind, User, WorkerHeartbeat
from datadao.queues import Queue
from labeling.models import ConsensusRun, LabelerStats, LabelImport, RunStatus
from labeling.selectors import GoldPool, gold_pools
from rewards.models import Epoch, EpochStatus
from rewards.services import epoch_accrued
from synthetic.models import ACTIVE as SYNTHETIC_ACTIVE
from synthetic.models import SyntheticJob

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
SCORE_MAX = 10_000  # scores are basis points
SCORE_BIN = tally.SCORE_BIN_WIDTH  # the tallies' histogram bins
LEADERBOARD_SIZE = 10
RUNS_PER_DATASET = 30
LABELING_DATASETS_SHOWN = 6
EPOCHS_SHOWN = 24
HEARTBEATS_SHOWN = 50
DAOS_LISTED = 200
# The heartbeat task runs every 30 s on whichever worker takes it; silence for this long
# means a worker is probably gone.
HEARTBEAT_STALE_AFTER = dt.timedelta(minutes=5)
# A dashboard must not hang on a dead broker.
BROKER_TIMEOUT_S = 0.5

# Display order of statuses, pipeline order: it fixes each status' pattern in the charts.
STATUS_ORDER = (
    Status.RECEIVED,
    Status.VALIDATING,
    Status.ACCEPTED,
    Status.ATTESTING,
    Status.PINNING,
    Status.PINNED,
    Status.HELD,
    Status.REJECTED,
    Status.FAILED,
)
PASSED = (Status.ACCEPTED, Status.PINNING, Status.PINNED)
# Which queue the worker that moves a contribution out of this status listens on.
STATUS_QUEUE = {
    Status.RECEIVED: Queue.VALIDATE,
    Status.VALIDATING: Queue.VALIDATE,
    Status.ACCEPTED: Queue.VALIDATE,  # attestation, then on to pinning
    Status.PINNING: Queue.PIN,
}
# kombu's Redis transport keeps priorities 3, 6 and 9 in sibling lists named with this
# separator; unprioritised messages (ours) sit in the plain list.
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)
KOMBU_UNACKED_KEY = "unacked"


# --- which DAOs ---------------------------------------------------------------------------------


def dashboard_daos(*, user: User) -> QuerySet[DAO]:
    """The DAOs whose dashboard this user may open: those they manage (all, for superusers)."""
    daos = DAO.objects.order_by("name", "id")
    if not user.is_superuser:
        daos = daos.filter(memberships__user=user, memberships__role__in=MANAGER_ROLES)
    return daos.only("id", "name", "slug")[:DAOS_LISTED]


def dashboard_dao(*, user: User, slug: str) -> DAO | None:
    """The DAO if this user manages it (or is a superuser); None otherwise, so a stranger
    cannot tell a DAO they do not manage from one that does not exist."""
    if not user.is_authenticated:
        return None
    daos = DAO.objects.filter(slug=slug)
    if not user.is_superuser:
        daos = daos.filter(memberships__user=user, memberships__role__in=MANAGER_ROLES)
    return daos.first()


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowStats:
    """Contributions created in the window: per day and status, near-duplicates, scores."""

    days: list[dt.date]
    counts: dict[str, list[int]]  # status -> one count per day
    near_duplicates: int
    score_counts: list[int]  # per SCORE_BIN-wide bin; the maximum falls in the top one

    @property
    def total(self) -> int:
        return sum(sum(values) for values in self.counts.values())

    def status_total(self, statuses: tuple[str, ...]) -> int:
        return sum(sum(self.counts.get(s, ())) for s in statuses)


@dataclass(frozen=True)
class Totals:
    by_status: dict[str, int]
    review_pending: int
    near_duplicates: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class RunPoint:
    finished_at: dt.datetime
    alpha: float | None
    gold_accuracy: float | None


@dataclass(frozen=True)
class AgreementSeries:
    dataset_id: int
    dataset_name: str
    points: list[RunPoint]


@dataclass(frozen=True)
class LeaderRow:
    labeler_id: int
    name: str
    address: str
    labels: int
    gold_answered: int
    gold_accuracy: float | None
    ds_accuracy: float | None
    agreement: float | None
    paused: bool


@dataclass(frozen=True)
class EpochRow:
    number: int
    status: str
    total: int
    closed_at: dt.datetime | None
    pending: bool = False  # the open epoch: ``total`` is what has accrued so far


@dataclass(frozen=True)
class BacklogRow:
    kind: str
    status: str
    count: int
    oldest: dt.datetime | None
    queue: str


@dataclass(frozen=True)
class HeartbeatRow:
    hostname: str
    last_seen: dt.datetime
    runs: int
    stale: bool


@dataclass(frozen=True)
class BrokerState:
    kind: str  # "redis" or the URL scheme
    reachable: bool | None  # None: not asked (not Redis)
    depths: dict[str, int] = field(default_factory=dict)
    unacked: int | None = None
    error: str = ""


@dataclass(frozen=True)
class Dashboard:
    dao: DAO
    days: int
    datasets: list[dict[str, Any]]
    daily: WindowStats
    totals: Totals
    agreement: list[AgreementSeries]
    leaderboard: list[LeaderRow]
    epochs: list[EpochRow]
    backlog: list[BacklogRow]
    heartbeats: list[HeartbeatRow]
    broker: BrokerState
    # Each labeling dataset's gold pool: (dataset name, pool), the ones running low first.
    gold: list[tuple[str, GoldPool]] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float | None:
        """Share of decided contributions in the window that passed (accepted or later)."""
        passed = self.daily.status_total(PASSED)
        decided = passed + self.daily.status_total((Status.REJECTED,))
        return passed / decided if decided else None

    @property
    def acceptance_rate_all_time(self) -> float | None:
        passed = sum(self.totals.by_status.get(s, 0) for s in PASSED)
        decided = passed + self.totals.by_status.get(Status.REJECTED, 0)
        return passed / decided if decided else None

    @property
    def score_counts(self) -> list[int]:
        return self.daily.score_counts

    @property
    def score_edges(self) -> list[int]:
        return list(range(0, SCORE_MAX + 1, SCORE_BIN))


# --- selectors ----------------------------------------------------------------------------------


def window_start(*, days: int, now: dt.datetime) -> dt.datetime:
    """Midnight (UTC) starting the window of ``days`` calendar days that ends today."""
    today = now.astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)


def contributions_in_window(*, dataset_ids: list[int], days: int, now: dt.datetime) -> WindowStats:
    """Contributions created in the window per day by current status, the near-duplicates
    among them and their score distribution, from the tallies (``contributions.tally``): at
    most a row per (day, status), however many contributions there are."""
    since = window_start(days=days, now=now)
    day_list = [since.date() + dt.timedelta(days=i) for i in range(days)]
    counts = {status: [0] * days for status in STATUS_ORDER}
    scores = [0] * TALLY_SCORE_BINS
    near = 0
    index = {day: i for i, day in enumerate(day_list)}
    for row in tally.tally(dataset_ids, by=("day", "status"), since=since.date()):
        day, status = row.key
        i = index.get(day)
        if i is None or status not in counts:
            continue  # created "in the future" (clock skew): outside the window
        counts[status][i] += row.n
        near += row.near
        for b, n in enumerate(row.scores):
            scores[b] += n
    return WindowStats(days=day_list, counts=counts, near_duplicates=near, score_counts=scores)


def contribution_totals(*, dataset_ids: list[int]) -> Totals:
    """All-time counts per status, the open review queue and near-duplicates, from the
    tallies: at most a row per status."""
    by_status, pending, near = {}, 0, 0
    for row in tally.tally(dataset_ids, by=("status",)):
        by_status[row.key[0]] = row.n
        pending += row.pending
        near += row.near
    return Totals(by_status=by_status, review_pending=pending, near_duplicates=near)


def agreement_over_time(*, datasets: list[dict[str, Any]]) -> list[AgreementSeries]:
    """Krippendorff's alpha and gold accuracy of each labeling dataset's last finished
    consensus runs, oldest first. One query (a window function keeps the last N per
    dataset), reading two keys of the metrics JSON rather than the whole document."""
    labeling = [d for d in datasets if d["kind"] == DatasetKind.LABELING][:LABELING_DATASETS_SHOWN]
    if not labeling:
        return []
    rows = (
        ConsensusRun.objects.filter(
            dataset_id__in=[d["id"] for d in labeling],
            status=RunStatus.DONE,
            finished_at__isnull=False,
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("dataset_id")],
                order_by=[F("finished_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=RUNS_PER_DATASET)
        .values(
            "dataset_id", "finished_at", alpha=F("metrics__alpha"), gold=F("metrics__gold_accuracy")
        )
        .order_by("dataset_id", "finished_at", "id")
    )
    points: dict[int, list[RunPoint]] = defaultdict(list)
    for row in rows:
        points[row["dataset_id"]].append(
            RunPoint(
                finished_at=row["finished_at"],
                alpha=_float_or_none(row["alpha"]),
                gold_accuracy=_float_or_none(row["gold"]),
            )
        )
    return [
        AgreementSeries(dataset_id=d["id"], dataset_name=d["name"], points=points.get(d["id"], []))
        for d in labeling
    ]


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def labeler_leaderboard(
    *, dataset_ids: list[int], limit: int = LEADERBOARD_SIZE
) -> list[LeaderRow]:
    """The DAO's most active labelers across its datasets, with their quality. Accuracies
    and agreement are weighted by each dataset's label count. One GROUP BY, capped."""
    if not dataset_ids:
        return []

    def weighted(name: str) -> ExpressionWrapper:
        return ExpressionWrapper(F(name) * F("labels"), output_field=FloatField())

    rows = (
        LabelerStats.objects.filter(dataset_id__in=dataset_ids)
        .values("labeler_id", "labeler__address", "labeler__display_name")
        .annotate(
            label_total=Sum("labels"),
            gold_answered_total=Sum("gold_answered"),
            gold_correct_total=Sum("gold_correct"),
            ds_sum=Sum(weighted("ds_accuracy"), filter=Q(ds_accuracy__isnull=False)),
            ds_weight=Sum("labels", filter=Q(ds_accuracy__isnull=False)),
            agreement_sum=Sum(weighted("agreement"), filter=Q(agreement__isnull=False)),
            agreement_weight=Sum("labels", filter=Q(agreement__isnull=False)),
            paused_count=Count("id", filter=Q(paused_at__isnull=False)),
        )
        .order_by("-label_total", "labeler_id")[:limit]
    )
    return [
        LeaderRow(
            labeler_id=row["labeler_id"],
            name=row["labeler__display_name"] or _short_address(row["labeler__address"]),
            address=row["labeler__address"],
            labels=row["label_total"] or 0,
            gold_answered=row["gold_answered_total"] or 0,
            gold_accuracy=_ratio(row["gold_correct_total"], row["gold_answered_total"]),
            ds_accuracy=_ratio(row["ds_sum"], row["ds_weight"]),
            agreement=_ratio(row["agreement_sum"], row["agreement_weight"]),
            paused=bool(row["paused_count"]),
        )
        for row in rows
    ]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return float(numerator) / float(denominator) if numerator is not None and denominator else None


def _short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def rewards_per_epoch(*, dao: DAO) -> list[EpochRow]:
    """The last epochs' totals, oldest first; the open epoch shows what has accrued so far
    (its unsettled entries). Two queries."""
    epochs = list(
        Epoch.objects.filter(dao=dao)
        .order_by("-number")
        .values("number", "status", "total", "closed_at")[:EPOCHS_SHOWN]
    )
    rows: list[EpochRow] = []
    has_open = any(e["status"] == EpochStatus.OPEN for e in epochs)
    accrued = epoch_accrued(dao=dao) if has_open else 0
    for epoch in reversed(epochs):
        is_open = epoch["status"] == EpochStatus.OPEN
        rows.append(
            EpochRow(
                number=epoch["number"],
                status=epoch["status"],
                total=accrued if is_open else int(epoch["total"]),
                closed_at=epoch["closed_at"],
                pending=is_open,
            )
        )
    return rows


def work_backlog(*, dataset_ids: list[int], by_status: dict[str, int]) -> list[BacklogRow]:
    """Work not yet final, from the database: how much per state and how long the oldest has
    waited. Contributions counted by the tallies (``by_status``, the all-time counts) and the
    oldest of every waiting state in one statement (an indexed lookup per state); other work in
    one statement too, a GROUP BY per kind returning at most a row per active state."""
    if not dataset_ids:
        return []
    rows: list[BacklogRow] = []
    # Contributions: the oldest of each state through the sweeper's (status, status_changed_at)
    # index, the first row of this DAO's in that order.
    waiting = [s for s in STATUS_ORDER if s in ACTIVE_STATUSES and by_status.get(s)]
    firsts = [
        Contribution.objects.filter(dataset_id__in=dataset_ids, status=status)
        .order_by("status_changed_at")
        .values_list("status", "status_changed_at")[:1]
        for status in waiting
    ]
    oldest: dict[str, Any] = {}
    if firsts and connection.features.supports_slicing_ordering_in_compound:
        oldest = dict(firsts[0].union(*firsts[1:], all=True))
    else:  # SQLite: no LIMIT inside a UNION
        oldest = dict(row for first in firsts for row in first)
    for status in waiting:
        rows.append(
            BacklogRow(
                "contributions", status, by_status[status], oldest.get(status),
                STATUS_QUEUE[status],
            )
        )  # fmt: skip
    others: list[tuple[str, Any, tuple[str, ...], str]] = [
        ("synthetic jobs", SyntheticJob, tuple(SYNTHETIC_ACTIVE), Queue.SYNTHETIC),
        ("consensus runs", ConsensusRun, (RunStatus.QUEUED, RunStatus.RUNNING), Queue.DEFAULT),
        ("label imports", LabelImport, (RunStatus.QUEUED, RunStatus.RUNNING), Queue.DEFAULT),
    ]
    grouped = [
        model.objects.filter(dataset_id__in=dataset_ids, status__in=statuses)
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created_at"), kind=Value(kind))
        .values_list("kind", "status", "n", "oldest")
        .order_by()
        for kind, model, statuses, _ in others
    ]
    found = {
        (kind, status): (n, first)
        for kind, status, n, first in grouped[0].union(*grouped[1:], all=True)
    }
    for kind, _, statuses, queue in others:
        for status in statuses:
            if (kind, status) in found:
                n, first = found[kind, status]
                rows.append(BacklogRow(kind, status, n, first, queue))
    return rows


def worker_heartbeats(*, now: dt.datetime) -> list[HeartbeatRow]:
    """The workers that ran the heartbeat task, most recent first (the fleet is shared by
    every DAO)."""
    return [
        HeartbeatRow(
            hostname=hb.hostname,
            last_seen=hb.last_seen,
            runs=hb.runs,
            stale=now - hb.last_seen > HEARTBEAT_STALE_AFTER,
        )
        for hb in WorkerHeartbeat.objects.order_by("-last_seen", "hostname")[:HEARTBEATS_SHOWN]
    ]


def broker_queue_depths(
    *, broker_url: str, queues: tuple[str, ...] = tuple(q.value for q in Queue)
) -> BrokerState:
    """Messages waiting in each Celery queue, straight from Redis (LLEN, one round trip),
    plus those delivered to a worker but not yet acknowledged. Other brokers: not asked."""
    scheme = broker_url.split(":", 1)[0] if ":" in broker_url else broker_url
    if scheme not in ("redis", "rediss"):
        return BrokerState(kind=scheme or "none", reachable=None)
    try:
        client = redis.Redis.from_url(
            broker_url, socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S
        )
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
                for step in KOMBU_PRIORITY_STEPS:
                    pipe.llen(f"{queue}{KOMBU_PRIORITY_SEP}{step}")
            pipe.hlen(KOMBU_UNACKED_KEY)
            results = pipe.execute()
        client.close()
    except (redis.RedisError, OSError) as exc:
        return BrokerState(kind="redis", reachable=False, error=type(exc).__name__)
    per = 1 + len(KOMBU_PRIORITY_STEPS)
    depths = {q: sum(results[i * per : (i + 1) * per]) for i, q in enumerate(queues)}
    return BrokerState(kind="redis", reachable=True, depths=depths, unacked=results[-1])


def dao_dashboard(
    *, dao: DAO, days: int = DEFAULT_WINDOW, broker_url: str = "", now: dt.datetime | None = None
) -> Dashboard:
    """Everything the dashboard shows for one DAO, in a fixed number of queries."""
    now = now or timezone.now()
    if days not in WINDOWS:
        days = DEFAULT_WINDOW
    datasets = list(
        Dataset.objects.filter(dao=dao)
        .order_by("name", "id")
        .values("id", "name", "kind", "schema")
    )
    ids = [d["id"] for d in datasets]
    totals = contribution_totals(dataset_ids=ids)
    return Dashboard(
        dao=dao,
        days=days,
        datasets=datasets,
        daily=contributions_in_window(dataset_ids=ids, days=days, now=now),
        totals=totals,
        agreement=agreement_over_time(datasets=datasets),
        leaderboard=labeler_leaderboard(dataset_ids=ids),
        epochs=rewards_per_epoch(dao=dao),
        backlog=work_backlog(dataset_ids=ids, by_status=totals.by_status),
        heartbeats=worker_heartbeats(now=now),
        broker=broker_queue_depths(broker_url=broker_url),
        gold=gold_pool_rows(datasets=datasets),
    )


def gold_pool_rows(*, datasets: list[dict[str, Any]]) -> list[tuple[str, GoldPool]]:
    """How many check questions each labeling dataset can still serve (each is retired after
    as many labelers as an ordinary item), the ones running low first. One query."""
    labeling = [d for d in datasets if d["kind"] == DatasetKind.LABELING][:LABELING_DATASETS_SHOWN]
    pools = gold_pools({d["id"]: d["schema"] for d in labeling})
    rows = [(d["name"], pools[d["id"]]) for d in labeling]
    return sorted(rows, key=lambda row: not row[1].low)
