"""The per-dataset privacy budget: its ledger of charges, the rule a DP job must meet to be
queued and to start, and audited changes to the totals. Spent never goes down."""

from __future__ import annotations

import math

from django.db import transaction

from datadao.models import Dataset, User
from datadao.services import audit_record
from synthetic.dp_request import DEFAULT_DELTA
from synthetic.errors import SyntheticRefused
from synthetic.models import ACTIVE, BUDGET_SLACK, PrivacyBudget, PrivacyCharge, SyntheticJob


def reserved(dataset: Dataset) -> tuple[float, float]:
    """(ε, δ) asked for by DP jobs queued or running but not yet charged for an attempt."""
    jobs = SyntheticJob.objects.filter(
        dataset=dataset, dp_epsilon__isnull=False, status__in=ACTIVE, privacy_charges__isnull=True
    )
    epsilon = delta = 0.0
    for job in jobs.only("dp_epsilon", "dp_delta"):
        epsilon += job.dp_epsilon or 0.0
        delta += job.dp_delta or DEFAULT_DELTA
    return epsilon, delta


def refuse_over_budget(
    budget: PrivacyBudget, epsilon: float, delta: float, *, held: tuple[float, float]
) -> None:
    """The rule both job creation and the start of training apply (the caller holds the
    budget's row lock)."""
    spent_e = budget.epsilon_spent + held[0]
    spent_d = budget.delta_spent + held[1]
    by_queued = " or held by queued jobs" if any(held) else ""
    if spent_e + epsilon > budget.epsilon * (1 + BUDGET_SLACK):
        raise SyntheticRefused(
            f"This job's ε={epsilon:g} would exceed the dataset's privacy budget: "
            f"{spent_e:g} of {budget.epsilon:g} is already spent{by_queued}."
        )
    if spent_d + delta > budget.delta * (1 + BUDGET_SLACK):
        raise SyntheticRefused(
            f"This job's δ={delta:g} would exceed the dataset's privacy budget: "
            f"δ={spent_d:g} of {budget.delta:g} is already spent{by_queued}."
        )


@transaction.atomic
def privacy_budget_set(
    *, dataset: Dataset, epsilon: float, delta: float | None = None, actor: User | None
) -> PrivacyBudget:
    """Create or change a dataset's privacy budget, audited. Refuses a total below what was
    already spent (spent never goes down) and values out of range."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise SyntheticRefused("The total ε must be a number above 0.")
    if delta is not None and not 0 < delta < 1:
        raise SyntheticRefused("The total δ must be between 0 and 1.")
    budget = PrivacyBudget.objects.select_for_update().filter(dataset=dataset).first()
    before = None
    if budget is None:
        budget = PrivacyBudget(dataset=dataset, epsilon=epsilon)
    else:
        before = {"epsilon": budget.epsilon, "delta": budget.delta}
    budget.epsilon = epsilon
    if delta is not None:
        budget.delta = delta
    if budget.epsilon < budget.epsilon_spent:
        raise SyntheticRefused(
            f"The total ε cannot go below the {budget.epsilon_spent:g} already spent."
        )
    if budget.delta < budget.delta_spent:
        raise SyntheticRefused(
            f"The total δ cannot go below the {budget.delta_spent:g} already spent."
        )
    budget.save()
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="synthetic.privacy_budget_set",
        obj=budget,
        details={
            "before": before,
            "after": {"epsilon": budget.epsilon, "delta": budget.delta},
            "spent": {"epsilon": budget.epsilon_spent, "delta": budget.delta_spent},
        },
    )
    return budget


def charge(job: SyntheticJob) -> None:
    """Charge one start of DP training to the dataset's budget, under its row lock (two jobs
    starting at once cannot both fit under it). Never refunded."""
    budget = PrivacyBudget.objects.select_for_update().filter(dataset_id=job.dataset_id).first()
    if budget is None:
        raise SyntheticRefused("The dataset has no privacy budget.")
    epsilon, delta = float(job.dp_epsilon or 0.0), float(job.dp_delta or DEFAULT_DELTA)
    refuse_over_budget(budget, epsilon, delta, held=(0.0, 0.0))
    budget.epsilon_spent += epsilon
    budget.delta_spent += delta
    budget.save(update_fields=["epsilon_spent", "delta_spent"])
    PrivacyCharge.objects.create(
        budget=budget, job=job, attempt=job.attempts, epsilon=epsilon, delta=delta
    )
    job.epsilon_spent = (job.epsilon_spent or 0.0) + epsilon
    audit_record(
        actor=None,
        dao=job.dataset.dao,
        verb="synthetic.privacy_charged",
        obj=job,
        details={
            "epsilon": epsilon,
            "delta": delta,
            "attempt": job.attempts,
            "spent": {"epsilon": budget.epsilon_spent, "delta": budget.delta_spent},
        },
    )
