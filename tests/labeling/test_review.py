"""The review queue on real PostgreSQL: settled items least confident first; accept, fix and
reject with their refusals; a fix scores the labels as check questions are scored; a rejected
item goes back through adaptive redundancy and is reviewed again once it settles anew."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from datadao.models import Membership, Role
from labeling import errors, selectors, services
from labeling.conf import GOLD_REPORT_EVERY, GOLD_WINDOW
from labeling.models import (
    Assignment,
    Label,
    LabelerStats,
    LabelTask,
    Review,
    TaskStatus,
)
from labeling.services import review as review_services
from labeling.services.settle import _bulk_set_consensus, reputation_bps
from labeling.services.submit import record_answer
from tests.factories import UserFactory
from tests.labeling.conftest import age_labels, make_dataset, make_gold, make_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def ldataset(ldao):  # type: ignore[no-untyped-def]
    """Three labels settle an item (max overlap 3), however much they disagree."""
    return make_dataset(ldao, max_overlap=3)


@pytest.fixture
def reviewer(ldao):  # type: ignore[no-untyped-def]
    user = UserFactory()
    Membership.objects.create(dao=ldao, user=user, role=Role.REVIEWER)
    return user


def _label_all(dataset, labelers, answers: list[Any], *, new: bool = True) -> LabelTask:  # type: ignore[no-untyped-def]
    """Each labeler answers the one open task (``new``: a new one) through ``next`` and
    submit; then it settles, or asks for more labels."""
    if new:
        make_tasks(dataset, 1, start=LabelTask.objects.count())
    task_id = None
    for user, answer in zip(labelers, answers, strict=True):
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        assert hold is not None
        task_id = hold.task_id
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=answer)
    age_labels(task_id=task_id)
    return services.task_consensus_update(task_id=task_id)


def _settled(dataset, posteriors: list[float]) -> list[LabelTask]:  # type: ignore[no-untyped-def]
    tasks = make_tasks(dataset, len(posteriors), start=LabelTask.objects.count())
    for task, posterior in zip(tasks, posteriors, strict=True):
        LabelTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETE, consensus=["cat"], posterior=posterior, settlements=1
        )
    return tasks


def test_the_queue_is_settled_unreviewed_items_least_confident_first(ldataset, reviewer, labelers):
    tasks = _settled(ldataset, [0.9, 0.4, 0.7, 0.4, 0.99])
    (gold,) = make_gold(ldataset, ["dog"])
    LabelTask.objects.filter(pk=gold.pk).update(status="complete", posterior=0.1, consensus=["dog"])
    make_tasks(ldataset, 1, start=100)  # open: not settled
    Label.objects.create(dataset=ldataset, task=tasks[4], labeler=labelers[0], value=["cat"])
    first = selectors.review_queue(dataset_id=ldataset.pk, reviewer=reviewer, after=None, limit=2)
    assert [t.pk for t in first.items] == [tasks[1].pk, tasks[3].pk]
    assert first.cursor is not None
    rest = selectors.review_queue(
        dataset_id=ldataset.pk,
        reviewer=reviewer,
        after=selectors.parse_review_cursor(first.cursor),
        limit=2,
    )
    assert [t.pk for t in rest.items] == [tasks[2].pk, tasks[0].pk]
    last = selectors.review_queue(
        dataset_id=ldataset.pk,
        reviewer=reviewer,
        after=selectors.parse_review_cursor(rest.cursor),
        limit=2,
    )
    assert [t.pk for t in last.items] == [tasks[4].pk] and last.cursor is None
    assert last.answers[tasks[4].pk] == [["cat"]]
    # The labeler of an item does not see it in their queue.
    mine = selectors.review_queue(dataset_id=ldataset.pk, reviewer=labelers[0], after=None)
    assert tasks[4].pk not in [t.pk for t in mine.items]


def test_the_queue_walks_its_partial_index(ldataset, reviewer):
    from django.db import connection

    _settled(ldataset, [0.5] * 3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = (
            LabelTask.objects.filter(
                dataset_id=ldataset.pk, status="complete", is_gold=False, review=""
            )
            .order_by("posterior", "id")
            .query
        )
        sql, params = query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql} LIMIT 21", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "label_task_review_queue" in plan and "Sort" not in plan


def test_accept_makes_the_answer_final(ldataset, reviewer, labelers):
    task = _label_all(ldataset, labelers[:3], ["cat", "cat", "dog"])
    assert task.status == TaskStatus.COMPLETE and task.settlements == 1
    review = review_services.review_accept(
        dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, settlement=1
    )
    assert (review.decision, review.answer, review.reviewer_id) == ("accept", ["cat"], reviewer.pk)
    task.refresh_from_db()
    assert task.review == "accept"
    assert not selectors.review_queue(dataset_id=ldataset.pk, reviewer=reviewer, after=None).items
    # A whole-dataset run leaves a reviewed answer as it is.
    _bulk_set_consensus([(task.pk, ["dog"], 0.51)])
    task.refresh_from_db()
    assert task.consensus == ["cat"]
    with pytest.raises(errors.Conflict, match="already reviewed"):
        review_services.review_fix(
            dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, answer="dog"
        )


def _scored(stats: LabelerStats) -> tuple[int, int, int]:
    return stats.gold_answered, stats.gold_correct, stats.gold_window_correct


def test_a_fix_is_final_and_scores_the_labels_as_check_questions(ldataset, reviewer, labelers):
    task = _label_all(ldataset, labelers[:3], ["cat", "cat", "dog"])
    before = {s.labeler_id: _scored(s) for s in LabelerStats.objects.filter(dataset=ldataset)}
    review = review_services.review_fix(
        dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, answer="dog"
    )
    assert (review.overturned, review.upheld, review.answer) == (2, 1, ["dog"])
    task.refresh_from_db()
    assert (task.consensus, task.posterior, task.review) == (["dog"], 1.0, "fix")
    after = {s.labeler_id: _scored(s) for s in LabelerStats.objects.filter(dataset=ldataset)}
    # Overturned: one more scored answer, none more right; upheld: one more of each.
    for user, right in zip(labelers[:3], (False, False, True), strict=True):
        answered, correct, _ = before[user.pk]
        assert after[user.pk][:2] == (answered + 1, correct + int(right))
    assert Review.objects.get(task=task).reviewer_id == reviewer.pk


def test_overturned_answers_cost_reputation_as_failed_check_questions(ldataset, reviewer):
    """One labeler fails GOLD_WINDOW check questions (scored as submit scores them); another
    has GOLD_WINDOW answers overturned by fixes. At the next report point both have the same
    reported figures, hence the same pay and pause."""
    dataset = make_dataset(ldataset.dao, overlap=1, max_overlap=1, gold_accuracy_floor=0.6)
    checked, fixed = UserFactory(), UserFactory()
    for user in (checked, fixed):
        Membership.objects.create(dao=dataset.dao, user=user)
    failed = LabelerStats.objects.create(dataset=dataset, labeler=checked)
    for _ in range(GOLD_WINDOW):
        record_answer(failed, scored=True, correct=False)
    make_tasks(dataset, GOLD_WINDOW, wanted=1)
    for hold in iter(lambda: services.task_next(dataset_id=dataset.pk, labeler=fixed), None):
        services.label_submit(dataset_id=dataset.pk, labeler=fixed, hold_id=hold.pk, value="dog")
    age_labels(labeler=fixed)
    for task in LabelTask.objects.filter(dataset=dataset, is_gold=False):
        services.task_consensus_update(task_id=task.pk)
        review_services.review_fix(
            dataset_id=dataset.pk, task_id=task.pk, reviewer=reviewer, answer="cat"
        )
    figures = {}
    for user, stats in (
        (checked, failed),
        (fixed, LabelerStats.objects.get(dataset=dataset, labeler=fixed)),
    ):
        # Ordinary answers up to the next report point, as the labeler would give them.
        while stats.answers % GOLD_REPORT_EVERY:
            record_answer(stats, scored=False, correct=False)
        figures[user] = (stats.gold_shown_answered, stats.gold_shown_correct, reputation_bps(stats))
    assert figures[checked] == figures[fixed] == (GOLD_WINDOW, 0, 0)


def test_reject_reopens_the_item_for_more_labels_and_it_is_reviewed_again(
    ldataset, reviewer, labelers
):
    task = _label_all(ldataset, labelers[:3], ["cat", "dog", "bird"])
    assert task.status == TaskStatus.COMPLETE
    review_services.review_reject(
        dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, more=2, settlement=1
    )
    task.refresh_from_db()
    assert (task.status, task.wanted, task.review) == ("open", 5, "")
    # The reviewer, who saw its labels, is never handed it.
    assert services.task_next(dataset_id=ldataset.pk, labeler=reviewer) is None
    again = _label_all(ldataset, labelers[3:5], ["dog", "dog"], new=False)
    assert (again.pk, again.status, again.settlements) == (task.pk, TaskStatus.COMPLETE, 2)
    queue = selectors.review_queue(dataset_id=ldataset.pk, reviewer=reviewer, after=None)
    assert [t.pk for t in queue.items] == [task.pk]
    with pytest.raises(errors.Conflict, match="settled anew"):
        review_services.review_accept(
            dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, settlement=1
        )
    review_services.review_accept(
        dataset_id=ldataset.pk, task_id=task.pk, reviewer=reviewer, settlement=2
    )
    assert list(
        Review.objects.filter(task=task).order_by("settlement").values_list("decision", flat=True)
    ) == ["reject", "accept"]


def test_one_review_per_settlement_is_a_database_rule(ldataset, reviewer):
    (task,) = _settled(ldataset, [0.5])
    Review.objects.create(
        dataset=ldataset, task=task, settlement=1, reviewer=reviewer, decision="accept", answer=[]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            dataset=ldataset, task=task, settlement=1, reviewer=reviewer, decision="fix", answer=[]
        )


def test_refusals_name_the_problem_and_store_nothing(ldataset, reviewer, labelers):
    task = _label_all(ldataset, labelers[:3], ["cat", "cat", "dog"])
    (gold,) = make_gold(ldataset, ["dog"])
    (open_task,) = make_tasks(ldataset, 1, start=50)
    LabelTask.objects.filter(pk=gold.pk).update(status="complete", consensus=["dog"], posterior=1)
    stats_before = list(LabelerStats.objects.values_list("gold_answered", flat=True))
    cases: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
        (review_services.review_accept, {"reviewer": labelers[5]}, errors.NotAllowed, "Only rev"),
        (review_services.review_accept, {"reviewer": labelers[0]}, errors.NotAllowed, "Only rev"),
        (review_services.review_fix, {"answer": "wolf"}, errors.BadLabel, "Unknown label 'wolf'"),
        (review_services.review_fix, {"answer": ["cat", "dog"]}, errors.BadLabel, "exactly one"),
        (review_services.review_reject, {"more": 0}, errors.LabelingRefused, "from 1 to 10"),
        (review_services.review_reject, {"more": 11}, errors.LabelingRefused, "from 1 to 10"),
        (review_services.review_accept, {"task_id": gold.pk}, errors.Conflict, "not awaiting"),
        (review_services.review_accept, {"task_id": open_task.pk}, errors.Conflict, "not awaiting"),
        (review_services.review_accept, {"task_id": 2_000_000_000}, errors.NotFound, "no item"),
    ]
    for service, over, refusal, words in cases:
        kwargs: dict[str, Any] = {"dataset_id": ldataset.pk, "task_id": task.pk}
        kwargs["reviewer"] = reviewer
        kwargs.update(over)
        with pytest.raises(refusal, match=words):
            service(**kwargs)
    # A labeler of the item promoted to reviewer may not review it.
    Membership.objects.filter(dao=ldataset.dao, user=labelers[0]).update(role=Role.REVIEWER)
    with pytest.raises(errors.NotAllowed, match="You labeled item"):
        review_services.review_accept(dataset_id=ldataset.pk, task_id=task.pk, reviewer=labelers[0])
    assert not Review.objects.exists()
    assert list(LabelerStats.objects.values_list("gold_answered", flat=True)) == stats_before
    task.refresh_from_db()
    assert (task.status, task.review, task.consensus) == ("complete", "", ["cat"])
    assert not Assignment.objects.filter(labeler=reviewer).exists()


def test_a_box_fix_judges_labels_by_the_iou_rule(ldao, reviewer, labelers):
    dataset = make_dataset(
        ldao, task="boxes", labels=["car", "person"], item_kind="image", iou_threshold=0.5
    )
    near = [{"x": 11, "y": 10, "w": 20, "h": 20, "label": "car"}]
    far = [{"x": 60, "y": 60, "w": 20, "h": 20, "label": "car"}]
    LabelTask.objects.create(
        dataset=dataset,
        source_key="img",
        kind="image",
        payload={"cid": "bafy", "media_type": "image/png", "width": 100, "height": 100},
    )
    task = _label_all(dataset, labelers[:3], [near, near, far], new=False)
    if task.status != TaskStatus.COMPLETE:  # adaptive redundancy asked for more
        task = _label_all(dataset, labelers[3:5], [far, far], new=False)
    with pytest.raises(errors.BadLabel, match="outside the image"):
        review_services.review_fix(
            dataset_id=dataset.pk,
            task_id=task.pk,
            reviewer=reviewer,
            answer=[{"x": 90, "y": 10, "w": 20, "h": 20, "label": "car"}],
        )
    fix = [{"x": 10, "y": 10, "w": 20, "h": 20, "label": "car"}]
    review = review_services.review_fix(
        dataset_id=dataset.pk, task_id=task.pk, reviewer=reviewer, answer=fix
    )
    values = list(Label.objects.filter(task=task).values_list("value", flat=True))
    n_far = sum(1 for v in values if v[0]["x"] >= 50)
    assert (review.upheld, review.overturned) == (2, n_far) and n_far >= 1
    task.refresh_from_db()
    assert task.consensus == [{"x": 10.0, "y": 10.0, "w": 20.0, "h": 20.0, "label": "car"}]
