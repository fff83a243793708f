"""Labeling services on real PostgreSQL: assignment, submit, undo, gold, pausing,
adaptive redundancy, settlement and rewards."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datadao.models import DatasetStatus, Membership
from datadao.services import dataset_set_status
from labeling import errors, services
from labeling.conf import GOLD_REPORT_EVERY, GOLD_WINDOW
from labeling.models import Assignment, HoldStatus, Label, LabelerStats, LabelTask, TaskStatus
from rewards.models import RewardEntry, RewardPolicy
from tests.factories import UserFactory
from tests.labeling.conftest import age_labels, make_dataset, make_gold, make_tasks

pytestmark = pytest.mark.django_db


def test_next_holds_a_slot_and_returns_the_same_hold_until_used(ldataset, labelers):
    make_tasks(ldataset, 2)
    first = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    again = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    assert first is not None and again.pk == first.pk
    assert LabelTask.objects.get(pk=first.task_id).reserved == 1


def test_overlap_is_never_exceeded_and_nobody_gets_a_task_twice(ldataset, labelers):
    make_tasks(ldataset, 2, wanted=3)
    seen: dict[int, list[int]] = {}
    for user in labelers:  # 6 labelers, 2 tasks × 3 slots
        hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
        assert hold is not None
        seen.setdefault(hold.task_id, []).append(user.pk)
        services.label_submit(dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    assert sorted(len(v) for v in seen.values()) == [3, 3]
    extra = UserFactory()
    Membership.objects.create(dao=ldataset.dao, user=extra)
    assert services.task_next(dataset_id=ldataset.pk, labeler=extra) is None


def test_skip_gives_the_slot_back_and_is_never_offered_again(ldataset, labelers):
    (task,) = make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    services.task_skip(dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk)
    assert LabelTask.objects.get(pk=task.pk).reserved == 0
    assert services.task_next(dataset_id=ldataset.pk, labeler=labelers[0]) is None
    with pytest.raises(errors.Conflict, match="skipped"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat"
        )


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_next_and_submit_take_one_statement_each(ldataset, labelers):
    """The hot path's round trips, pinned down (``labeling.services.fastpath``): one statement
    that checks the labeler's standing and claims (or stores); the dataset's settings come from
    the process's memo, read on the first call. A regression here is a latency regression at
    scale."""
    make_tasks(ldataset, 3, wanted=2)
    # Labeler 0 has labeled before (their stats row exists), as on any but their first label.
    warm = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[0], hold_id=warm.pk, value="cat")
    first = services.task_next(dataset_id=ldataset.pk, labeler=labelers[1])
    with CaptureQueriesContext(connection) as captured:
        hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    # A task labeler 0 has not labeled (the one after theirs, which labeler 1 now holds); the
    # hold's task is the row as updated, not read again.
    assert hold is not None and hold.task_id == first.task_id + 1
    assert hold.task.reserved == LabelTask.objects.get(pk=hold.task_id).reserved == 1
    stored = Assignment.objects.get(pk=hold.pk)
    assert (stored.task_id, stored.labeler_id, stored.status) == (
        hold.task_id,
        labelers[0].pk,
        HoldStatus.ACTIVE,
    )
    assert stored.expires_at == hold.expires_at
    assert len(_statements(captured)) == 1, _statements(captured)
    with CaptureQueriesContext(connection) as captured:
        label = services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat", duration_ms=7
        )
    assert len(_statements(captured)) == 1, _statements(captured)
    stored = Label.objects.get(pk=label.pk)
    assert (stored.task_id, stored.value, stored.choice, stored.duration_ms) == (
        hold.task_id,
        ["cat"],
        label.choice,
        7,
    )
    assert stored.gold_correct is None and label.value == ["cat"]
    assert Assignment.objects.get(pk=hold.pk).status == HoldStatus.SUBMITTED
    assert LabelTask.objects.get(pk=hold.task_id).label_count == 1
    assert LabelerStats.objects.get(dataset=ldataset, labeler=labelers[0]).labels == 2


def test_the_hot_statements_are_prepared_once_per_connection(ldataset, labelers):
    """Planning them cost more than running them; prepared, a connection plans each once
    (the settings let only statements that ask for it be prepared)."""
    make_tasks(ldataset, 4)
    for user in labelers[:3]:
        hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
        services.label_submit(dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        prepared = [row[0] for row in cursor.fetchall()]
    assert [sql.split()[:2] for sql in prepared] == [["WITH", "pick"], ["WITH", "held"]], prepared
    # Nothing the ORM ran was prepared: it binds on the client.
    assert not any("datadao_user" in sql for sql in prepared)


@pytest.mark.django_db(transaction=True)
def test_a_column_added_by_a_migration_does_not_break_prepared_statements(ldataset, labelers):
    """The statements name their columns: one added to the task table by another connection
    (a deploy's migration, before the processes restart) after this connection prepared them
    changes nothing for them. (With ``t.*`` PostgreSQL refuses: "cached plan must not change
    result type".)"""
    make_tasks(ldataset, 4)
    for user in labelers[:2]:
        hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
        services.label_submit(dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("ALTER TABLE labeling_labeltask ADD COLUMN added_later integer DEFAULT 7")
    try:
        hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[2])
        label = services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[2], hold_id=hold.pk, value="dog"
        )
        assert Label.objects.get(pk=label.pk).value == ["dog"]
    finally:
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("ALTER TABLE labeling_labeltask DROP COLUMN added_later")


def _set_schema(dataset, **changes):  # type: ignore[no-untyped-def]
    # As the console saves it: the row changes under a process that has the old one in memo.
    dataset.schema = {**dataset.schema, **changes}
    dataset.save(update_fields=["schema"])


def test_a_changed_label_set_is_heeded_at_once(ldataset, labelers):
    """The memo of the dataset's settings is never trusted on its own: the statement checks
    the stored schema, so a label removed a moment ago is refused and a new one accepted."""
    make_tasks(ldataset, 3)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])  # memo warmed
    _set_schema(ldataset, labels=["cat", "bird"])
    with pytest.raises(errors.BadLabel, match="dog"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="dog"
        )
    assert Label.objects.count() == 0
    second = services.task_next(dataset_id=ldataset.pk, labeler=labelers[1])  # memo as stored
    _set_schema(ldataset, labels=["cat", "bird", "fish"])
    label = services.label_submit(
        dataset_id=ldataset.pk, labeler=labelers[1], hold_id=second.pk, value="fish"
    )
    assert Label.objects.get(pk=label.pk).value == ["fish"]
    assert services.label_submit(
        dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="bird"
    ).value == ["bird"]


