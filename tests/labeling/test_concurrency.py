"""20 labelers asking ``next`` at once on real PostgreSQL (threads, one connection each):
no task ever gets more labels than its overlap, and no slot is handed out twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from labeling import services
from labeling.models import Assignment, Label, LabelTask
from tests.labeling.conftest import make_labelers, make_tasks

pytestmark = pytest.mark.django_db(transaction=True)

LABELERS = 20
TASKS = 30
OVERLAP = 3


def test_twenty_concurrent_labelers_never_exceed_the_overlap(ldataset):
    make_tasks(ldataset, TASKS, wanted=OVERLAP)
    users = make_labelers(ldataset.dao, LABELERS)
    barrier = threading.Barrier(LABELERS)
    failures: list[BaseException] = []
    handed: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(user) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            while True:
                hold = services.task_next(dataset_id=ldataset.pk, labeler=user)
                if hold is None:
                    return
                with lock:
                    handed.append((hold.task_id, user.pk))
                services.label_submit(
                    dataset_id=ldataset.pk, labeler=user, hold_id=hold.pk, value="cat"
                )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    # Every slot was handed out exactly once and every task got exactly its overlap.
    assert len(handed) == len(set(handed)) == TASKS * OVERLAP
    per_task = Counter(task for task, _ in handed)
    assert set(per_task.values()) == {OVERLAP}
    assert Label.objects.filter(dataset=ldataset).count() == TASKS * OVERLAP
    assert all(t.label_count == OVERLAP == t.reserved for t in LabelTask.objects.all())
    assert Assignment.objects.filter(status="active").count() == 0
