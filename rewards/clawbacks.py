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

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from datadao.models import DAO, AuditEvent, User
from datadao.services import audit_event, audit_record
from rewards.allocations import CHALLENGE_SHARE, UNSCALED_REASONS
from rewards.models import Clawback, ClawbackDeduction, Epoch, RewardEntry, Voucher

BPS = 10_000
SOURCE = "rewards.clawback"
DEDUCTION_SOURCE = "rewards.clawback_deduction"


@dataclass(frozen=True)
class Reversal:
    """What reversing a source's credits did: the amount withdrawn from the open epoch (never
    paid), and the clawbacks of what was already settled."""

    withdrawn: int
    clawbacks: list[Clawback]

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
    """Reverse every credit of the sources (one of ``source_type``, each of ``source_ids``)
    in ``dao``: delete the unsettled ones, turn each settled one into a clawback of what it
    paid. Runs in the caller's transaction, under a lock on the credits: a concurrent epoch
    close either froze a credit first (it is clawed back) or finds it gone. A credit already
    clawed back is left as it is (one clawback per credit, a database constraint)."""
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
    for entry in entries:
        if entry.epoch_id is None:
            continue
        amount = _paid(entry, epochs[entry.epoch_id])
        if amount <= 0 or Clawback.objects.filter(entry=entry).exists():
            continue
        try:
            with transaction.atomic():
                clawback = Clawback.objects.create(
                    dao=dao,
                    account_id=entry.account_id,
                    entry=entry,
                    amount=amount,
                    remaining=amount,
                    reason=reason,
                    ordered_by_type=ordered_by[0],
                    ordered_by_id=ordered_by[1],
                    beneficiary=beneficiary,
                    share_bps=share_bps,
                )
        except IntegrityError:
            continue  # reversed concurrently: the constraint kept it to one
        audit_record(
            actor=actor,
            dao=dao,
            verb="clawback.created",
            obj=clawback,
            details={
                "account": entry.account_id,
                "amount": str(amount),
                "credit": f"{entry.source_type}:{entry.source_id}",
                "epoch": epochs[entry.epoch_id].number,
                "ordered_by": f"{ordered_by[0]}:{ordered_by[1]}",
                "reason": reason[:500],
            },
        )
        clawbacks.append(clawback)
    return Reversal(withdrawn=withdrawn, clawbacks=clawbacks)


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
