"""The review API and page: the queue as JSON, page by page; decisions with their refusals as
4xx JSON naming the problem; the page's states."""

from __future__ import annotations

import pytest

from datadao.models import Membership, Role
from labeling.models import LabelerStats, LabelTask, Review, TaskStatus
from tests.factories import UserFactory
from tests.labeling.conftest import login, make_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(ldao):  # type: ignore[no-untyped-def]
    user = UserFactory()
    Membership.objects.create(dao=ldao, user=user, role=Role.REVIEWER)
    return user


def _settle(dataset, posteriors: list[float]) -> list[LabelTask]:  # type: ignore[no-untyped-def]
    tasks = make_tasks(dataset, len(posteriors), start=LabelTask.objects.count())
    for task, posterior in zip(tasks, posteriors, strict=True):
        LabelTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETE, consensus=["dog"], posterior=posterior, settlements=1
        )
    return tasks


def test_the_queue_pages_by_cursor(ldataset, reviewer):
    tasks = _settle(ldataset, [0.8, 0.5, 0.6])
    client = login(reviewer)
    url = f"/api/labeling/{ldataset.pk}/review"
    first = client.get(url, {"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == [tasks[1].pk, tasks[2].pk]
    assert first["items"][0] == {
        "id": tasks[1].pk,
        "settlement": 1,
        "item": {"kind": "text", "text": "item 1"},
        "consensus": ["dog"],
        "posterior": 0.5,
        "answers": [],
    }
    assert (first["task_type"], first["labels"]) == ("classification", ["cat", "dog", "bird"])
    second = client.get(url, {"limit": 2, "after": first["next"]}).json()
    assert [i["id"] for i in second["items"]] == [tasks[0].pk] and second["next"] is None
    bad = client.get(url, {"after": "soon"})
    assert bad.status_code == 400 and "'after' must be" in bad.json()["detail"]


def test_decisions_through_the_api(ldataset, reviewer):
    tasks = _settle(ldataset, [0.5, 0.6, 0.7])
    client = login(reviewer)
    base = f"/api/labeling/{ldataset.pk}/review"

    def post(task, decision, body):  # type: ignore[no-untyped-def]
        return client.post(f"{base}/{task.pk}/{decision}", body, content_type="application/json")

    accepted = post(tasks[0], "accept", {"settlement": 1})
    assert accepted.status_code == 201
    assert accepted.json()["decision"] == "accept"
    assert accepted.json()["reviewer"] == reviewer.address
    fixed = post(tasks[1], "fix", {"answer": "cat"})
    assert fixed.status_code == 201 and fixed.json()["answer"] == ["cat"]
    rejected = post(tasks[2], "reject", {"more": 2})
    assert rejected.status_code == 201 and rejected.json()["more"] == 2
    assert LabelTask.objects.get(pk=tasks[2].pk).status == TaskStatus.OPEN
    assert client.get(base).json()["items"] == []
    # Refusals: JSON naming the problem, nothing stored.
    (other,) = _settle(ldataset, [0.4])
    cases = [
        ("fix", {}, 400, 'Send the final answer as {"answer"'),
        ("fix", {"answer": "wolf"}, 400, "Unknown label 'wolf'"),
        ("reject", {"more": "many"}, 400, "'more' must be a whole number"),
        ("accept", {"settlement": "1"}, 400, "'settlement' must be"),
        ("accept", {"settlement": 2}, 409, "settled anew"),
    ]
    for decision, body, status, words in cases:
        refused = post(other, decision, body)
        assert refused.status_code == status, (decision, body, refused.content)
        assert words in refused.json()["detail"]
    again = post(tasks[0], "fix", {"answer": "cat"})
    assert again.status_code == 409 and "already reviewed (accept)" in again.json()["detail"]
    assert Review.objects.count() == 3
    assert not LabelerStats.objects.filter(gold_answered__gt=0).exists()


def test_contributors_are_refused_by_name(ldataset, labelers):
    (task,) = _settle(ldataset, [0.5])
    client = login(labelers[0])
    refused = client.get(f"/api/labeling/{ldataset.pk}/review")
    assert refused.status_code == 403
    assert "Only reviewers, admins and the creator" in refused.json()["detail"]
    refused = client.post(
        f"/api/labeling/{ldataset.pk}/review/{task.pk}/accept", {}, content_type="application/json"
    )
    assert refused.status_code == 403 and not Review.objects.exists()


def test_the_page_opens_in_the_callers_state(ldao, ldataset, reviewer, labelers):
    url = f"/daos/{ldao.slug}/{ldataset.slug}/review"
    ready = login(reviewer).get(url)
    assert ready.status_code == 200 and b'id="reviewer"' in ready.content
    contributor = login(labelers[0]).get(url)
    assert b'data-state="not_reviewer"' in contributor.content
    assert b'id="reviewer"' not in contributor.content
