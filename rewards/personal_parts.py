"""Rewards' part of a personal export (``datadao.personal``): every credit, what each closed
epoch allocated to the person's address with its Merkle proof, and their vouchers. Amounts are
integers in the token's smallest unit, written as strings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from datadao.personal import json_file
from rewards.models import Allocation, RewardEntry, Voucher


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
                "allocations": [
                    {
                        "dao": a.epoch.dao.slug,
                        "epoch": a.epoch.number,
                        "root": a.epoch.root,
                        "amount": str(int(a.amount)),
                        "proof": a.proof,
                    }
                    for a in Allocation.objects.filter(account=user.address)
                    .select_related("epoch__dao")
                    .order_by("pk")
                ],
                "vouchers": [
                    {"dao": v.dao.slug, "typedData": v.typed_data, "signature": v.signature}
                    for v in Voucher.objects.filter(contributor=user.address)
                    .select_related("dao")
                    .order_by("pk")
                ],
            }
        ),
    )
