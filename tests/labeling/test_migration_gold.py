"""labeling 0002's data step on rows from before it: submitted holds are marked answered and
their check questions scored from their labels; a labeler's reported figures are their
completed windows of check answers, in the order given."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from labeling.models import Assignment, HoldStatus, Label, LabelerStats
from tests.labeling.conftest import make_gold, make_tasks

pytestmark = pytest.mark.django_db

step = importlib.import_module("labeling.migrations.0002_gold_first_answer_and_reports")


def test_existing_rows_are_brought_in_line(ldataset, labelers):
    user = labelers[0]
    gold = make_gold(ldataset, ["cat"] * 12)
    (ordinary,) = make_tasks(ldataset, 1)
    start = timezone.now() - timedelta(hours=1)
    # 12 check answers: the first ten have 7 right; the last two (an open window) are right.
    right = [True] * 7 + [False] * 3 + [True, True]
    for i, (task, ok) in enumerate(zip(gold, right, strict=True)):
        at = start + timedelta(seconds=i)
        Assignment.objects.create(
            dataset=ldataset, task=task, labeler=user, status=HoldStatus.SUBMITTED, expires_at=at
        )
        Label.objects.create(
            dataset=ldataset,
            task=task,
            labeler=user,
            value=["cat" if ok else "dog"],
            gold_correct=ok,
            created_at=at,
        )
    Assignment.objects.create(
        dataset=ldataset, task=ordinary, labeler=user, status=HoldStatus.ACTIVE, expires_at=start
    )
    Assignment.objects.update(answered=False)
    LabelerStats.objects.create(
        dataset=ldataset, labeler=user, labels=12, gold_answered=12, gold_correct=9
    )
    LabelerStats.objects.create(dataset=ldataset, labeler=labelers[1], labels=3)
    step._existing_rows(apps, None)
    held = Assignment.objects.filter(task__in=gold).order_by("task_id")
    assert [(h.answered, h.gold_correct) for h in held] == [(True, ok) for ok in right]
    assert not Assignment.objects.get(task=ordinary).answered
    stats = LabelerStats.objects.get(labeler=user)
    assert (stats.answers, stats.gold_window_correct) == (12, 7)
    assert (stats.gold_shown_answered, stats.gold_shown_correct) == (10, 7)
    assert stats.gold_accuracy == 0.7
    other = LabelerStats.objects.get(labeler=labelers[1])
    assert (other.answers, other.gold_shown_answered, other.gold_accuracy) == (3, 0, None)
