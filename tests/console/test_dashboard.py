"""The DAO creator dashboard: who may see it, what it shows, and that it stays a fixed number
of queries however much data there is."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console.dashboard import KOMBU_PRIORITY_SEP, broker_queue_depths, dao_dashboard
from contributions.models import Contribution, Review, Status
from datadao.models import DAO, Membership, Role, User, WorkerHeartbeat
from labeling.models import ConsensusRun, LabelerStats, LabelImport, RunStatus
from rewards.models import Epoch, EpochStatus, RewardEntry
from synthetic.models import JobStatus, SyntheticJob
from tests.factories import DAOFactory, DatasetFactory, UserFactory, contributions_bulk

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
LABELING_SCHEMA = {"labels": ["cat", "dog"], "item_kind": "text"}


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _contributions(dataset, n: int, *, days_ago: int = 0, **fields) -> list[Contribution]:  # type: ignore[no-untyped-def]
    return contributions_bulk(
        dataset, n, days_ago=days_ago, **({"status": Status.REJECTED} | fields)
    )


def _svg(body: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', body, re.S)
    assert match, f"no chart {chart_id}"
    return ET.fromstring(match.group(0))  # noqa: S314 - our own page


def _bars(root: ET.Element, key: str = "data-category") -> dict[str, ET.Element]:
    return {g.get(key): g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"}


@pytest.fixture
def dao() -> DAO:
    return DAOFactory(name="Air Quality", slug="air")


def _seed(dao: DAO, *, scale: int = 1) -> dict:  # type: ignore[type-arg]
    """A DAO with some of everything; ``scale`` multiplies the rows, not the kinds of rows."""
    tabular = DatasetFactory(dao=dao, name="Readings")
    labeling = DatasetFactory(dao=dao, name="Pets", kind="labeling", schema=LABELING_SCHEMA)
    # Today: 3 pinned (scores 9500, 10000, 10000), 1 rejected near-duplicate flagged for review.
    pinned = _contributions(tabular, 3 * scale, status=Status.PINNED, score=10000)
    Contribution.objects.filter(pk=pinned[0].pk).update(score=9500)
    _contributions(
        tabular,
        1 * scale,
        status=Status.REJECTED,
        score=4200,
        near_duplicate_of=pinned[0],
        review=Review.PENDING,
    )
    # Two days ago: 2 rejected (score 1500); 1 waiting for validation.
    _contributions(tabular, 2 * scale, days_ago=2, status=Status.REJECTED, score=1500)
    _contributions(tabular, 1 * scale, days_ago=2, status=Status.RECEIVED)
    # Outside a 30-day window: counted all time only.
    _contributions(tabular, 5 * scale, days_ago=45, status=Status.PINNED, score=8000)

    now = timezone.now()
    for i, (alpha, gold) in enumerate([(0.41, 0.8), (0.62, None), (0.7, 0.9)] * scale):
        ConsensusRun.objects.create(
            dataset=labeling,
            status=RunStatus.DONE,
            finished_at=now - dt.timedelta(hours=10 * scale - i),
            metrics={"alpha": alpha, "gold_accuracy": gold, "confusion": [[1, 0], [0, 1]]},
        )
    ConsensusRun.objects.create(dataset=labeling, status=RunStatus.QUEUED)
    top, second = UserFactory(display_name="Top labeler"), UserFactory(display_name="Second")
    LabelerStats.objects.create(
        dataset=labeling, labeler=top, labels=90, gold_answered=10, gold_correct=9,
        ds_accuracy=0.95, agreement=0.9,
    )  # fmt: skip
    LabelerStats.objects.create(
        dataset=labeling, labeler=second, labels=30, gold_answered=4, gold_correct=2,
        ds_accuracy=0.7, agreement=None, paused_at=now,
    )  # fmt: skip
    for _ in range(scale - 1):
        LabelerStats.objects.create(dataset=labeling, labeler=UserFactory(), labels=1)
    Epoch.objects.create(
        dao=dao, number=1, status=EpochStatus.CLOSED, root="0xab", total=3 * 10**18
    )
    open_epoch = Epoch.objects.create(dao=dao, number=2)
    for i in range(2 * scale):
        RewardEntry.objects.create(
            dao=dao, dataset=tabular, account=top, amount=10**17, reason="contribution",
            source_type="test", source_id=f"{dao.pk}-{i}",
        )  # fmt: skip
    SyntheticJob.objects.create(dataset=tabular, status=JobStatus.QUEUED)
    LabelImport.objects.create(dataset=labeling, storage_name="x", format="csv")
    WorkerHeartbeat.objects.update_or_create(
        hostname="worker-1@box", defaults={"last_seen": now, "runs": 7}
    )
    return {"tabular": tabular, "labeling": labeling, "top": top, "open_epoch": open_epoch}


# --- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_console_login(dao: DAO) -> None:
    response = Client().get("/admin/dashboard/air/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/admin/dashboard/air/")


def test_creator_and_admin_see_their_dao(dao: DAO) -> None:
    admin_user = UserFactory()
    Membership.objects.create(dao=dao, user=admin_user, role=Role.ADMIN)
    for user in (dao.creator, admin_user):
        response = _as(user).get("/admin/dashboard/air/")
        assert response.status_code == 200
        assert "Dashboard: Air Quality" in response.content.decode()


def test_other_daos_creator_and_staff_get_404(dao: DAO) -> None:
    other = DAOFactory(slug="other")
    response = _as(other.creator).get("/admin/dashboard/air/")
    assert response.status_code == 404
    # Same answer as for a DAO that does not exist: no hint either way.
    assert _as(other.creator).get("/admin/dashboard/nope/").status_code == 404
    operator = UserFactory(is_staff=True)
    assert _as(operator).get("/admin/dashboard/air/").status_code == 404
    superuser = UserFactory(is_staff=True, is_superuser=True)
    assert _as(superuser).get("/admin/dashboard/air/").status_code == 200


def test_a_mere_contributor_is_not_let_into_the_console(dao: DAO) -> None:
    member = UserFactory()
    Membership.objects.create(dao=dao, user=member, role=Role.CONTRIBUTOR)
    response = _as(member).get("/admin/dashboard/air/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_picker_lists_managed_daos_and_skips_itself_for_one(dao: DAO) -> None:
    client = _as(dao.creator)
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and response["Location"] == "/admin/dashboard/air/"
    second = DAOFactory(name="Bees", slug="bees", creator=dao.creator)
    DAOFactory(name="Not mine", slug="not-mine")
    body = client.get("/admin/dashboard/").content.decode()
    assert 'href="/admin/dashboard/air/"' in body and 'href="/admin/dashboard/bees/"' in body
    assert "/admin/dashboard/not-mine/" not in body
    # On a dashboard, the picker marks the current DAO.
    page = client.get(f"/admin/dashboard/{second.slug}/").content.decode()
    assert 'href="/admin/dashboard/bees/" aria-current="page"' in page


def test_console_index_links_to_the_dashboards(dao: DAO) -> None:
    body = _as(dao.creator).get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in body and "DAO dashboards" in body


def test_staff_without_daos_see_an_empty_picker() -> None:
    body = _as(UserFactory(is_staff=True)).get("/admin/dashboard/").content.decode()
    assert "You do not manage any DAO yet" in body


# --- what it shows --------------------------------------------------------------------------------


def test_charts_and_numbers_for_seeded_data(dao: DAO) -> None:
    seeded = _seed(dao)
    response = _as(dao.creator).get("/admin/dashboard/air/")
    assert response.status_code == 200
    body = response.content.decode()
    today = timezone.now().astimezone(dt.UTC).date()

    # Contributions per day by status (30 days: the 45-day-old ones are outside).
    bars = _bars(_svg(body, "chart-contributions"))
    assert len(bars) == 30
    today_bar = bars[today.strftime("%m-%d")]
    assert today_bar.get("data-total") == "4"
    values = {r.get("data-series"): r.get("data-value") for r in today_bar.iter(f"{SVG}rect")}
    assert values == {"pinned": "3", "rejected": "1"}
    earlier = bars[(today - dt.timedelta(days=2)).strftime("%m-%d")]
    assert {r.get("data-series"): r.get("data-value") for r in earlier.iter(f"{SVG}rect")} == {
        "received": "1",
        "rejected": "2",
    }
    assert sum(int(b.get("data-total")) for b in bars.values()) == 7

    # Summary cards: 3 passed vs 3 rejected in the window; 8 vs 3 all time.
    assert re.search(r'id="card-acceptance"><span class="dd-n">50%</span>', body)
    assert "(73% all time" in body
    assert re.search(r'id="card-review"><span class="dd-n">1</span>', body)
    assert re.search(r'id="card-duplicates"><span class="dd-n">1</span>', body)
    assert re.search(r'id="card-contributions"><span class="dd-n">7</span>', body)

    # Score histogram: 1500 ×2, 4200, 9500, 10000 ×2 (10000 falls in the top bin).
    hist = _bars(_svg(body, "chart-scores"), key="data-label")
    counts = {label: g.get("data-value") for label, g in hist.items()}
    assert counts["1,000–2,000"] == "2" and counts["4,000–5,000"] == "1"
    assert counts["9,000–10,000"] == "3" and counts["0–1,000"] == "0"

    # Agreement and gold accuracy, oldest run first; a run without gold leaves a gap.
    line = _svg(body, f"chart-agreement-{seeded['labeling'].pk}")
    series = {g.get("data-series"): g for g in line.iter(f"{SVG}g") if g.get("class") == "series"}
    alpha = [c.get("data-value") for c in series["Krippendorff's alpha"].iter(f"{SVG}circle")]
    assert alpha == ["0.41", "0.62", "0.7"]
    gold = [r.get("data-value") for r in series["gold accuracy"].iter(f"{SVG}rect")]
    assert gold == ["0.8", "0.9"]

    # Leaderboard: most labels first, with gold accuracy, DS accuracy, agreement, paused.
    board = body[body.index('id="h-leaderboard"') :]
    assert board.index("Top labeler") < board.index("Second")
    assert "90%" in board and "95%" in board and "paused" in board

    # Rewards per epoch: the closed one, and the open one's accrued entries (2 × 0.1 token).
    rewards = _bars(_svg(body, "chart-rewards"), key="data-label")
    # Heights in whole tokens; the text shown is the exact amount with the symbol.
    assert rewards["#1"].get("data-value") == "3"
    assert rewards["#2"].get("data-value") == "0.2"
    assert "0.2 TOK (open: accrued so far)" in ET.tostring(rewards["#2"], encoding="unicode")
    assert "#1: 3 TOK" in ET.tostring(rewards["#1"], encoding="unicode")
    rewards_section = body[body.index('id="h-rewards"') :]
    assert "e+1" not in rewards_section and "e17" not in rewards_section
    assert "e18" not in rewards_section

    # Waiting work from the database, with its queue; the worker heartbeat.
    workers = body[body.index('id="h-backlog"') :]
    for kind, state, queue in [
        ("contributions", "received", "validate"),
        ("synthetic jobs", "queued", "synthetic"),
        ("consensus runs", "queued", "default"),
        ("label imports", "queued", "default"),
    ]:
        assert re.search(
            rf"<th scope=\"row\">{kind}</th><td>{state}</td><td class=\"dd-num\">1</td>.*?"
            rf"<code>{queue}</code>",
            workers,
            re.S,
        ), kind
    # Hostnames are for operators; a DAO creator sees how many workers and when last seen.
    assert "worker-1@box" not in body and "1 worker known" in body
    staff = UserFactory(is_staff=True, is_superuser=True)
    assert "worker-1@box" in _as(staff).get("/admin/dashboard/air/").content.decode()


def test_window_can_be_chosen_and_bad_values_fall_back(dao: DAO) -> None:
    _seed(dao)
    client = _as(dao.creator)
    week = client.get("/admin/dashboard/air/?days=7").content.decode()
    assert len(_bars(_svg(week, "chart-contributions"))) == 7
    ninety = client.get("/admin/dashboard/air/?days=90").content.decode()
    assert (
        sum(int(b.get("data-total")) for b in _bars(_svg(ninety, "chart-contributions")).values())
        == 12
    )
    for bad in ("abc", "5", "-1"):
        page = client.get(f"/admin/dashboard/air/?days={bad}").content.decode()
        assert len(_bars(_svg(page, "chart-contributions"))) == 30


def test_empty_states(dao: DAO) -> None:
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    assert "No contributions in the last 30 days" in body
    assert "No scored contributions in the last 30 days" in body
    assert "This DAO has no labeling dataset." in body
    assert "No labels yet." in body
    assert "No rewards yet" in body
    assert 'id="backlog-empty"' in body
    assert "No worker has reported a heartbeat yet." in body
    # A labeling dataset without a finished run gets its own placeholder.
    DatasetFactory(dao=dao, name="Pets", kind="labeling", schema=LABELING_SCHEMA)
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    assert "No finished consensus run yet" in body


def test_names_are_escaped_in_charts_and_tables(dao: DAO) -> None:
    labeling = DatasetFactory(
        dao=dao, name="<script>alert(1)</script>", kind="labeling", schema=LABELING_SCHEMA
    )
    ConsensusRun.objects.create(
        dataset=labeling, status=RunStatus.DONE, finished_at=timezone.now(), metrics={"alpha": 0.5}
    )
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    _svg(body, f"chart-agreement-{labeling.pk}")  # still well-formed


def test_metrics_of_odd_shape_are_skipped_not_crashed_on(dao: DAO) -> None:
    labeling = DatasetFactory(dao=dao, name="Pets", kind="labeling", schema=LABELING_SCHEMA)
    ConsensusRun.objects.create(
        dataset=labeling,
        status=RunStatus.DONE,
        finished_at=timezone.now(),
        metrics={"alpha": "n/a", "gold_accuracy": True},
    )
    board = dao_dashboard(dao=dao)
    assert [(p.alpha, p.gold_accuracy) for p in board.agreement[0].points] == [(None, None)]


# --- cost -----------------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_data(dao: DAO, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = _as(dao.creator)
    _seed(dao)
    small = _queries(client, "/admin/dashboard/air/")
    # A DAO with many times the rows and more datasets, its creator managing more DAOs: the
    # same queries.
    big = DAOFactory(name="Big", slug="big", creator=dao.creator)
    _seed(big, scale=8)
    for i in range(3):
        DatasetFactory(dao=big, name=f"More {i}", kind="labeling", schema=LABELING_SCHEMA)
    for i in range(3):
        DAOFactory(slug=f"also-mine-{i}", creator=dao.creator)
    large = _queries(client, "/admin/dashboard/big/")
    assert large == small
    with django_assert_max_num_queries(19):
        client.get("/admin/dashboard/big/")


def test_selectors_return_bounded_lists(dao: DAO) -> None:
    seeded = _seed(dao, scale=15)
    board = dao_dashboard(dao=dao)
    assert len(board.leaderboard) == 10
    assert board.leaderboard[0].name == "Top labeler"
    assert board.leaderboard[0].gold_accuracy == pytest.approx(0.9)
    assert len(board.agreement[0].points) == 30  # the last 30 of 45 runs
    assert board.agreement[0].points[-1].alpha == pytest.approx(0.7)
    assert board.epochs[-1].pending and board.epochs[-1].total == 30 * 10**17
    assert seeded["open_epoch"].number == board.epochs[-1].number


def test_score_bins_are_half_open_except_the_top(dao: DAO) -> None:
    dataset = DatasetFactory(dao=dao)
    for score in (0, 999, 1000, 8999, 9000, 10000):
        _contributions(dataset, 1, score=score)
    _contributions(dataset, 1, status=Status.RECEIVED)  # not scored yet: in no bin
    assert dao_dashboard(dao=dao).score_counts == [2, 1, 0, 0, 0, 0, 0, 0, 1, 2]


# --- broker ---------------------------------------------------------------------------------------


def test_broker_unreachable_is_shown_not_raised(dao: DAO, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    assert 'id="broker-unreachable"' in body and "Broker unreachable" in body


def test_other_brokers_are_not_asked(dao: DAO, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = "filesystem://"
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    assert "this one is <code>filesystem</code>" in body


def test_redis_queue_depths_count_every_priority_list() -> None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("the test broker is not Redis")
    client = redis.Redis.from_url(url)
    name = "dashboard-test-queue"
    keys = [name, f"{name}{KOMBU_PRIORITY_SEP}6"]
    try:
        client.rpush(keys[0], "a", "b")
        client.rpush(keys[1], "c")
        state = broker_queue_depths(broker_url=url, queues=(name, "dashboard-test-empty"))
    finally:
        client.delete(*keys)
    assert state.reachable is True
    assert state.depths == {name: 3, "dashboard-test-empty": 0}
    assert isinstance(state.unacked, int)


def test_the_page_shows_redis_queue_depths(dao: DAO) -> None:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the test broker is not Redis")
    body = _as(dao.creator).get("/admin/dashboard/air/").content.decode()
    for queue in ("default", "validate", "pin", "synthetic", "rewards"):
        assert f"<code>{queue}</code></th>" in body
    assert "delivered, not yet acknowledged" in body


def test_the_dashboard_in_chinese(dao: DAO) -> None:
    _seed(dao)
    response = _as(dao.creator).get("/admin/dashboard/air/", headers={"accept-language": "zh-hans"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "按状态统计的每日贡献" in body and "标注者排行榜" in body and "工作进程心跳" in body
    assert "条贡献（最近 30 天）" in body and "已暂停" in body
    # timesince in Chinese too ("0 分钟前"), and the counts as numbers.
    assert "分钟前" in body
    assert re.search(r'id="card-contributions"><span class="dd-n">7</span>', body)
    assert "%(" not in body and "Contributions per day by status" not in body
