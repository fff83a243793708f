"""Rewards' state metrics (``datadao.metrics``): epochs by status and what the closed ones
allocate. Amounts are in the token's smallest unit; Prometheus holds them as floats, so a
figure above 2^53 is approximate here (the ledger itself is exact)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Sum

from datadao.metrics import gauge
from rewards.models import Epoch, EpochStatus


def epochs() -> Iterator[Any]:
    family = gauge("datadao_reward_epochs", "Reward epochs by status.", ["status"])
    counts = dict(Epoch.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in EpochStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
    allocated = gauge(
        "datadao_reward_allocated", "Total allocated by closed reward epochs, all DAOs."
    )
    total = Epoch.objects.filter(status=EpochStatus.CLOSED).aggregate(t=Sum("total"))["t"]
    allocated.add_metric([], float(total or 0))
    yield allocated


def settlement() -> Iterator[Any]:
    """Settlement on chain: closed epochs whose root the chain reader has not seen (and how
    long the oldest has waited), how far each chain's reader lags its head, distributors that
    cannot cover what is owed, reconciliation findings so far."""
    from django.utils import timezone

    from datadao.models import DAO, AuditEvent
    from rewards.models import ChainCursor
    from rewards.relay import epochs_to_relay
    from rewards.selectors import dao_settlement

    pending = epochs_to_relay()
    unrelayed = gauge(
        "datadao_epochs_unrelayed", "Closed epochs whose root is not seen on chain yet."
    )
    unrelayed.add_metric([], len(pending))
    yield unrelayed
    oldest = gauge(
        "datadao_epoch_unrelayed_oldest_seconds",
        "Age of the oldest closed epoch whose root is not seen on chain (0: none).",
    )
    first = Epoch.objects.filter(pk__in=pending).order_by("closed_at").first()
    age = (timezone.now() - first.closed_at).total_seconds() if first and first.closed_at else 0
    oldest.add_metric([], age)
    yield oldest
    lag = gauge(
        "datadao_chain_reader_lag_blocks",
        "Blocks between a chain's head and the furthest-behind final read of its distributors.",
        ["chain"],
    )
    worst: dict[int, int] = {}
    for chain_id, head, block in ChainCursor.objects.values_list("chain_id", "head", "block"):
        worst[chain_id] = max(worst.get(chain_id, 0), max(0, head - block))
    for chain_id, blocks in worst.items():
        lag.add_metric([str(chain_id)], blocks)
    yield lag
    underfunded = gauge(
        "datadao_distributors_underfunded",
        "DAOs whose distributor's token balance cannot cover what closed epochs still owe.",
    )
    daos = DAO.objects.exclude(reward_contract_address="")[:500]
    underfunded.add_metric([], sum(dao_settlement(dao=d).underfunded for d in daos))
    yield underfunded
    mismatches = gauge(
        "datadao_reconciliation_mismatches",
        "Reconciliation findings audited so far (on-chain claims or totals the platform did "
        "not sign).",
    )
    mismatches.add_metric(
        [], AuditEvent.objects.filter(verb="rewards.reconciliation_mismatch").count()
    )
    yield mismatches
