"""Check questions follow the rule of ordinary work: at most ``wanted`` labelers at a time, a
skip or an expired hold gives the slot back, they settle (adaptive redundancy, credits) and
are then retired; the pool runs down, labelers then get ordinary work, and DAO admins are
told when it runs low. On both paths (the hot statement and the general one)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling import services
from labeling.conf import GOLD_POOL_LOW
from labeling.models import Assignment, HoldStatus, LabelTask, TaskStatus
from labeling.selectors import gold_pools
from rewards.models import RewardEntry, RewardPolicy
from tests.labeling.conftest import age_labels, login, make_dataset, make_gold, make_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["hot", "general"])
def path(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Every test here runs on the hot statement and on the general path."""
    from labeling.services import assign, fastpath

    monkeypatch.setattr(fastpath, "enabled", lambda: request.param == "hot")
    monkeypatch.setattr(assign._random, "random", lambda: 0.0)  # every draw is a check question
    return request.param


def _next(dataset, user):  # type: ignore[no-untyped-def]
    return services.task_next(dataset_id=dataset.pk, labeler=user)


def _label(dataset, user, hold, value="cat"):  # type: ignore[no-untyped-def]
    return services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)


def test_a_check_question_goes_to_at_most_wanted_labelers_then_ordinary_work(ldao, labelers, path):
    dataset = make_dataset(ldao, gold_rate=0.5, overlap=3, max_overlap=5)
    make_tasks(dataset, 5)
    (gold,) = make_gold(dataset, ["cat"])
    served = []
    for user in labelers:
        hold = _next(dataset, user)
        served.append(hold.task_id)
        _label(dataset, user, hold)
    # Every draw asked for a check question: the first three labelers got it, the others
    # (the pool spent for them) ordinary work.
    assert served[:3] == [gold.pk] * 3
    assert gold.pk not in served[3:] and all(s is not None for s in served[3:])
    gold.refresh_from_db()
    assert (gold.reserved, gold.label_count, gold.wanted) == (3, 3, 3)


def test_a_skipped_or_expired_check_question_gives_its_slot_back(ldao, labelers, path):
    dataset = make_dataset(ldao, gold_rate=0.5)
    make_tasks(dataset, 5)
    (gold,) = make_gold(dataset, ["cat"])  # wants three labels
    a, b, c, d, e = labelers[:5]
    holds = [_next(dataset, user) for user in (a, b, c)]
    assert {hold.task_id for hold in holds} == {gold.pk}
    assert _next(dataset, d).task_id != gold.pk  # its three slots held
    services.task_skip(dataset_id=dataset.pk, labeler=a, hold_id=holds[0].pk)
    Assignment.objects.filter(pk=holds[1].pk).update(expires_at=timezone.now() - timedelta(1))
    services.holds_release_expired(dataset_id=dataset.pk)
    gold.refresh_from_db()
    assert gold.reserved == 1
    assert _next(dataset, e).task_id == gold.pk
    hold_a = holds[0]
    # The skipper and the one who let it expire are not offered it again: their holds stay.
    assert Assignment.objects.get(pk=hold_a.pk).status == HoldStatus.SKIPPED


def test_a_check_question_settles_like_any_item_and_leaves_the_pool(ldao, labelers, path):
    dataset = make_dataset(ldao, gold_rate=0.5, overlap=3, max_overlap=4)
    RewardPolicy.objects.create(dataset=dataset, per_label=1000)
    make_tasks(dataset, 10)
    (gold,) = make_gold(dataset, ["cat"])
    # Disagreement: one more label is asked for, as for an ordinary item.
    for user, value in zip(labelers[:3], ["cat", "dog", "bird"], strict=True):
        _label(dataset, user, _next(dataset, user), value)
    age_labels(task=gold)
    gold = services.task_consensus_update(task_id=gold.pk)
    assert (gold.status, gold.wanted) == (TaskStatus.OPEN, 4)
    user = labelers[3]
    hold = _next(dataset, user)
    assert hold.task_id == gold.pk
    _label(dataset, user, hold)
    age_labels(task=gold)
    gold = services.task_consensus_update(task_id=gold.pk)
    assert gold.status == TaskStatus.COMPLETE and gold.consensus is not None
    # Its labels are credited like any settled label; the pool no longer serves it.
    assert RewardEntry.objects.filter(source_type="labeling.label").count() == 4
    assert _next(dataset, labelers[4]).task_id != gold.pk
    assert gold_pools({dataset.pk: dataset.schema})[dataset.pk].open == 0


