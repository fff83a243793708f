"""Reads for the rewards pages: what a person has accrued and what is settled for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Sum

from datadao.models import DAO, User
from datadao.paging import Page, PageRequest, keyset_page
from rewards.models import (
    ROYALTY_REASONS,
    ROYALTY_TREASURY,
    Allocation,
    Clawback,
    ClawbackDeduction,
    RewardEntry,
    RewardPolicy,
    RoyaltyPayment,
    Voucher,
)


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


def clawbacks_of(*, account: User, limit: int = 200) -> list[Clawback]:
    """The person's clawbacks, newest first, each with its credit, epoch, DAO and what was
    netted from which payment. Three queries."""

    deductions = ClawbackDeduction.objects.select_related("epoch", "voucher").order_by("pk")
    return list(
        Clawback.objects.filter(account=account)
        .select_related("dao", "entry__epoch")
        .prefetch_related(Prefetch("deductions", queryset=deductions))
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class ContributionReward:
    """What a contribution earned: the credit (with its epoch, if settled), or why none."""

    amount: int | None
    epoch_number: int | None
    settled: bool
    why_none: str


CONTRIBUTION_SOURCE = "contributions.contribution"


def contribution_reward(*, contribution: Any, threshold: int) -> ContributionReward:
    """The credit for ``contribution`` (its dataset's reward_policy and dao selected), or the
    reason there is none yet, in words. One query."""
    entry = (
        RewardEntry.objects.filter(
            source_type=CONTRIBUTION_SOURCE, source_id=str(contribution.pk), reason="contribution"
        )
        .select_related("epoch")
        .first()
    )
    if entry is not None:
        epoch = entry.epoch
        return ContributionReward(
            amount=int(entry.amount),
            epoch_number=epoch.number if epoch else None,
            settled=epoch is not None,
            why_none="",
        )
    return ContributionReward(None, None, False, _why_none(contribution, threshold))


def _why_none(c: Any, threshold: int) -> str:
    status, review = c.status, c.review
    if status == "held":
        return (
            "Held for the DAO's review: its validators disagree about it. It is credited only "
            "if it is accepted and pinned."
        )
    if review == "pending":
        return (
            "Pending review: it resembles another contributor's data, so the DAO reviews it "
            "before it can earn."
        )
    if status == "rejected":
        if c.score is not None and c.score < threshold:
            return (
                f"Below the threshold: its combined score {c.score:,} is under this dataset's "
                f"{threshold:,}, so it was rejected and earns nothing."
            )
        return "Rejected: a rejected contribution earns nothing (the reasons are above)."
    if status == "failed":
        return "Processing failed, so it earns nothing; the failure is above."
    if status in ("received", "validating"):
        return "Not scored yet: it is credited once it is accepted and pinned."
    if status in ("accepted", "attesting", "pinning"):
        return "Not pinned yet: it is credited once it is pinned to IPFS."
    policy = getattr(c.dataset, "reward_policy", None)
    if policy is None or not (policy.per_contribution or policy.per_row):
        return "No reward policy: this dataset pays nothing per contribution."
    if not c.score:
        return "Its combined score is 0, and the reward is in proportion to the score."
    return "No credit is recorded (the DAO may have reversed its acceptance)."


def policies_paying(dataset_ids: list[int]) -> dict[int, tuple[int, bool]]:
    """{dataset id: (its policy's id, whether it pays anything)} for a founder's checklist."""
    return {
        row["dataset_id"]: (
            row["pk"],
            bool(row["per_contribution"] or row["per_row"] or row["per_label"]),
        )
        for row in RewardPolicy.objects.filter(dataset_id__in=dataset_ids).values(
            "dataset_id", "pk", "per_contribution", "per_row", "per_label"
        )
    }


@dataclass(frozen=True)
class RoyaltyCredit:
    """One royalty credited to a person: the payment it came from and their part of it.

    ``treasury``: the credit is the DAO's treasury share (the person is the treasury address)
    rather than a contributor's share. ``score`` of ``total_score`` is the contributor's
    accepted score over the release's (None for the treasury); ``share_bps`` their part of
    the payment in basis points, rounded down (the exact part is ``amount``)."""

    dao: DAO
    dataset_name: str
    payment_key: str
    release_cid: str
    paid_at: datetime
    payment_amount: int
    treasury: bool
    score: int | None
    total_score: int
    share_bps: int
    amount: int
    epoch_number: int | None
    settled: bool
    # What of the person's part was reversed (an upheld challenge of the work that earned it):
    # withdrawn before it settled (then no longer in ``amount``) or clawed back after.
    reversed: int = 0


def royalty_credits(*, account: User, limit: int = 200) -> list[RoyaltyCredit]:
    """The person's royalty credits, newest first, each with its payment. Two queries."""
    entries = list(
        RewardEntry.objects.filter(account=account, reason__in=ROYALTY_REASONS)
        .select_related("dao", "dataset", "epoch")
        .order_by("-created_at", "-id")[:limit]
    )
    payment_ids = {int(e.source_id.split(":", 1)[0]) for e in entries}
    payments = RoyaltyPayment.objects.in_bulk(payment_ids)
    credits = []
    for entry in entries:
        payment = payments[int(entry.source_id.split(":", 1)[0])]
        treasury = entry.reason == ROYALTY_TREASURY
        score, reversed_ = None, 0
        amount, paid = int(entry.amount), int(payment.amount)
        share = amount
        if not treasury:
            row = next((r for r in payment.shares if r["account"] == account.pk), None)
            score = row["score"] if row else 0
            share = int(row["amount"]) if row else amount
            mine = [r for r in payment.reversed if r["account"] == account.pk]
            reversed_ = sum(int(r["amount"]) for r in mine)
        credits.append(
            RoyaltyCredit(
                dao=entry.dao,
                dataset_name=entry.dataset.name,
                payment_key=payment.payment_key,
                release_cid=payment.release_cid,
                paid_at=payment.created_at,
                payment_amount=paid,
                treasury=treasury,
                score=score,
                total_score=payment.total_score,
                share_bps=share * 10_000 // paid,
                amount=amount,
                epoch_number=entry.epoch.number if entry.epoch else None,
                settled=entry.epoch_id is not None,
                reversed=reversed_,
            )
        )
    return credits


# --- settlement on chain ------------------------------------------------------------------------

UNCLAIMED, PENDING, PAID = "unclaimed", "pending", "paid"


@dataclass(frozen=True)
class ClaimState:
    """What the chain reader has seen of one allocation: ``paid`` (a final ``Claimed`` event),
    ``pending`` (in a block not yet buried under the confirmations) or ``unclaimed``; and
    whether its epoch's root is on chain, so it can be claimed at all."""

    state: str
    tx_hash: str = ""
    root_on_chain: bool = False


def claim_states(allocations: list[Any]) -> dict[int, ClaimState]:
    """Per allocation id; allocations of DAOs without a contract are simply unclaimed."""
    from rewards.models import ChainEvent

    epochs = {
        (a.epoch.dao_id, a.epoch.number) for a in allocations if a.epoch.dao.reward_contract_address
    }
    if not epochs:  # no contract, nothing on chain: no query
        return {a.pk: ClaimState(UNCLAIMED) for a in allocations}
    found = ChainEvent.objects.filter(
        dao_id__in={d for d, _ in epochs},
        epoch__in={n for _, n in epochs},
        name__in=["Claimed", "EpochRootSet"],
    ).values_list("dao_id", "epoch", "name", "account", "confirmed", "tx_hash", "address")
    claims: dict[tuple[int, int, str], tuple[bool, str]] = {}
    roots: set[tuple[int, int]] = set()
    contract_of = {a.epoch.dao_id: a.epoch.dao.reward_contract_address.lower() for a in allocations}
    for dao_id, epoch, name, account, confirmed, tx_hash, address in found:
        if address != contract_of.get(dao_id):
            continue  # events of a contract the DAO no longer uses
        if name == "EpochRootSet":
            roots.add((dao_id, epoch))
        else:
            claims[(dao_id, epoch, account.lower())] = (confirmed, tx_hash)
    states = {}
    for a in allocations:
        key = (a.epoch.dao_id, a.epoch.number)
        seen = claims.get((*key, a.account.lower()))
        if seen is None:
            states[a.pk] = ClaimState(UNCLAIMED, root_on_chain=key in roots)
        else:
            states[a.pk] = ClaimState(PAID if seen[0] else PENDING, seen[1], True)
    return states


@dataclass(frozen=True)
class DaoSettlement:
    """Per DAO: what closed epochs owe, what the chain shows paid, and the contract's balance
    as last read (None when never read)."""

    owed: int
    paid: int
    balance: int | None
    balance_block: int | None

    @property
    def outstanding(self) -> int:
        return self.owed - self.paid

    @property
    def underfunded(self) -> bool:
        return self.balance is not None and self.balance < self.outstanding


def dao_settlement(*, dao: DAO) -> DaoSettlement:
    from rewards.models import ChainCursor, ChainEvent, Epoch, EpochStatus

    owed = Epoch.objects.filter(dao=dao, status=EpochStatus.CLOSED).aggregate(t=Sum("total"))["t"]
    paid = ChainEvent.objects.filter(
        dao=dao,
        address=dao.reward_contract_address.lower(),
        name="Claimed",
        confirmed=True,
    ).aggregate(t=Sum("amount"))["t"]
    cursor = ChainCursor.objects.filter(
        chain_id=dao.chain_id, address=dao.reward_contract_address.lower()
    ).first()
    return DaoSettlement(
        owed=int(owed or 0),
        paid=int(paid or 0),
        balance=int(cursor.token_balance) if cursor and cursor.token_balance is not None else None,
        balance_block=cursor.balance_block if cursor else None,
    )


def voucher_states(vouchers: list[Any]) -> dict[int, ClaimState]:
    """Per voucher id: ``paid`` once the chain reader holds its final ``VoucherRedeemed``
    (matched on the DAO's contract, contributor and nonce), ``pending`` before, else
    ``unclaimed``."""
    from rewards.models import ChainEvent

    with_contract = [v for v in vouchers if v.dao.reward_contract_address]
    if not with_contract:
        return {v.pk: ClaimState(UNCLAIMED) for v in vouchers}
    seen: dict[tuple[int, str, str], tuple[bool, str]] = {}
    rows = ChainEvent.objects.filter(
        dao_id__in={v.dao_id for v in with_contract}, name="VoucherRedeemed"
    ).values_list("dao_id", "address", "account", "args", "confirmed", "tx_hash")
    contract_of = {v.dao_id: v.dao.reward_contract_address.lower() for v in with_contract}
    for dao_id, address, account, args, confirmed, tx_hash in rows:
        if address == contract_of.get(dao_id):
            seen[(dao_id, account.lower(), str(args.get("nonce")))] = (confirmed, tx_hash)
    states = {}
    for v in vouchers:
        found = seen.get((v.dao_id, v.contributor.lower(), str(int(v.nonce))))
        states[v.pk] = (
            ClaimState(UNCLAIMED)
            if found is None
            else ClaimState(PAID if found[0] else PENDING, found[1], True)
        )
    return states


# --- the API's lists of a member's allocations and vouchers -------------------------------------


def allocations_of(*, account: User, dao: DAO | None, page: PageRequest) -> Page[Allocation]:
    """One keyset page of the allocations of ``account``'s address, newest first (by id),
    optionally of one DAO; only ever the person's own, whatever their role."""
    rows = Allocation.objects.filter(account=account.address).select_related("epoch__dao")
    if dao is not None:
        rows = rows.filter(epoch__dao=dao)
    return keyset_page(rows, key="id", request=page)


def vouchers_of(*, account: User, dao: DAO | None, page: PageRequest) -> Page[Voucher]:
    """One keyset page of the vouchers made out to ``account``'s address, newest first (by
    id), optionally of one DAO; only ever the person's own, whatever their role."""
    rows = Voucher.objects.filter(contributor=account.address).select_related("dao")
    if dao is not None:
        rows = rows.filter(dao=dao)
    return keyset_page(rows, key="id", request=page)
