"""The rewards ledger: policies, entries, epochs and their allocations, vouchers.

Money is an integer in the token's smallest unit (uint256), stored as NUMERIC(78,0): never a
float. Uniqueness that protects money lives in database constraints: an entry per (source,
reason), an allocation per (epoch, account), a voucher nonce per (DAO, contributor).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from datadao.models import DAO, Dataset, User


def Uint256Field(**kwargs: object) -> models.DecimalField:
    """uint256 as NUMERIC(78,0): 2**256 - 1 has 78 decimal digits."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)  # type: ignore[arg-type]


class RewardPolicy(models.Model):
    """How a dataset pays: per accepted contribution and per new row (scaled by the score),
    per settled label."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="reward_policy")
    per_contribution = Uint256Field(
        default=0, help_text="Paid for a contribution scoring 10000; scaled by its score."
    )
    per_row = Uint256Field(
        default=0,
        help_text="Paid per new row of a tabular contribution scoring 10000; scaled by its "
        "score. Unlike per_contribution, it pays the same however the rows are split into files.",
    )
    per_label = Uint256Field(default=0, help_text="Paid per settled label (labeling datasets).")
    epoch_budget = Uint256Field(
        null=True, blank=True, help_text="Cap per epoch; above it allocations scale pro rata."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "reward policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(per_contribution__gte=0, per_row__gte=0, per_label__gte=0),
                name="reward_policy_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"policy of {self.dataset}"


class EpochStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Epoch(models.Model):
    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="epochs")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=EpochStatus.choices, default=EpochStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    root = models.CharField(max_length=66, blank=True)
    total = Uint256Field(default=0)
    budget_scaled = models.BooleanField(default=False)
    dump = models.JSONField(null=True, blank=True, help_text="OpenZeppelin standard-v1 tree dump")
    dump_cid = models.CharField(max_length=128, blank=True)
    root_typed_data = models.JSONField(null=True, blank=True)
    root_signature = models.CharField(max_length=132, blank=True)
    signer = models.CharField(max_length=42, blank=True)

    class Meta:
        ordering = ["dao_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dao", "number"], name="epoch_number_unique"),
            # At most one open epoch per DAO.
            models.UniqueConstraint(
                fields=["dao"],
                condition=models.Q(status="open"),
                name="epoch_one_open_per_dao",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EpochStatus.values), name="epoch_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open") | ~models.Q(root=""),
                name="epoch_closed_has_root",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dao.slug} epoch {self.number}"


class RewardEntry(models.Model):
    """One credit. The unique (source, reason) key makes a retried task credit once."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(User, on_delete=models.PROTECT, related_name="reward_entries")
    amount = Uint256Field()
    reason = models.CharField(max_length=32)
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=64)
    epoch = models.ForeignKey(
        Epoch, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "reason"], name="reward_entry_once"
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="reward_entry_amount"),
        ]
        indexes = [models.Index(fields=["dao", "epoch"], name="reward_entry_by_epoch")]

    def __str__(self) -> str:
        return f"{self.amount} to {self.account} for {self.source_type}:{self.source_id}"


class Allocation(models.Model):
    """What one address may claim from a closed epoch, with its Merkle proof."""

    epoch = models.ForeignKey(Epoch, on_delete=models.PROTECT, related_name="allocations")
    account = models.CharField(max_length=42)
    amount = Uint256Field()
    tree_index = models.PositiveIntegerField()
    proof = models.JSONField()

    class Meta:
        ordering = ["epoch_id", "account"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "account"], name="allocation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"


class Voucher(models.Model):
    """A signed EIP-712 Claim for a one-off payout."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="vouchers")
    contributor = models.CharField(max_length=42)
    amount = Uint256Field()
    nonce = Uint256Field()
    deadline = models.PositiveBigIntegerField()
    dataset_id = models.CharField(max_length=66)
    typed_data = models.JSONField()
    signature = models.CharField(max_length=132)
    signer = models.CharField(max_length=42)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dao", "contributor", "nonce"], name="voucher_nonce_once"
            ),
        ]

    def __str__(self) -> str:
        return f"voucher {self.nonce} for {self.contributor}"
