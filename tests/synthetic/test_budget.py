"""The privacy-budget ledger: DP training is charged when it starts and never refunded."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from datadao.models import AuditEvent
from synthetic import budget as budget_services
from synthetic import services
from synthetic.models import JobStatus, PrivacyBudget, PrivacyCharge, SyntheticJob
from tests.synthetic.test_jobs import _iris_dataset


def _start(dataset, epsilon: float) -> SyntheticJob | None:  # type: ignore[no-untyped-def]
    job = services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=epsilon)
    return services.job_begin(job_id=job.pk)


@pytest.mark.django_db
def test_failed_and_cancelled_runs_stay_charged():
    """The attack that spent 8 of a budget of 2: start a DP job, let it fail (or cancel it
    while it trains), start another. DP-SGD ran each time; the ledger must say so."""
    dataset = _iris_dataset()
    budget = budget_services.privacy_budget_set(dataset=dataset, epsilon=2.0, actor=None)
    first = _start(dataset, 2.0)
    assert first is not None and first.status == JobStatus.RUNNING
    services.job_fail(job_id=first.pk, status=JobStatus.FAILED, error="worker crashed")
    budget.refresh_from_db()
    assert (budget.epsilon_spent, budget.delta_spent) == (2.0, 1e-5)
    with pytest.raises(services.SyntheticRefused, match=r"ε=2 would exceed .* 2 of 2 is already"):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=2.0)
    with pytest.raises(services.SyntheticRefused, match=r"ε=0\.1 would exceed"):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=0.1)
    assert PrivacyCharge.objects.filter(job=first).count() == 1
    assert AuditEvent.objects.filter(verb="synthetic.privacy_charged").count() == 1


@pytest.mark.django_db
def test_a_cancel_while_training_refunds_nothing_and_a_queued_cancel_charges_nothing():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, actor=None)
    queued = services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=2.0)
    services.job_cancel(job=queued, actor=None)  # never trained: nothing spent
    running = _start(dataset, 2.0)
    assert running is not None
    services.job_cancel(job=running, actor=None)
    services.job_fail(job_id=running.pk, status=JobStatus.CANCELLED, error="cancelled")
    assert PrivacyBudget.objects.get(dataset=dataset).epsilon_spent == 2.0
    with pytest.raises(services.SyntheticRefused, match="2 of 3 is already spent"):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.5)


@pytest.mark.django_db
def test_each_attempt_is_charged_and_a_start_past_the_budget_fails_unstarted():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, actor=None)
    job = _start(dataset, 2.0)
    assert job is not None
    # The worker died mid-training; the task is redelivered and training starts again.
    SyntheticJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    assert services.job_begin(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("not started: This job's ε=2 would exceed")
    assert PrivacyBudget.objects.get(dataset=dataset).epsilon_spent == 2.0
    assert job.epsilon_spent == 2.0


@pytest.mark.django_db
def test_delta_is_accounted():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=10.0, delta=2e-5, actor=None)
    services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.0)
    services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.0)
    with pytest.raises(
        services.SyntheticRefused, match=r"δ=1e-05 would exceed .* δ=2e-05 of 2e-05"
    ):
        services.job_create(dataset=dataset, actor=None, rows_wanted=10, dp_epsilon=1.0)


@pytest.mark.django_db
def test_budget_changes_are_audited_and_never_below_what_was_spent():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, actor=None)
    _start(dataset, 2.0)
    with pytest.raises(services.SyntheticRefused, match="cannot go below the 2 already spent"):
        budget_services.privacy_budget_set(dataset=dataset, epsilon=1.0, actor=None)
    with pytest.raises(services.SyntheticRefused, match="δ cannot go below"):
        budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, delta=1e-6, actor=None)
    with pytest.raises(services.SyntheticRefused, match="above 0"):
        budget_services.privacy_budget_set(dataset=dataset, epsilon=float("nan"), actor=None)
    budget_services.privacy_budget_set(dataset=dataset, epsilon=4.0, actor=None)
    events = AuditEvent.objects.filter(verb="synthetic.privacy_budget_set").order_by("id")
    assert [e.details["after"]["epsilon"] for e in events] == [3.0, 4.0]
    assert events.last().details["before"]["epsilon"] == 3.0
    # The database refuses it too, whoever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        PrivacyBudget.objects.filter(dataset=dataset).update(epsilon=1.0)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_starts_against_a_budget_for_one():
    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=1.0, actor=None)
    # Two jobs queued before either started (each fits alone), as two console users would.
    jobs = [
        SyntheticJob.objects.create(dataset=dataset, rows_wanted=10, dp_epsilon=1.0, dp_delta=1e-5)
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def begin(job_id: int) -> None:
        try:
            barrier.wait()
            outcomes[job_id] = services.job_begin(job_id=job_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=begin, args=(j.pk,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    started = [j for j in outcomes.values() if j is not None]
    assert len(outcomes) == 2 and len(started) == 1
    statuses = sorted(SyntheticJob.objects.values_list("status", flat=True))
    assert statuses == [JobStatus.FAILED, JobStatus.RUNNING]
    assert PrivacyBudget.objects.get(dataset=dataset).epsilon_spent == 1.0
    assert PrivacyCharge.objects.count() == 1


@pytest.mark.django_db
def test_the_console_form_refuses_a_total_below_what_was_spent():
    from synthetic.admin import PrivacyBudgetForm

    dataset = _iris_dataset()
    budget = budget_services.privacy_budget_set(dataset=dataset, epsilon=3.0, actor=None)
    _start(dataset, 2.0)
    budget.refresh_from_db()
    form = PrivacyBudgetForm(
        data={"dataset": dataset.pk, "epsilon": "1.5", "delta": "0.0001"}, instance=budget
    )
    assert not form.is_valid()
    assert form.errors["epsilon"] == ["The total ε cannot go below the 2 already spent."]
    raised = PrivacyBudgetForm(
        data={"dataset": dataset.pk, "epsilon": "5", "delta": "0.0001"}, instance=budget
    )
    assert raised.is_valid(), raised.errors


@pytest.mark.django_db
def test_a_dp_job_that_fails_in_training_stays_charged_and_says_what_to_declare():
    """Through the real task: iris declares no ranges, and at ε=1 its 98 training rows are
    too few to learn them privately. The job fails with the fix in its error, after the
    charge: the rows were read."""
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    budget_services.privacy_budget_set(dataset=dataset, epsilon=1.0, actor=None)
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=20,
        epochs=1,
        dp_epsilon=1.0,
        input_name="iris.csv",
    )
    assert run_synthetic_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "declare min and max" in job.error
    assert PrivacyBudget.objects.get(dataset=dataset).epsilon_spent == 1.0
    with pytest.raises(services.SyntheticRefused, match="1 of 1 is already spent"):
        services.job_create(dataset=dataset, actor=None, rows_wanted=20, dp_epsilon=1.0)


@pytest.mark.django_db
def test_a_dp_job_shows_its_owner_only_what_the_accountant_covers():
    from synthetic.tasks import run_synthetic_job

    dataset = _iris_dataset()
    schema = dict(dataset.schema)
    schema["columns"] = [
        {**c, "min": 0, "max": 10} if c["type"] == "float" else c for c in schema["columns"]
    ]
    type(dataset).objects.filter(pk=dataset.pk).update(schema=schema)
    budget_services.privacy_budget_set(dataset=dataset, epsilon=8.0, actor=None)
    job = services.job_create(
        dataset=dataset,
        actor=None,
        rows_wanted=20,
        epochs=2,
        dp_epsilon=8.0,
        input_name="iris.csv",
    )
    assert run_synthetic_job(job.pk) == "done"
    job.refresh_from_db()
    assert job.status in (JobStatus.PUBLISHED, JobStatus.REJECTED_BY_GATE), job.error
    assert list(job.report["generators"]) == ["gan"]
    assert "withheld" in job.report["generators"]["gan"]
    dp = job.provenance["dp"]
    assert dp["noise_reproducible_from_seed"] is False and dp["target_epsilon"] == 8.0
    assert job.provenance["input_sha256"] is None
    assert job.epsilon_spent == 8.0