def test_standing_changes_are_heeded_with_the_memo_warm(ldataset, labelers):
    """A pause, a lost membership and a closed dataset, each after the labeler's last call:
    the fast statement writes nothing and the general path refuses with its message."""
    make_tasks(ldataset, 6)
    first = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    services.label_submit(
        dataset_id=ldataset.pk, labeler=labelers[0], hold_id=first.pk, value="cat"
    )
    LabelerStats.objects.filter(dataset=ldataset, labeler=labelers[0]).update(
        paused_at=timezone.now(), paused_reason="under the floor"
    )
    with pytest.raises(errors.Paused, match="under the floor"):
        services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[1])
    Membership.objects.filter(dao=ldataset.dao, user=labelers[1]).delete()
    with pytest.raises(errors.NotAllowed, match="Only members"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[1], hold_id=hold.pk, value="cat"
        )
    services.task_next(dataset_id=ldataset.pk, labeler=labelers[2])
    dataset_set_status(dataset=ldataset, actor=None, status=DatasetStatus.CLOSED)
    with pytest.raises(errors.Conflict, match="not open for labeling"):
        services.task_next(dataset_id=ldataset.pk, labeler=labelers[3])
    assert Label.objects.count() == 1
    assert Assignment.objects.filter(status=HoldStatus.ACTIVE).count() == 2


def test_a_first_label_makes_the_labelers_stats_row(ldataset, labelers):
    make_tasks(ldataset, 1)
    assert not LabelerStats.objects.filter(labeler=labelers[2]).exists()
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[2])
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[2], hold_id=hold.pk, value="dog")
    stats = LabelerStats.objects.get(dataset=ldataset, labeler=labelers[2])
    assert (stats.labels, stats.gold_answered, stats.paused_at) == (1, 0, None)


