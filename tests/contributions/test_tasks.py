"""The stage tasks' retry rules, run in this process (``apply``): a lost database is retried
with backoff on its own budget, apart from the pin stage's IPFS budget, and neither counts a
delivery towards dead-lettering. The same rules against real worker processes and a real
outage: tests/faults/test_database.py and tests/faults/test_ipfs.py.

``apply`` runs a task's retries at once, in this process, ignoring the countdown: the waits
are read from the log instead. Transactional, because the retry path closes connections that
saw an error, as a worker must, which a test wrapped in a transaction cannot survive.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import OperationalError
from django.test import override_settings

from contributions import services, tasks
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution, Status
from contributions.services import upload_key
from datadao import blobs
from tests.factories import DatasetFactory, UserFactory
from tests.fleet.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

RETRY_LINE = re.compile(r"database unavailable, retry (\d+) in (\d+) s")


def _contribution(status: Status, **fields) -> Contribution:  # type: ignore[no-untyped-def]
    n = Contribution.objects.count()
    contribution = Contribution.objects.create(
        dataset=DatasetFactory(),
        contributor=UserFactory(),
        sha256=f"{n:064x}",
        size=3,
        storage_name=f"task-{n}",
        status=status,
        **fields,
    )
    blobs.store().save_bytes(upload_key(contribution), b"abc")
    return contribution


def _failing(times: int, then: Callable[..., object] | None = None, seen: list | None = None):  # type: ignore[no-untyped-def]
    """A stand-in that loses the database ``times`` times, then calls ``then``; each call
    records the contribution's delivery count in ``seen``."""
    calls = 0

    def call(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if seen is not None and args:
            seen.append(Contribution.objects.get(pk=args[0].pk).attempts)  # type: ignore[attr-defined]
        if then is None or calls <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return then(*args, **kwargs)

    return call


def _waits(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    return [(int(n), int(s)) for n, s in RETRY_LINE.findall(caplog.text)]


def test_a_stage_that_loses_the_database_is_retried_and_its_attempt_given_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    contribution = _contribution(Status.RECEIVED)
    seen: list[int] = []
    monkeypatch.setattr(
        stage_lane, "run_validation", _failing(2, then=lambda c: None, seen=seen)
    )  # fmt: skip
    assert tasks.validate_contribution.apply(args=[contribution.pk]).get() == "done"
    # Every delivery found the count at 1, its own: the two lost ones were given back.
    assert seen == [1, 1, 1]
    assert [n for n, _ in _waits(caplog)] == [1, 2]


def test_backoff_doubles_with_jitter_and_is_capped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    contribution = _contribution(Status.RECEIVED)
    monkeypatch.setattr(stage_lane, "run_validation", _failing(tasks.DB_MAX_RETRIES))
    tasks.validate_contribution.apply(args=[contribution.pk])
    waits = _waits(caplog)
    assert [n for n, _ in waits] == list(range(1, tasks.DB_MAX_RETRIES + 1))
    for n, seconds in waits:
        base = min(tasks.DB_MAX_COUNTDOWN_SECONDS, 2**n)
        # Logged rounded to whole seconds; the wait is in [base / 2, base].
        assert base // 2 <= seconds <= base, (n, seconds)


def test_past_the_database_budget_the_stage_is_left_to_the_sweeper(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    contribution = _contribution(Status.RECEIVED)
    monkeypatch.setattr(stage_lane, "run_validation", _failing(tasks.DB_MAX_RETRIES + 1))
    result = tasks.validate_contribution.apply(args=[contribution.pk])
    assert result.state == "FAILURE" and isinstance(result.result, OperationalError)
    assert f"stayed unreachable after {tasks.DB_MAX_RETRIES} retries" in caplog.text
    contribution.refresh_from_db()
    # Not dead-lettered: still waiting for its stage, which the sweeper dispatches again.
    assert (contribution.status, contribution.attempts) == (Status.VALIDATING, 0)
    assert services.stage_of(contribution) == "validate"


def test_a_claim_that_never_reached_the_database_gives_nothing_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two earlier crashes counted; the claims themselves fail, so no count of theirs to undo.
    contribution = _contribution(Status.VALIDATING, attempts=2, report={"validation": {}})
    monkeypatch.setattr(services, "contribution_begin", _failing(tasks.DB_MAX_RETRIES + 1))
    result = tasks.score_contribution.apply(args=[contribution.pk])
    assert result.state == "FAILURE"
    contribution.refresh_from_db()
    assert contribution.attempts == 2


@pytest.fixture
def ipfs_down():  # type: ignore[no-untyped-def]
    """An IPFS API address nothing listens on: every call is refused at once."""
    with override_settings(
        IPFS_BACKEND="kubo", IPFS_API_URL=f"http://127.0.0.1:{free_port()}", IPFS_TIMEOUT_SECONDS=2
    ):
        yield


@pytest.mark.usefixtures("ipfs_down")
def test_database_retries_do_not_spend_the_pin_stages_ipfs_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Celery's counter says two retries past the budget: failed at once, no retry.
    spent = _contribution(Status.PINNING, cid="bafy-not-checked")
    result = tasks.pin_contribution.apply(args=[spent.pk], retries=tasks.PIN_MAX_RETRIES + 2)
    assert result.get() == "failed"
    assert "Retry in" not in caplog.text

    # The same count, three of them database retries: one IPFS retry is left.
    contribution = _contribution(Status.PINNING, cid="bafy-not-checked")
    result = tasks.pin_contribution.apply(
        args=[contribution.pk], kwargs={"db_retries": 3}, retries=tasks.PIN_MAX_RETRIES + 2
    )
    assert result.get() == "failed"
    assert caplog.text.count("Retry in") == 1
    contribution.refresh_from_db()
    assert contribution.status == Status.FAILED
    assert contribution.failure.startswith(
        f"the IPFS backend stayed unreachable after {tasks.PIN_MAX_RETRIES} retries"
    )
