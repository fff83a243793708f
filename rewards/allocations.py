"""Allocation lists (``address,amount`` CSV) as operators and auditors exchange them.

Amounts are integers in the token's base units (wei for an 18-decimal token): no decimal
point, exponent, sign or thousands separator, because a tree commits to exact integers and
"1.5" or "1e18" would need a guess about the token's decimals.

A repeated address is refused, not summed. The contract pays each leaf once, so two rows
for one address would either pay twice or leave one row unclaimable, and which was meant
is a question for whoever made the list: a silent sum would hide a join gone wrong
upstream.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable

from rewards.ethtypes import checksum_address, uint256_decimal

HEADER = ("address", "amount")

# The reasons of royalty entries: revenue consumers paid, which no epoch budget scales.
ROYALTY = "royalty"
ROYALTY_TREASURY = "royalty_treasury"
ROYALTY_REASONS = frozenset({ROYALTY, ROYALTY_TREASURY})
# Credits of a challenger whose challenge was upheld (the disputes app): the bond returned, and
# their share of the reward recovered. Neither is minted: the bond was the challenger's, the
# share comes out of money taken back, so no budget scales them either.
CHALLENGE_BOND = "challenge_bond"
CHALLENGE_SHARE = "challenge_share"
UNSCALED_REASONS = ROYALTY_REASONS | {CHALLENGE_BOND, CHALLENGE_SHARE}
# A challenger's share of a reward withdrawn before it settled. That reward was never minted: the
# share is minted in its place, so it is scaled by the epoch budget like the reward it replaces.
# Unscaled, a sybil could flood a budget-capped epoch with rewards the budget would shrink, have
# a second wallet challenge them, and be paid a share of their full face value beyond the budget.
CHALLENGE_REWARD = "challenge_reward"
# Every reason a credit is written for (the console filters the ledger by them).
CREDIT_REASONS = (
    "contribution",
    "label",
    ROYALTY,
    ROYALTY_TREASURY,
    CHALLENGE_BOND,
    CHALLENGE_SHARE,
    CHALLENGE_REWARD,
)


def allocate(
    entries: Iterable[tuple[str, int, str]], budget: int | None
) -> tuple[dict[str, int], bool]:
    """The one settlement rule of an epoch: sum the credits per address; above the budget,
    scale every address's minted rewards pro rata (floored), so what the DAO mints never
    exceeds the budget. Royalties and challengers' returns (``UNSCALED_REASONS``) are added
    unscaled on top: the budget bounds what the DAO mints, not revenue consumers already paid
    or a bond a challenger posted. Integers only, so anyone
    replaying an epoch's published inputs gets the same allocations.

    ``entries``: (address, amount, reason). Returns the sums and whether the budget scaled them.
    """
    minted: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    for address, amount, reason in entries:
        (paid if reason in UNSCALED_REASONS else minted)[address] += amount
    total = sum(minted.values())
    scaled = budget is not None and total > budget
    sums = {a: v * budget // total for a, v in minted.items()} if scaled else dict(minted)
    for address, amount in paid.items():
        sums[address] = sums.get(address, 0) + amount
    return sums, scaled


class AllocationError(ValueError):
    """A line of the list is wrong; ``line`` is its 1-based line number."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def parse_allocations_csv(lines: Iterable[str]) -> list[tuple[str, int]]:
    """(checksummed address, amount) pairs in file order, from CSV text lines.

    An ``address,amount`` header line is optional. Blank lines are skipped; cells may be
    padded with spaces. Raises :class:`AllocationError` at the first bad line.
    """
    reader = csv.reader(lines)
    allocations: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    first = True
    for row in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first:
            first = False
            if tuple(cell.lower() for cell in cells) == HEADER:
                continue
        if len(cells) != 2:
            raise AllocationError(line, f"expected 2 columns (address,amount), got {len(cells)}")
        try:
            address = checksum_address(cells[0], "address")
        except ValueError as exc:
            raise AllocationError(line, str(exc)) from None
        try:
            amount = uint256_decimal(cells[1], "amount")
        except ValueError as exc:
            raise AllocationError(line, f"{exc} (amounts are whole base units, e.g. wei)") from None
        if address in seen:
            raise AllocationError(
                line, f"{address} is already allocated on line {seen[address]}; merge the rows"
            )
        seen[address] = line
        allocations.append((address, amount))
    if not allocations:
        raise AllocationError(max(reader.line_num, 1), "no allocations")
    return allocations