def test_every_answer_queues_its_tasks_settle_alike(ldao, labelers, monkeypatch):
    """Queued only for the answer that fills a task, the publish would mark that answer as
    ordinary work by its time: every answer, to a check question too, queues one."""
    from labeling.services import assign, settle

    queued: list[int] = []
    monkeypatch.setattr(settle, "dispatch_task_consensus", queued.append)
    dataset = make_dataset(ldao, gold_rate=0.5)
    (task,) = make_tasks(dataset, 1, wanted=2)
    (gold,) = make_gold(dataset, ["cat"])
    draws = iter([1.0, 0.0, 1.0])  # ordinary, gold, ordinary
    monkeypatch.setattr(assign._random, "random", lambda: next(draws))
    for user in (labelers[0], labelers[1], labelers[1]):
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    assert queued == [task.pk, gold.pk, task.pk]


def test_a_task_settles_only_once_its_labels_are_past_the_undo_window(ldataset, labelers):
    """An undo is never refused for a settled task (a check question never settles, so the
    refusal would mark ordinary work): the task waits out the window, and the undo works."""
    (task,) = make_tasks(ldataset, 1)
    _label_task(ldataset, labelers[:3], "cat")
    assert services.task_consensus_update(task_id=task.pk).status == TaskStatus.OPEN
    assert LabelTask.objects.get(pk=task.pk).consensus_at is None
    back = services.label_undo(dataset_id=ldataset.pk, labeler=labelers[2])
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[2], hold_id=back.pk, value="dog")
    age_labels(task=task)
    assert services.task_consensus_update(task_id=task.pk).status in (
        TaskStatus.OPEN,
        TaskStatus.COMPLETE,
    )
    assert LabelTask.objects.get(pk=task.pk).consensus_at is not None


def test_expired_holds_are_released(ldataset, labelers):
    (task,) = make_tasks(ldataset, 1, wanted=1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    assert services.task_next(dataset_id=ldataset.pk, labeler=labelers[1]) is None
    Assignment.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    other = services.task_next(dataset_id=ldataset.pk, labeler=labelers[1])
    assert other is not None and other.task_id == task.pk
    assert LabelTask.objects.get(pk=task.pk).reserved == 1
    with pytest.raises(errors.NotFound, match="hold no task"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat"
        )


def test_an_expired_hold_cannot_be_submitted(ldataset, labelers):
    make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    Assignment.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(errors.Conflict, match="expired"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat"
        )
    assert Label.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("wolf", "Unknown label 'wolf'"),
        (["cat", "dog"], "exactly one label"),
        (7, "must be a label name"),
        ([], "Choose one label"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(ldataset, labelers, value, message):
    make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    with pytest.raises(errors.BadLabel, match=message):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value=value
        )
    assert Label.objects.count() == 0
    assert Assignment.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE


def test_double_submit_and_foreign_hold_are_refused(ldataset, labelers):
    make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat")
    with pytest.raises(errors.Conflict, match="already labeled"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="dog"
        )
    with pytest.raises(errors.NotFound, match="hold no task"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[1], hold_id=hold.pk, value="dog"
        )
    assert Label.objects.count() == 1


def test_closed_dataset_and_non_members_are_refused(ldataset, labelers):
    make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    stranger = UserFactory()
    with pytest.raises(errors.NotAllowed, match="Only members"):
        services.task_next(dataset_id=ldataset.pk, labeler=stranger)
    dataset_set_status(dataset=ldataset, actor=None, status=DatasetStatus.CLOSED)
    with pytest.raises(errors.Conflict, match="not open for labeling"):
        services.label_submit(
            dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat"
        )
    assert Label.objects.count() == 0


def test_undo_within_a_minute_reopens_the_hold(ldataset, labelers):
    (task,) = make_tasks(ldataset, 1)
    hold = services.task_next(dataset_id=ldataset.pk, labeler=labelers[0])
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat")
    back = services.label_undo(dataset_id=ldataset.pk, labeler=labelers[0])
    assert back.pk == hold.pk and back.status == HoldStatus.ACTIVE
    assert Label.objects.count() == 0
    assert LabelTask.objects.get(pk=task.pk).label_count == 0
    services.label_submit(dataset_id=ldataset.pk, labeler=labelers[0], hold_id=hold.pk, value="dog")
    Label.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    with pytest.raises(errors.Conflict, match="Nothing to undo"):
        services.label_undo(dataset_id=ldataset.pk, labeler=labelers[0])


def _label_task(dataset, users, value):  # type: ignore[no-untyped-def]
    for user in users:
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)


