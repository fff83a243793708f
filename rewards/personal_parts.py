"""Rewards' part of a personal export (``datadao.personal``): every credit, what each closed
epoch allocated to the person's address with its Merkle proof, their vouchers, every clawback of
theirs with what each payment kept back towards it, and every part of a royalty of theirs that
was reversed. Amounts are integers in the token's smallest unit, written as strings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from datadao.personal import json_file
from rewards.models import Allocation, Clawback, RewardEntry, RoyaltyPayment, Voucher
from rewards.tree_store import allocation_proofs


def _clawbacks(user: Any) -> list[dict[str, Any]]:
    clawbacks = (
        Clawback.objects.filter(account=user)
        .select_related("dao", "entry__epoch")
        .prefetch_related("deductions__epoch", "deductions__voucher")
        .order_by("pk")
    )
    return [
        {
            "dao": c.dao.slug,
            "amount": str(int(c.amount)),
            "remaining": str(int(c.remaining)),
            "reason": c.reason,
            "credit": f"{c.entry.source_type}:{c.entry.source_id}",
            "credit_reason": c.entry.reason,
            "part": c.part or None,
            "epoch": c.entry.epoch.number if c.entry.epoch else None,
            "ordered_by": f"{c.ordered_by_type}:{c.ordered_by_id}",
            "at": c.created_at,
            "deductions": [
                {
                    "amount": str(int(d.amount)),
                    "epoch": d.epoch.number if d.epoch else None,
                    "voucher_nonce": str(int(d.voucher.nonce)) if d.voucher else None,
                    "at": d.created_at,
                }
                for d in c.deductions.all()
            ],
        }
        for c in clawbacks
    ]


def _royalty_reversals(user: Any) -> list[dict[str, Any]]:
    """The parts of the person's royalties reversed (withdrawn before they settled, or clawed
    back: then also listed under clawbacks)."""
    payments = (
        RoyaltyPayment.objects.filter(dao__in=user.reward_entries.values("dao_id"))
        .exclude(reversed=[])
        .select_related("dao", "dataset")
        .order_by("pk")
    )
    return [
        {
            "dao": p.dao.slug,
            "dataset": p.dataset.slug,
            "payment": p.payment_key,
            "source": r["source"],
            "amount": r["amount"],
            "how": r["how"],
            "ordered_by": r["ordered_by"],
        }
        for p in payments
        for r in p.reversed
        if int(r["account"]) == user.pk
    ]


def files(user: Any) -> Iterator[tuple[str, Iterable[bytes]]]:
    yield (
        "rewards.json",
        json_file(
            {
                "credits": [
                    {
                        "dao": e.dao.slug,
                        "dataset": e.dataset.slug,
                        "amount": str(int(e.amount)),
                        "reason": e.reason,
                        "source": f"{e.source_type}:{e.source_id}",
                        "epoch": e.epoch.number if e.epoch else None,
                        "at": e.created_at,
                    }
                    for e in RewardEntry.objects.filter(account=user)
                    .select_related("dao", "dataset", "epoch")
                    .order_by("pk")
                ],
                "allocations": _allocations(user.address),
                "vouchers": [
                    {"dao": v.dao.slug, "typedData": v.typed_data, "signature": v.signature}
                    for v in Voucher.objects.filter(contributor=user.address)
                    .select_related("dao")
                    .order_by("pk")
                ],
                "clawbacks": _clawbacks(user),
                "royalty_reversals": _royalty_reversals(user),
            }
        ),
    )


def _allocations(address: str) -> list[dict[str, Any]]:
    allocations = list(
        Allocation.objects.filter(account=address).select_related("epoch__dao").order_by("pk")
    )
    return [
        {
            "dao": a.epoch.dao.slug,
            "epoch": a.epoch.number,
            "root": a.epoch.root,
            "amount": str(int(a.amount)),
            "proof": proof,
        }
        for a, proof in zip(allocations, allocation_proofs(allocations), strict=True)
    ]
