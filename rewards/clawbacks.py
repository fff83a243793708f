"""Taking rewards back: reverse a source's credits, and net clawbacks from later payments.

An upheld challenge reverses the credits of the work it names (``reward_reverse``). A credit
not settled yet is withdrawn: it never reaches an epoch. A credit already frozen into a closed
epoch was signed for and may be claimed, so it becomes a ``Clawback``: netted from the account's
later allocations and vouchers in the same DAO (``rewards.netting``), never below zero, the
rest carried. Every clawback and every amount netted is audited; the person sees them, with
the reason, on /me/rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from datadao import events
from datadao.models import DAO, AuditEvent, User
from datadao.services import audit_event, audit_record
from rewards.allocations import CHALLENGE_SHARE, ROYALTY, UNSCALED_REASONS
from rewards.models import (
    Clawback,
    ClawbackDeduction,
    Epoch,
    RewardEntry,
    RoyaltyPayment,
    Voucher,
)
from rewards.royalty_sources import SOURCE_TYPE, royalty_source_id

BPS = 10_000
SOURCE = "rewards.clawback"
DEDUCTION_SOURCE = "rewards.clawback_deduction"


@dataclass(frozen=True)
class Reversal:
    """What reversing a source's credits did: the amount withdrawn from the open epoch (never
    paid), and the clawbacks of what was already settled. ``withdrawn_minted`` is the part of
    ``withdrawn`` that the DAO would have minted (rewards, scaled by an epoch budget); the rest
    is royalties (consumers' money, unscaled)."""

    withdrawn: int
    clawbacks: list[Clawback]
    withdrawn_minted: int = 0

    @property
    def clawed(self) -> int:
        return sum(int(c.amount) for c in self.clawbacks)


def _paid(entry: RewardEntry, epoch: Epoch) -> int:
    """What ``entry`` was paid in its closed epoch: its amount, scaled as the epoch's budget
    scaled minted credits (the allocations before any netting are the scaled minted credits
    plus the unscaled ones)."""
    amount = int(entry.amount)
    if not epoch.budget_scaled or entry.reason in UNSCALED_REASONS:
        return amount
    in_epoch = RewardEntry.objects.filter(epoch=epoch)
    minted = int(in_epoch.exclude(reason__in=UNSCALED_REASONS).aggregate(s=Sum("amount"))["s"] or 0)
    unscaled = int(
        in_epoch.filter(reason__in=UNSCALED_REASONS).aggregate(s=Sum("amount"))["s"] or 0
    )
    netted = int(ClawbackDeduction.objects.filter(epoch=epoch).aggregate(s=Sum("amount"))["s"] or 0)
    paid_minted = int(epoch.total) + netted - unscaled
    return amount * paid_minted // minted if minted else 0


def reward_reverse(
    *,
    dao: DAO,
    source_type: str,
    source_ids: list[str],
    reason: str,
    ordered_by: tuple[str, str],
    beneficiary: User | None,
    share_bps: int,
    actor: User | None,
) -> Reversal:
    """Reverse every credit of the sources (one of ``source_type``, each of ``source_ids``) in
    ``dao``: delete the unsettled ones, turn each settled one into a clawback of what it paid; and
    the part of every royalty the sources earned (``_reverse_royalties``). Runs in the caller's
    transaction, under a lock on the credits: a concurrent epoch close either froze a credit first
    (it is clawed back) or finds it gone. A credit already clawed back is left as it is (one
    clawback per credit, a database constraint)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reward_reverse must run inside the caller's transaction")
    entries = list(
        RewardEntry.objects.select_for_update()
        .filter(dao=dao, source_type=source_type, source_id__in=source_ids)
        .exclude(reason__in=UNSCALED_REASONS)
        .order_by("pk")
    )
    unsettled = [e for e in entries if e.epoch_id is None]
    withdrawn = sum(int(e.amount) for e in unsettled)
    if unsettled:
        RewardEntry.objects.filter(pk__in=[e.pk for e in unsettled]).delete()
    clawbacks = []
    epochs = Epoch.objects.in_bulk({e.epoch_id for e in entries if e.epoch_id is not None})
    claw = _Clawer(
        dao=dao,
        reason=reason,
        ordered_by=ordered_by,
        beneficiary=beneficiary,
        share_bps=share_bps,
        actor=actor,
    )
    for entry in entries:
        if entry.epoch_id is None:
            continue
        clawback = claw(entry, _paid(entry, epochs[entry.epoch_id]), epochs[entry.epoch_id])
        if clawback is not None:
            clawbacks.append(clawback)
    royalties_withdrawn, royalty_clawbacks = _reverse_royalties(
        dao=dao, sources=[f"{source_type}:{pk}" for pk in source_ids], claw=claw
    )
    return Reversal(
        withdrawn=withdrawn + royalties_withdrawn,
        clawbacks=clawbacks + royalty_clawbacks,
        withdrawn_minted=withdrawn,
    )


@dataclass(frozen=True)
class _Clawer:
    """Turns what a settled credit (or part of one) paid into a clawback, once, audited."""

    dao: DAO
    reason: str
    ordered_by: tuple[str, str]
    beneficiary: User | None
    share_bps: int
    actor: User | None

    def __call__(
        self, entry: RewardEntry, amount: int, epoch: Epoch, part: str = ""
    ) -> Clawback | None:
        if amount <= 0 or Clawback.objects.filter(entry=entry, part=part).exists():
            return None
        try:
            with transaction.atomic():
                clawback = Clawback.objects.create(
                    dao=self.dao,
                    account_id=entry.account_id,
                    entry=entry,
                    part=part,
                    amount=amount,
                    remaining=amount,
                    reason=self.reason,
                    ordered_by_type=self.ordered_by[0],
                    ordered_by_id=self.ordered_by[1],
                    beneficiary=self.beneficiary,
                    share_bps=self.share_bps,
                )
        except IntegrityError:
            return None  # reversed concurrently: the constraint kept it to one
        audit_record(
            actor=self.actor,
            dao=self.dao,
            verb="clawback.created",
            obj=clawback,
            details={
                "account": entry.account_id,
                "amount": str(amount),
                "credit": f"{entry.source_type}:{entry.source_id}",
                **({"part": part} if part else {}),
                "epoch": epoch.number,
                "ordered_by": f"{self.ordered_by[0]}:{self.ordered_by[1]}",
                "reason": self.reason[:500],
            },
        )
        if events.subscribed(self.dao, events.EventType.CLAWBACK_CREATED):
            events.emit(
                dao=self.dao,
                event_type=events.EventType.CLAWBACK_CREATED,
                payload={"clawback": _event_payload(clawback, entry, epoch)},
            )
        return clawback


def _event_payload(clawback: Clawback, entry: RewardEntry, epoch: Epoch) -> dict[str, Any]:
    """A clawback as webhooks carry it: whose, how much (decimal strings of the token's
    smallest unit), which credit of which epoch, and what ordered it; not the reason's text."""
    return {
        "id": clawback.pk,
        "account": User.objects.values_list("address", flat=True).get(pk=clawback.account_id),
        "amount": str(int(clawback.amount)),
        "remaining": str(int(clawback.remaining)),
        "credit": {
            "source": f"{entry.source_type}:{entry.source_id}",
            "reason": entry.reason,
            "part": clawback.part or None,
            "epoch": epoch.number,
        },
        "ordered_by": f"{clawback.ordered_by_type}:{clawback.ordered_by_id}",
        "created_at": clawback.created_at.isoformat().replace("+00:00", "Z"),
    }


def _reverse_royalties(
    *, dao: DAO, sources: list[str], claw: _Clawer
) -> tuple[int, list[Clawback]]:
    """Reverse the part of every royalty of ``dao`` that ``sources`` earned their payee: taken
    out of the payee's credit while it is unsettled (withdrawn), clawed back once it is
    settled. Each (payment, source, payee) is reversed once, recorded on the payment.

    Under a lock on each payment, then on the payee's credit: an epoch closing meanwhile
    either froze the credit first (its part is clawed back) or settles what is left of it."""
    wanted = set(sources)
    if not wanted:
        return 0, []
    # The JSON lists are matched here rather than in SQL: SQLite has no JSON containment, and a
    # dataset's payments are few next to its contributions.
    candidates = [
        pk
        for pk, listed in RoyaltyPayment.objects.filter(dao=dao)
        .exclude(sources=[])
        .values_list("pk", "sources")
        .iterator(chunk_size=500)
        if any(row.get("source") in wanted for row in listed or [])
    ]
    withdrawn = 0
    clawbacks: list[Clawback] = []
    for payment in (
        RoyaltyPayment.objects.select_for_update().filter(pk__in=candidates).order_by("pk")
    ):
        done = {(r["source"], int(r["account"])) for r in payment.reversed}
        totals: dict[int, int] = {}
        for row in payment.sources:
            totals[int(row["account"])] = totals.get(int(row["account"]), 0) + int(row["score"])
        paid = {int(r["account"]): int(r["amount"]) for r in payment.shares}
        records = []
        for row in payment.sources:
            source, account = row["source"], int(row["account"])
            if source not in wanted or (source, account) in done or not totals.get(account):
                continue
            part = paid.get(account, 0) * int(row["score"]) // totals[account]
            done.add((source, account))
            entry = (
                RewardEntry.objects.select_for_update()
                .filter(
                    source_type=SOURCE_TYPE,
                    source_id=royalty_source_id(payment.pk, account),
                    reason=ROYALTY,
                )
                .first()
            )
            if entry is None or part <= 0:
                continue
            if entry.epoch_id is None:
                # Never more than is left of the credit (earlier parts were taken out of it).
                take = min(part, int(entry.amount))
                entry.amount = Decimal(int(entry.amount) - take)
                entry.save(update_fields=["amount"])
                withdrawn += take
                how = "withdrawn"
            else:
                clawback = claw(entry, part, entry.epoch, part=source)
                if clawback is None:
                    continue
                take = part
                clawbacks.append(clawback)
                how = "clawed_back"
            records.append(
                {
                    "source": source,
                    "account": account,
                    "amount": str(take),
                    "how": how,
                    "ordered_by": f"{claw.ordered_by[0]}:{claw.ordered_by[1]}",
                }
            )
            audit_record(
                actor=claw.actor,
                dao=dao,
                verb="royalty.reversed",
                obj=payment,
                details={
                    "source": source,
                    "account": account,
                    "amount": str(take),
                    "how": how,
                    "ordered_by": f"{claw.ordered_by[0]}:{claw.ordered_by[1]}",
                    "reason": claw.reason[:500],
                },
            )
        if records:
            payment.reversed = [*payment.reversed, *records]
            payment.save(update_fields=["reversed"])
    return withdrawn, clawbacks


def clawback_dues(
    *, dao: DAO, address: str | None = None, lock: bool = False
) -> list[tuple[str, str, int]]:
    """The clawbacks still due in ``dao`` (of one address, if given), oldest first, as
    ``rewards.netting.net`` takes them: ("rewards.clawback:<id>", address, remaining)."""
    due = Clawback.objects.filter(dao=dao, remaining__gt=0)
    if address is not None:
        due = due.filter(account__address=address)
    if lock:
        due = due.select_for_update(of=("self",))
    return [
        (f"{SOURCE}:{pk}", addr, int(remaining))
        for pk, addr, remaining in due.order_by("pk").values_list(
            "pk", "account__address", "remaining"
        )
    ]


def clawback_record_netting(
    *,
    dao: DAO,
    applied: list[tuple[str, str, int]],
    epoch: Epoch | None = None,
    voucher: Voucher | None = None,
    actor: User | None,
) -> list[ClawbackDeduction]:
    """Record what a payment kept back (``applied``, from ``rewards.netting.net`` over
    ``clawback_dues(lock=True)`` in the same transaction): lower each clawback's remaining,
    store the deduction, credit the beneficiary's share of it (next epoch), audit it."""
    if not applied:
        return []
    ids = [int(source.rsplit(":", 1)[1]) for source, _, _ in applied]
    clawbacks = Clawback.objects.select_related("entry").in_bulk(ids)
    now = timezone.now()
    deductions = []
    shares = []
    for clawback_id, (_, _, amount) in zip(ids, applied, strict=True):
        clawback = clawbacks[clawback_id]
        clawback.remaining = Decimal(int(clawback.remaining) - amount)
        clawback.save(update_fields=["remaining"])
        deduction = ClawbackDeduction.objects.create(
            clawback=clawback, epoch=epoch, voucher=voucher, amount=amount, created_at=now
        )
        deductions.append(deduction)
        share = amount * clawback.share_bps // BPS
        if clawback.beneficiary_id is not None and share > 0:
            shares.append(
                RewardEntry(
                    dao_id=dao.pk,
                    dataset_id=clawback.entry.dataset_id,
                    account_id=clawback.beneficiary_id,
                    amount=share,
                    reason=CHALLENGE_SHARE,
                    source_type=DEDUCTION_SOURCE,
                    source_id=str(deduction.pk),
                    created_at=now,
                )
            )
    RewardEntry.objects.bulk_create(shares, ignore_conflicts=True)
    payment = (
        {"epoch": epoch.number} if epoch is not None else {"voucher": getattr(voucher, "pk", None)}
    )
    events = [
        audit_event(
            actor=actor,
            dao=dao,
            verb="clawback.netted",
            obj=d.clawback,
            details={
                **payment,
                "amount": str(int(d.amount)),
                "remaining": str(int(d.clawback.remaining)),
            },
        )
        for d in deductions
    ]
    AuditEvent.objects.bulk_create(events)
    return deductions