def test_unanimous_task_settles_and_credits_each_label(ldataset, labelers):
    RewardPolicy.objects.create(dataset=ldataset, per_label=1000)
    (task,) = make_tasks(ldataset, 1)
    _label_task(ldataset, labelers[:3], "dog")
    age_labels()
    settled = services.task_consensus_update(task_id=task.pk)
    assert settled.status == TaskStatus.COMPLETE
    assert settled.consensus == ["dog"] and settled.posterior >= 0.95
    entries = RewardEntry.objects.filter(source_type="labeling.label")
    assert entries.count() == 3
    assert all(0 < e.amount <= 1000 for e in entries)
    # Idempotent: a second delivery changes nothing and credits nothing twice.
    services.task_consensus_update(task_id=task.pk)
    assert RewardEntry.objects.filter(source_type="labeling.label").count() == 3


def test_disagreement_asks_for_more_labels_up_to_max_overlap(ldataset, labelers):
    RewardPolicy.objects.create(dataset=ldataset, per_label=1000)
    (task,) = make_tasks(ldataset, 1)
    answers = ["cat", "dog", "bird", "cat", "dog"]
    for i, user in enumerate(labelers[:5]):
        hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
        assert hold is not None, f"labeler {i} got no slot"
        services.label_submit(
            dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value=answers[i]
        )
        age_labels()
        task = services.task_consensus_update(task_id=task.pk)
        if i < 2:
            assert task.wanted == 3 and task.status == TaskStatus.OPEN
        elif i < 4:
            assert task.wanted == i + 2 and task.status == TaskStatus.OPEN
    assert task.status == TaskStatus.COMPLETE and task.wanted == 5
    assert task.posterior < 0.95
    # The minority answer earns less than the plurality.
    amounts = {
        e.account_id: e.amount for e in RewardEntry.objects.filter(source_type="labeling.label")
    }
    assert amounts[labelers[2].pk] < amounts[labelers[0].pk]
    assert services.task_next(dataset_id=ldataset.pk, labeler=labelers[5]) is None


def test_undo_refused_after_the_window_and_so_after_consensus(ldataset, labelers):
    (task,) = make_tasks(ldataset, 1)
    _label_task(ldataset, labelers[:3], "cat")
    age_labels()
    assert services.task_consensus_update(task_id=task.pk).status == TaskStatus.COMPLETE
    with pytest.raises(errors.Conflict, match="Nothing to undo"):
        services.label_undo(dataset_id=ldataset.pk, labeler=labelers[2])


def test_gold_is_served_at_the_gold_rate_and_tracked(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.5)
    make_tasks(dataset, 40)
    make_gold(dataset, ["cat"] * 40)
    user = labelers[0]
    gold_seen = 0
    for _ in range(40):
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        task = LabelTask.objects.get(pk=hold.task_id)
        gold_seen += task.is_gold
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="cat")
    assert 8 <= gold_seen <= 32  # binomial(40, 0.5): outside this is < 1e-4
    stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
    assert stats.gold_answered == gold_seen and stats.gold_correct == gold_seen
    # A check question takes a slot as ordinary work does: one each, for the one labeler.
    served = LabelTask.objects.filter(dataset=dataset, is_gold=True, reserved__gt=0)
    assert served.count() == gold_seen
    assert not served.exclude(reserved=1, label_count=1).exists()


def _answer_until_gold(dataset, user, gold_answers: int, gold_value: str):  # type: ignore[no-untyped-def]
    """Label until ``gold_answers`` gold questions were answered, gold with ``gold_value``."""
    answered = 0
    while answered < gold_answers:
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        assert hold is not None
        is_gold = LabelTask.objects.get(pk=hold.task_id).is_gold
        value = gold_value if is_gold else "cat"
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value)
        answered += is_gold


