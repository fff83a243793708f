"""The per-dataset privacy budget: its ledger of charges, the rule a DP job must meet to be
queued and to start, and audited changes to the totals. Spent never goes down."""

from __future__ import annotations

import math

from django.db import transaction

from datadao.errors import Detail
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
    by_queued = Detail(" or held by queued jobs") if any(held) else ""
    if spent_e + epsilon > budget.epsilon * (1 + BUDGET_SLACK):
        raise SyntheticRefused(
            Detail(
                "This job's ε=%(epsilon)s would exceed the dataset's privacy "
                "budget: %(spent_e)s of %(epsilon2)s is already "
                "spent%(by_queued)s.",
                epsilon=format(epsilon, "g"),
                spent_e=format(spent_e, "g"),
                epsilon2=format(budget.epsilon, "g"),
                by_queued=by_queued,
            )
        )
    if spent_d + delta > budget.delta * (1 + BUDGET_SLACK):
        raise SyntheticRefused(
            Detail(
                "This job's δ=%(delta)s would exceed the dataset's privacy "
                "budget: δ=%(spent_d)s of %(delta2)s is already "
                "spent%(by_queued)s.",
                delta=format(delta, "g"),
                spent_d=format(spent_d, "g"),
                delta2=format(budget.delta, "g"),
                by_queued=by_queued,
            )
        )


@transaction.atomic
def privacy_budget_set(
    *, dataset: Dataset, epsilon: float, delta: float | None = None, actor: User | None
) -> PrivacyBudget:
    """Create or change a dataset's privacy budget, audited. Refuses a total below what was
    already spent (spent never goes down) and values out of range."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise SyntheticRefused(Detail("The total ε must be a number above 0."))
    if delta is not None and not 0 < delta < 1:
        raise SyntheticRefused(Detail("The total δ must be between 0 and 1."))
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
            Detail(
                "The total ε cannot go below the %(epsilon_spent)s already spent.",
                epsilon_spent=format(budget.epsilon_spent, "g"),
            )
        )
    if budget.delta < budget.delta_spent:
        raise SyntheticRefused(
            Detail(
                "The total δ cannot go below the %(delta_spent)s already spent.",
                delta_spent=format(budget.delta_spent, "g"),
            )
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
        raise SyntheticRefused(Detail("The dataset has no privacy budget."))
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
