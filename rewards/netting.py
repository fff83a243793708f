"""Clawbacks netted against an epoch's allocations or a voucher. Pure: no Django imports.

A clawback (a settled credit taken back after an upheld challenge) is recovered only from what
the account is paid later in the same DAO: each allocation or voucher pays what is left after
the clawbacks due, never less than zero, and what a payment cannot cover is carried to the
next one. Integers only, in a fixed order (the clawbacks' own order), so anyone replaying an
epoch's published inputs nets the same amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def net(
    allocations: Mapping[str, int], dues: Iterable[tuple[str, str, int]]
) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """Take ``dues`` — (source, address, amount still due), in the order they are recovered —
    out of ``allocations`` (address → amount). Returns the net allocations and what was taken,
    (source, address, amount > 0) in the same order. An allocation is never taken below zero;
    a due larger than what is left is taken in part."""
    left = dict(allocations)
    applied: list[tuple[str, str, int]] = []
    for source, address, due in dues:
        if due < 0:
            raise ValueError(f"{source}: a clawback due cannot be negative ({due})")
        take = min(due, left.get(address, 0))
        if take > 0:
            left[address] -= take
            applied.append((source, address, take))
    return left, applied


def apply(
    allocations: Mapping[str, int], applied: Iterable[tuple[str, str, int]]
) -> dict[str, int]:
    """Replay published deductions: subtract each from its address. Raises ValueError for one
    that is not positive or that would take an allocation below zero (a forged input)."""
    left = dict(allocations)
    for source, address, amount in applied:
        if amount <= 0:
            raise ValueError(f"{source}: a clawback deduction must be positive ({amount})")
        if amount > left.get(address, 0):
            raise ValueError(
                f"{source}: deducts {amount} from {address}, which is allocated "
                f"{left.get(address, 0)}"
            )
        left[address] -= amount
    return left