def test_labeler_under_the_gold_floor_is_paused_at_the_next_report_and_told_why(ldao, labelers):
    """Paused over two completed windows of check answers, at a report point: not at the
    answer that closed the second window, which the pause would then point at."""
    dataset = make_dataset(ldao, gold_rate=0.5, gold_accuracy_floor=0.7)
    make_tasks(dataset, 200)
    make_gold(dataset, ["cat"] * 60)
    user = labelers[0]
    _answer_until_gold(dataset, user, 2 * GOLD_WINDOW, "dog")
    stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
    assert (stats.paused_at is None) == (stats.answers % GOLD_REPORT_EVERY != 0)
    while stats.answers % GOLD_REPORT_EVERY:
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        services.label_submit(dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value="dog")
        stats.refresh_from_db()
        assert (stats.paused_at is None) == (stats.answers % GOLD_REPORT_EVERY != 0)
    with pytest.raises(errors.Paused, match="under this dataset's floor of 70%"):
        services.task_next(dataset_id=dataset.pk, labeler=user)
    stats = services.labeler_resume(dataset_id=dataset.pk, labeler=user, actor=ldao.creator)
    assert stats.paused_at is None
    assert services.task_next(dataset_id=dataset.pk, labeler=user) is not None


def test_labeler_above_the_floor_is_not_paused(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.5, gold_accuracy_floor=0.5)
    make_tasks(dataset, 200)
    make_gold(dataset, ["cat"] * 60)
    user = labelers[0]
    _answer_until_gold(dataset, user, 3 * GOLD_WINDOW, "cat")
    stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
    assert stats.gold_shown_answered >= GOLD_WINDOW and stats.paused_at is None


def test_no_gold_without_real_work(ldao, labelers):
    dataset = make_dataset(ldao, gold_rate=0.5)
    make_gold(dataset, ["cat"] * 5)
    assert services.task_next(dataset_id=dataset.pk, labeler=labelers[0]) is None


def test_a_labeler_who_saw_every_check_question_gets_real_work(ldao, labelers, monkeypatch):
    from labeling.services import assign

    dataset = make_dataset(ldao, gold_rate=0.5)
    monkeypatch.setattr(assign._random, "random", lambda: 0.0)  # every draw is a check question
    make_tasks(dataset, 3)
    gold = set(make_gold(dataset, ["cat"] * 2))
    served = []
    for _ in range(5):
        hold = services.task_next(dataset_id=dataset.pk, labeler=labelers[0])
        served.append(hold.task_id)
        services.label_submit(
            dataset_id=dataset.pk, labeler=labelers[0], hold_id=hold.pk, value="cat"
        )
    assert set(served[:2]) == {t.pk for t in gold}  # every draw is gold while any is left
    assert len(set(served)) == 5 and not set(served[2:]) & {t.pk for t in gold}
    assert services.task_next(dataset_id=dataset.pk, labeler=labelers[0]) is None


def test_a_multi_choice_check_question_is_judged_as_a_set(ldao, labelers, monkeypatch):
    from labeling.services import assign

    dataset = make_dataset(ldao, multi_choice=True, gold_rate=0.5)
    monkeypatch.setattr(assign._random, "random", lambda: 0.0)
    make_tasks(dataset, 1)
    gold = LabelTask.objects.create(
        dataset=dataset, source_key="g", kind="text", payload={}, gold=["cat", "dog"], is_gold=True
    )
    verdicts = []
    for user, value in zip(
        labelers[:3], [["dog", "cat"], ["cat"], ["cat", "dog", "bird"]], strict=True
    ):
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        assert hold.task_id == gold.pk
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value
        )
        verdicts.append(Label.objects.get(pk=label.pk).gold_correct)
        assert label.gold_correct == verdicts[-1]
    assert verdicts == [True, False, False]
    assert LabelTask.objects.get(pk=gold.pk).label_count == 3
    counters = LabelerStats.objects.filter(dataset=dataset).values_list(
        "labels", "gold_answered", "gold_correct"
    )
    assert sorted(counters) == [(1, 1, 0), (1, 1, 0), (1, 1, 1)]


