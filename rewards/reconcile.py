"""Reconciliation: every closed epoch's signed total against what the chain shows paid plus
what is still unclaimed, every on-chain claim against the allocation it must match, every root
or claim for an epoch the platform never signed, and every redeemed voucher against the
voucher the platform issued.

A mismatch means money moved that the platform did not sign for (a faulty tree, a contract
not ours, a bug): it is logged as an error, counted for the ``datadao_reconciliation_mismatches``
metric, and audited once per finding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Model, Sum

from datadao.models import DAO, AuditEvent
from datadao.services import audit_record
from rewards.models import Allocation, ChainEvent, Epoch, EpochStatus, Voucher

logger = logging.getLogger(__name__)


@dataclass
class Finding:
    dao: str
    epoch: int | None  # None: a voucher, or an epoch the platform never closed
    problem: str


@dataclass
class Reconciliation:
    epochs_checked: int = 0
    vouchers_checked: int = 0
    findings: list[Finding] = field(default_factory=list)


def _signed_contract(typed_data: dict[str, Any] | None) -> tuple[int, str]:
    """(chain id, lowercase address) a root or voucher was signed for: the only contract that
    can accept it."""
    domain = (typed_data or {}).get("domain", {})
    return int(domain.get("chainId", 0)), str(domain.get("verifyingContract", "")).lower()


def _epoch_findings(dao: DAO, epoch: Epoch) -> list[str]:
    problems = []
    chain_events = list(ChainEvent.objects.filter(dao=dao, epoch=epoch.number, confirmed=True))
    signed_for = _signed_contract(epoch.root_typed_data)
    ours = []
    for event in chain_events:
        if event.name == "VoucherRedeemed":
            continue
        if (event.chain_id, event.address) != signed_for:
            # Another contract of the DAO's (an earlier one) cannot hold this epoch's root:
            # whatever it shows for the epoch was not signed by the platform.
            problems.append(
                f"{event.name} on contract {event.address} (chain {event.chain_id}), not the "
                f"{signed_for[1]} (chain {signed_for[0]}) the epoch was signed for"
            )
            continue
        ours.append(event)
    roots = [e for e in ours if e.name == "EpochRootSet"]
    if not roots:
        return problems  # not relayed (or not final) yet: nothing on chain to compare
    for root_event in roots:
        if str(root_event.args.get("root", "")).lower() != epoch.root.lower():
            problems.append(
                f"root on chain {root_event.args.get('root')} is not the signed {epoch.root}"
            )
        if int(root_event.amount or 0) != int(epoch.total):
            problems.append(f"total on chain {root_event.amount} is not the signed {epoch.total}")
    allocations = {a.account.lower(): int(a.amount) for a in Allocation.objects.filter(epoch=epoch)}
    claimed: dict[str, int] = {}
    for event in ours:
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


def _unsigned_epoch_findings(dao: DAO, closed: list[int]) -> list[str]:
    """Roots and claims on chain for epochs the platform never closed and signed: a root set
    with a leaked key, or a contract that does not check signatures. Grouped per epoch."""
    rows = (
        ChainEvent.objects.filter(dao=dao, confirmed=True, name__in=["EpochRootSet", "Claimed"])
        .exclude(epoch__in=closed)
        .values("epoch", "name")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("epoch", "name")
    )
    return [
        f"epoch {row['epoch']}: {row['n']} {row['name']} event(s) on chain (amount "
        f"{int(row['amount'] or 0)}), but the platform never closed or signed that epoch"
        for row in rows
    ]


def _voucher_findings(dao: DAO) -> tuple[int, list[str]]:
    """Every redeemed voucher on chain against the voucher the platform signed: contributor,
    nonce, amount, dataset and the contract it was signed for."""
    issued = {
        (v.contributor.lower(), int(v.nonce)): v
        for v in Voucher.objects.filter(dao=dao).only(
            "contributor", "nonce", "amount", "dataset_id", "typed_data"
        )
    }
    problems = []
    redeemed = ChainEvent.objects.filter(dao=dao, confirmed=True, name="VoucherRedeemed")
    checked = 0
    for event in redeemed.iterator(chunk_size=2000):
        checked += 1
        nonce = int(event.args.get("nonce", -1))
        voucher = issued.get((event.account.lower(), nonce))
        if voucher is None:
            problems.append(
                f"voucher {nonce} of {event.account} redeemed for {int(event.amount or 0)} in "
                f"{event.tx_hash}, but the platform never issued it"
            )
            continue
        if int(event.amount or 0) != int(voucher.amount):
            problems.append(
                f"voucher {nonce} of {event.account} redeemed for {int(event.amount or 0)}, "
                f"issued for {int(voucher.amount)}"
            )
        if str(event.args.get("datasetId", "")).lower() != voucher.dataset_id.lower():
            problems.append(
                f"voucher {nonce} of {event.account} redeemed for dataset "
                f"{event.args.get('datasetId')}, issued for {voucher.dataset_id}"
            )
        if (event.chain_id, event.address) != _signed_contract(voucher.typed_data):
            problems.append(
                f"voucher {nonce} of {event.account} redeemed on {event.address} (chain "
                f"{event.chain_id}), not the contract it was signed for"
            )
    return checked, problems


def reconcile() -> Reconciliation:
    result = Reconciliation()
    daos = DAO.objects.exclude(reward_contract_address="")
    for dao in daos:
        closed = list(Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED))
        for epoch in closed:
            result.epochs_checked += 1
            for problem in _epoch_findings(dao, epoch):
                result.findings.append(Finding(dao.slug, epoch.number, problem))
                _audit_once(dao, epoch, problem)
        for problem in _unsigned_epoch_findings(dao, [e.number for e in closed]):
            result.findings.append(Finding(dao.slug, None, problem))
            _audit_once(dao, dao, problem)
        checked, problems = _voucher_findings(dao)
        result.vouchers_checked += checked
        for problem in problems:
            result.findings.append(Finding(dao.slug, None, problem))
            _audit_once(dao, dao, problem)
    return result


def _audit_once(dao: DAO, obj: Model, problem: str) -> None:
    logger.error("reconciliation: %s: %s", dao.slug, problem)
    with transaction.atomic():
        seen = AuditEvent.objects.filter(
            dao=dao,
            verb="rewards.reconciliation_mismatch",
            object_id=str(obj.pk),
            details__problem=problem,
        ).exists()
        if not seen:
            epoch = getattr(obj, "number", None)
            audit_record(
                actor=None,
                dao=dao,
                verb="rewards.reconciliation_mismatch",
                obj=obj,
                details={"epoch": epoch, "problem": problem},
            )
