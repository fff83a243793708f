"""Reads for the rewards pages: what a person has accrued and what is settled for them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Sum

from datadao.models import DAO, User
from rewards.models import RewardEntry


@dataclass(frozen=True)
class AccruedRow:
    """Credits in a DAO's open epoch, not settled yet (a budget cap may still scale them)."""

    dao: DAO
    amount: int
    entries: int


def rewards_accrued(*, account: User) -> list[AccruedRow]:
    """The person's unsettled credits per DAO, largest first. Two queries."""
    entries = RewardEntry.objects.filter(account=account, epoch__isnull=True)
    totals: dict[int, list[int]] = {}
    if connection.vendor == "sqlite":
        # SQLite's SUM is 64-bit and overflows on token amounts: add them up exactly here.
        for dao_id, amount in entries.values_list("dao_id", "amount").iterator(chunk_size=2000):
            row = totals.setdefault(dao_id, [0, 0])
            row[0] += int(amount)
            row[1] += 1
    else:
        for row in entries.values("dao_id").annotate(s=Sum("amount"), n=Count("id")):
            totals[row["dao_id"]] = [int(row["s"] or 0), row["n"]]
    if not totals:
        return []
    daos = DAO.objects.in_bulk(list(totals))
    rows = [AccruedRow(dao=daos[pk], amount=a, entries=n) for pk, (a, n) in totals.items()]
    return sorted(rows, key=lambda r: (-r.amount, r.dao.name))