def test_the_pool_is_counted_and_a_low_pool_is_flagged(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.2, overlap=3)
    make_tasks(dataset, 40)  # 120 ordinary labels to give: 30 check holds at 0.2
    make_gold(dataset, ["cat"] * 9)  # 27 holds
    pool = gold_pools({dataset.pk: dataset.schema})[dataset.pk]
    assert (pool.open, pool.slots, pool.needed) == (9, 27, 30)
    assert pool.low  # fewer than GOLD_POOL_LOW and short of the work
    LabelTask.objects.filter(dataset=dataset, is_gold=True).delete()
    make_gold(dataset, ["cat"] * GOLD_POOL_LOW)
    pool = gold_pools({dataset.pk: dataset.schema})[dataset.pk]
    assert (pool.open, pool.slots, pool.low) == (GOLD_POOL_LOW, 3 * GOLD_POOL_LOW, False)
    # No gold rate: nothing to warn about.
    quiet = make_dataset(ldao, gold_rate=0.0)
    assert not gold_pools({quiet.pk: quiet.schema})[quiet.pk].low


def test_only_dao_admins_see_the_gold_pool(ldataset, labelers):
    make_gold(ldataset, ["cat"] * 2)
    url = f"/api/labeling/{ldataset.pk}/consensus"
    body = login(ldataset.dao.creator).get(url).json()
    assert body["gold_pool"] == {"open": 2, "slots": 6, "needed": 0, "low": False}
    # As the OpenAPI document describes it (a closed object, optional for others).
    from datadao.openapi.components import SCHEMAS

    described = SCHEMAS["ConsensusSummary"]
    assert set(body) == set(described["properties"]) and "gold_pool" not in described["required"]
    assert set(body["gold_pool"]) == set(described["properties"]["gold_pool"]["properties"])
    member = login(labelers[0]).get(url)
    assert member.status_code == 200 and "gold_pool" not in member.json()


def test_the_dashboard_warns_when_the_gold_pool_runs_low(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.2)
    make_tasks(dataset, 40)
    make_gold(dataset, ["cat"] * 3)
    page = login(ldao.creator).get(f"/admin/dashboard/{ldao.slug}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Check questions left to serve" in text
    assert "Running low: import more check questions" in text


def test_marking_a_settled_item_reopens_it_within_max_overlap(ldao, labelers, path):
    dataset = make_dataset(ldao, gold_rate=0.5, overlap=3, max_overlap=5)
    (task,) = make_tasks(dataset, 1)
    for user in labelers[:3]:
        _label(dataset, user, _next(dataset, user))
    age_labels(task=task)
    make_tasks(dataset, 3, start=1)  # ordinary work, which check questions are mixed into
    assert services.task_consensus_update(task_id=task.pk).status == TaskStatus.COMPLETE
    gold = services.task_set_gold(task_id=task.pk, answer="cat", actor=ldao.creator)
    # Seen by three: two more labelers at most, as an ordinary item could reach five.
    assert (gold.status, gold.wanted, gold.reserved) == (TaskStatus.OPEN, 5, 3)
    for user in labelers[3:5]:
        hold = _next(dataset, user)
        assert hold.task_id == task.pk
        _label(dataset, user, hold)
    assert _next(dataset, labelers[5]).task_id != task.pk


step = importlib.import_module("labeling.migrations.0003_gold_exposure")


def test_the_migration_takes_slots_for_existing_check_questions(ldataset, labelers):
    from django.apps import apps

    seen, fresh = make_gold(ldataset, ["cat"] * 2)
    past = timezone.now() - timedelta(hours=1)
    statuses = [HoldStatus.SUBMITTED, HoldStatus.SUBMITTED, HoldStatus.SKIPPED, HoldStatus.ACTIVE]
    for user, status in zip(labelers, statuses, strict=False):
        Assignment.objects.create(
            dataset=ldataset, task=seen, labeler=user, status=status, expires_at=past
        )
    Assignment.objects.create(
        dataset=ldataset, task=fresh, labeler=labelers[0], status="submitted", expires_at=past
    )
    step.gold_slots(apps, None)
    seen.refresh_from_db()
    fresh.refresh_from_db()
    # Held by four (a skip included) of the three it wants: retired, its slots full.
    assert (seen.reserved, seen.status) == (3, TaskStatus.COMPLETE)
    assert (fresh.reserved, fresh.status) == (1, TaskStatus.OPEN)
