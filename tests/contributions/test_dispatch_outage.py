"""A broker outage at publish time delays work, never fails a committed request."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from kombu.exceptions import OperationalError

from contributions import tasks
from contributions.models import Contribution, Status
from tests.contributions.conftest import good_csv

pytestmark = pytest.mark.django_db


def test_upload_is_accepted_and_kept_when_the_broker_is_down(
    tabular, member_client, monkeypatch, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    from contributions.messages import TICKET_KEY, _ticket_redis

    # No batch ticket outstanding (another test of this process may have left one): an upload
    # publishes only when it takes the ticket.
    _ticket_redis().delete(TICKET_KEY)
    calls = []

    def unreachable(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # A small file waits for a batch (or enters through the express task), a large one
    # through validate.
    monkeypatch.setattr(tasks.process_batch, "apply_async", lambda **kw: unreachable(kw))
    monkeypatch.setattr(tasks.process_contribution, "delay", unreachable)
    monkeypatch.setattr(tasks.validate_contribution, "delay", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            f"/api/datasets/{tabular.pk}/contributions",
            {"file": SimpleUploadedFile("d.csv", good_csv())},
        )
    assert response.status_code == 201, response.content
    assert calls, "the publish was attempted after commit"
    contribution = Contribution.objects.get(pk=response.json()["id"])
    # Kept in a non-final state: the sweeper dispatches it once the broker is back.
    assert contribution.status == Status.RECEIVED
    # The failed publish gave the batch ticket back: the next upload publishes again.
    assert _ticket_redis().get(TICKET_KEY) is None
