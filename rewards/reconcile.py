"""Reconciliation: every closed epoch's signed total against what the chain shows paid plus
what is still unclaimed, and every on-chain claim against the allocation it must match.

A mismatch means money moved that the platform did not sign for (a faulty tree, a contract
not ours, a bug): it is logged as an error, counted for the ``datadao_reconciliation_mismatches``
metric, and audited once per finding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from datadao.models import DAO, AuditEvent
from datadao.services import audit_record
from rewards.models import Allocation, ChainEvent, Epoch, EpochStatus

logger = logging.getLogger(__name__)


@dataclass
class Finding:
    dao: str
    epoch: int
    problem: str


@dataclass
class Reconciliation:
    epochs_checked: int = 0
    findings: list[Finding] = field(default_factory=list)


def _epoch_findings(dao: DAO, epoch: Epoch) -> list[str]:
    problems = []
    chain_events = ChainEvent.objects.filter(dao=dao, epoch=epoch.number, confirmed=True)
    roots = [e for e in chain_events if e.name == "EpochRootSet"]
    if not roots:
        return problems  # not relayed (or not final) yet: nothing on chain to compare
    root_event = roots[0]
    if str(root_event.args.get("root", "")).lower() != epoch.root.lower():
        problems.append(
            f"root on chain {root_event.args.get('root')} is not the signed {epoch.root}"
        )
    if int(root_event.amount or 0) != int(epoch.total):
        problems.append(f"total on chain {root_event.amount} is not the signed {epoch.total}")
    allocations = {a.account.lower(): int(a.amount) for a in Allocation.objects.filter(epoch=epoch)}
    claimed: dict[str, int] = {}
    for event in chain_events:
        if event.name != "Claimed":
            continue
        account = event.account.lower()
        amount = int(event.amount or 0)
        if account in claimed:
            problems.append(f"{event.account} claimed twice")
        claimed[account] = claimed.get(account, 0) + amount
        if allocations.get(account) != amount:
            problems.append(
                f"{event.account} claimed {amount}, allocated {allocations.get(account, 0)}"
            )
    paid = sum(claimed.values())
    unclaimed = sum(v for k, v in allocations.items() if k not in claimed)
    if paid + unclaimed != int(epoch.total):
        problems.append(
            f"paid {paid} + unclaimed {unclaimed} = {paid + unclaimed}, signed total {epoch.total}"
        )
    return problems


def reconcile() -> Reconciliation:
    result = Reconciliation()
    daos = DAO.objects.exclude(reward_contract_address="")
    for dao in daos:
        for epoch in Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED):
            result.epochs_checked += 1
            for problem in _epoch_findings(dao, epoch):
                result.findings.append(Finding(dao.slug, epoch.number, problem))
                _audit_once(dao, epoch, problem)
    return result


def _audit_once(dao: DAO, epoch: Epoch, problem: str) -> None:
    logger.error("reconciliation: %s epoch %s: %s", dao.slug, epoch.number, problem)
    with transaction.atomic():
        seen = AuditEvent.objects.filter(
            dao=dao,
            verb="rewards.reconciliation_mismatch",
            object_id=str(epoch.pk),
            details__problem=problem,
        ).exists()
        if not seen:
            audit_record(
                actor=None,
                dao=dao,
                verb="rewards.reconciliation_mismatch",
                obj=epoch,
                details={"epoch": epoch.number, "problem": problem},
            )