def test_multi_choice_labels(ldao, labelers):
    dataset = make_dataset(ldao, multi_choice=True)
    (task,) = make_tasks(dataset, 1)
    for user, value in zip(labelers[:3], [["dog", "cat"], ["cat", "dog"], ["cat"]], strict=True):
        hold = services.task_next(dataset_id=dataset.pk, labeler=user)
        label = services.label_submit(
            dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=value
        )
        assert label.value == sorted(value, key=["cat", "dog", "bird"].index)
        assert label.choice is None
    age_labels()
    task = services.task_consensus_update(task_id=task.pk)
    assert task.consensus == ["cat", "dog"]


def test_set_gold_requires_a_manager(ldataset, labelers):
    (task,) = make_tasks(ldataset, 1)
    with pytest.raises(errors.NotAllowed):
        services.task_set_gold(task_id=task.pk, answer="cat", actor=labelers[0])
    gold = services.task_set_gold(task_id=task.pk, answer="cat", actor=ldataset.dao.creator)
    assert gold.is_gold and gold.gold == ["cat"]
    with pytest.raises(errors.BadLabel):
        services.task_set_gold(task_id=task.pk, answer="wolf", actor=ldataset.dao.creator)


def test_the_hot_and_the_general_path_keep_the_same_books(ldao, labelers, monkeypatch):
    """The hot statement does the check-question bookkeeping in SQL, the general path in
    Python (``submit.record_answer``): the same script of answers, undos and answers given
    again leaves the same counters, reports, pause, holds and task slots (the same tasks
    served, in the same order, a check question taking a slot as ordinary work does) on
    either path."""
    import random

    from labeling.services import assign, fastpath

    books = []
    for use_hot, user in ((True, labelers[0]), (False, labelers[1])):
        dataset = make_dataset(ldao, gold_rate=0.4, gold_accuracy_floor=0.6)
        make_tasks(dataset, 120)
        make_gold(dataset, ["cat"] * 120)
        monkeypatch.setattr(fastpath, "enabled", lambda use_hot=use_hot: use_hot)
        draws = random.Random(11)
        monkeypatch.setattr(assign, "_random", draws)
        script = random.Random(5)
        kinds = []
        for _ in range(90):
            try:
                hold = services.task_next(dataset_id=dataset.pk, labeler=user)
                kinds.append(hold.task.is_gold)
                first, second = script.sample(["cat", "dog"], 2)
                services.label_submit(
                    dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=first
                )
                if script.random() < 0.3:
                    services.label_undo(dataset_id=dataset.pk, labeler=user)
                    services.label_submit(
                        dataset_id=dataset.pk, labeler=user, hold_id=hold.pk, value=second
                    )
            except errors.Paused:
                kinds.append("paused")
                break
        stats = LabelerStats.objects.get(dataset=dataset, labeler=user)
        holds = list(
            Assignment.objects.filter(dataset=dataset, labeler=user)
            .order_by("pk")
            .values_list("status", "answered", "gold_correct")
        )
        slots = list(
            LabelTask.objects.filter(dataset=dataset)
            .order_by("pk")
            .values_list("is_gold", "reserved", "label_count", "status")
        )
        books.append(
            (
                kinds,
                holds,
                slots,
                stats.labels,
                stats.answers,
                stats.gold_answered,
                stats.gold_correct,
                stats.gold_window_correct,
                stats.gold_shown_answered,
                stats.gold_shown_correct,
                stats.paused_reason,
            )
        )
    assert books[0] == books[1]
    kinds, _, slots, labels, answers, gold_answered, *_, reason = books[0]
    # Both kinds took their slots by the same rule.
    assert {(g, r) for g, r, _, _ in slots if r} == {(True, 1), (False, 1)}
    # The script went through report points and closed windows, with undos in between, to
    # a pause (random answers to "cat" check questions are right half the time).
    assert answers > labels >= GOLD_REPORT_EVERY and gold_answered >= 2 * GOLD_WINDOW
    assert kinds[-1] == "paused" and "under this dataset's floor of 60%" in reason
