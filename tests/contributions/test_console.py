"""Console: contributions are DAO-scoped; overrides and retries are audited service calls."""

from __future__ import annotations

import pytest
from django.test import Client

from contributions.errors import ContributionRefused
from contributions.models import Contribution, Review, Status
from contributions.services import contribution_override
from datadao.models import AuditEvent
from tests.factories import DAOFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _contribution(dataset, **fields) -> Contribution:  # type: ignore[no-untyped-def]
    defaults = {
        "contributor": UserFactory(),
        "sha256": f"{Contribution.objects.count():064x}",
        "size": 10,
        "storage_name": f"s{Contribution.objects.count()}",
        "status": Status.REJECTED,
    }
    return Contribution.objects.create(dataset=dataset, **(defaults | fields))


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_creator_sees_only_their_daos_contributions() -> None:
    mine, theirs = DatasetFactory(name="Mine"), DatasetFactory(name="Theirs")
    a = _contribution(mine, original_name="mine.csv")
    b = _contribution(theirs, original_name="theirs.csv")
    client = _as(mine.dao.creator)
    body = client.get("/admin/contributions/contribution/").content.decode()
    assert f"/admin/contributions/contribution/{a.pk}/change/" in body
    assert f"/admin/contributions/contribution/{b.pk}/change/" not in body
    response = client.get(f"/admin/contributions/contribution/{b.pk}/change/")
    assert response.status_code == 302


def test_review_queue_and_override_accept_is_audited() -> None:
    dataset = DatasetFactory()
    flagged = _contribution(dataset, review=Review.PENDING, score=9000)
    other = _contribution(dataset)
    client = _as(dataset.dao.creator)
    queue = client.get("/admin/contributions/contribution/?queue=pending").content.decode()
    assert f"/{flagged.pk}/change/" in queue and f"/{other.pk}/change/" not in queue
    response = client.post(
        "/admin/contributions/contribution/",
        {"action": "accept_override", "_selected_action": [flagged.pk]},
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == Status.ACCEPTED and flagged.review == Review.OVERRIDDEN
    event = AuditEvent.objects.get(verb="contribution.override_accept")
    assert event.actor == dataset.dao.creator and event.details["from"] == "rejected"


def test_override_refusals_name_the_problem() -> None:
    dataset = DatasetFactory()
    actor = dataset.dao.creator
    never_validated = _contribution(dataset)
    with pytest.raises(ContributionRefused, match="failed validation"):
        contribution_override(contribution=never_validated, actor=actor, decision="accept")
    received = _contribution(dataset, status=Status.RECEIVED)
    with pytest.raises(ContributionRefused, match="Only an accepted or pinned contribution"):
        contribution_override(contribution=received, actor=actor, decision="reject")
    with pytest.raises(ContributionRefused, match="not waiting for review"):
        contribution_override(contribution=received, actor=actor, decision="confirm")


def test_retry_puts_a_failed_pin_back_to_pinning() -> None:
    dataset = DatasetFactory()
    failed = _contribution(dataset, status=Status.FAILED, score=8000, failure="node down")
    client = _as(dataset.dao.creator)
    client.post(
        "/admin/contributions/contribution/",
        {"action": "retry_failed", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert failed.status == Status.ACCEPTED and failed.failure == ""
    assert AuditEvent.objects.filter(verb="contribution.retried").exists()


def test_contributors_cannot_reach_the_contribution_console() -> None:
    dao = DAOFactory()
    response = _as(UserFactory()).get("/admin/contributions/contribution/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert dao.pk


def test_attest_refuses_to_start_without_a_validator_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from contributions.tasks import attest_contribution

    dataset = DatasetFactory()
    accepted = _contribution(dataset, status=Status.ACCEPTED, score=9000)
    monkeypatch.delenv("VALIDATOR_KEY", raising=False)
    monkeypatch.delenv("VALIDATOR_KEYSTORE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="set VALIDATOR_KEY"):
        attest_contribution.apply(args=[accepted.pk]).get()
    accepted.refresh_from_db()
    assert accepted.status == Status.ACCEPTED and accepted.attempts == 0
