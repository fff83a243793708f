"""The rewards ledger: policies, entries, epochs and their allocations, vouchers.

Royalties (what data consumers pay) are credited as entries too, one per payee of a
``RoyaltyPayment``, after the DAO's treasury share (``RoyaltyPolicy``).

Money is an integer in the token's smallest unit (uint256), stored as NUMERIC(78,0): never a
float. Uniqueness that protects money lives in database constraints: an entry per (source,
reason), an allocation per (epoch, account), a voucher nonce per (DAO, contributor).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datadao.models import ADDRESS_REGEX, DAO, Dataset, User, validate_checksum_address
from rewards.allocations import (  # noqa: F401 (the models' names for them)
    CHALLENGE_BOND,
    CHALLENGE_SHARE,
    ROYALTY,
    ROYALTY_REASONS,
    ROYALTY_TREASURY,
)


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
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


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
    # The credits, budget and domain the root was computed from (``rewards.epoch_inputs``).
    inputs_cid = models.CharField(max_length=128, blank=True)
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
        indexes = [
            models.Index(fields=["dao", "epoch"], name="reward_entry_by_epoch"),
            # What the open epoch has accrued (the dashboard, the epochs list) and what each
            # person has (their rewards page): sums over the unsettled credits alone, read
            # from the index (PostgreSQL keeps the amounts in it), however long the ledger.
            models.Index(
                fields=["dao"],
                include=["amount"],
                condition=models.Q(epoch__isnull=True),
                name="reward_entry_unsettled",
            ),
            models.Index(
                fields=["account", "dao"],
                include=["amount"],
                condition=models.Q(epoch__isnull=True),
                name="reward_entry_unsettled_by_user",
            ),
        ]

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
        # A member's allocations, newest first, a keyset page at a time (the API's list).
        indexes = [models.Index(fields=["account", "id"], name="allocation_by_account")]

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
        # A member's vouchers, newest first, a keyset page at a time (the API's list).
        indexes = [models.Index(fields=["contributor", "id"], name="voucher_by_contributor")]

    def __str__(self) -> str:
        return f"voucher {self.nonce} for {self.contributor}"


# The reasons of royalty entries (revenue consumers paid, which no epoch budget scales) are
# defined with the settlement rule that treats them apart (``rewards.allocations``).


class RoyaltyPolicy(models.Model):
    """How a DAO splits what consumers pay for its data: ``treasury_share_bps`` of each payment
    goes to ``treasury_address``, the rest to the contributors of the release consumed."""

    dao = models.OneToOneField(DAO, on_delete=models.CASCADE, related_name="royalty_policy")
    treasury_share_bps = models.PositiveIntegerField(
        default=0,
        help_text="Basis points of each payment kept by the DAO's treasury (1000 = 10%); "
        "the rest goes to the contributors.",
    )
    treasury_address = models.CharField(
        max_length=42,
        blank=True,
        validators=[validate_checksum_address],
        help_text="Where the treasury share is paid (claimed like any allocation).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "royalty policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(treasury_share_bps__gte=0, treasury_share_bps__lte=10_000),
                name="royalty_policy_share_bps",
            ),
            # A share with nowhere to go would be credited to nobody.
            models.CheckConstraint(
                condition=models.Q(treasury_share_bps=0)
                | models.Q(treasury_address__regex=ADDRESS_REGEX),
                name="royalty_policy_share_has_address",
            ),
        ]

    def __str__(self) -> str:
        return f"royalty policy of {self.dao}"


class RoyaltyPayment(models.Model):
    """A consumer's payment split into the reward pool: the record of the split that its
    ``RewardEntry`` rows (reason ``royalty`` and ``royalty_treasury``) credit. The unique
    ``payment_key`` makes a repeated confirmation of the same payment a lookup."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="royalty_payments")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    # The release consumed, when the caller names it: whose contributors ``shares`` lists.
    release_cid = models.CharField(max_length=128, blank=True)
    payment_key = models.CharField(max_length=128, unique=True)
    amount = Uint256Field()
    treasury_share_bps = models.PositiveIntegerField()
    treasury_address = models.CharField(max_length=42, blank=True)
    treasury_amount = Uint256Field()
    # The contributors' accepted scores added up: a payee's share is their score over this.
    total_score = models.PositiveBigIntegerField()
    # [{"account": user id, "address": ..., "score": ..., "amount": "..."}], by address.
    shares = models.JSONField()
    # What each payee's score is made of, when the caller names it: [{"account": user id,
    # "score": ..., "source": "contributions.contribution:<id>"}], so the part of a payee's
    # royalty that one piece of work earned can be reversed (``rewards.clawbacks``).
    sources = models.JSONField(default=list, blank=True)
    # The parts reversed since (an upheld challenge of a source): [{"source", "account",
    # "amount", "how": "withdrawn" | "clawed_back", "ordered_by"}]. Each (source, account) once.
    reversed = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="royalty_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(treasury_amount__gte=0, treasury_amount__lte=models.F("amount")),
                name="royalty_treasury_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(treasury_share_bps__lte=10_000), name="royalty_payment_bps"
            ),
        ]

    def __str__(self) -> str:
        return f"royalty {self.payment_key}: {self.amount}"


# --- clawbacks ------------------------------------------------------------------------------


class Clawback(models.Model):
    """A settled credit taken back (an upheld challenge). The money is already committed in a
    signed epoch, so it is recovered from what the account is paid later in the same DAO: each
    epoch's allocation and each voucher pays what is left after ``remaining``, never below
    zero, and the rest is carried (``rewards.netting``). One clawback per credit (per part of a
    royalty credit): the unique (``entry``, ``part``) makes a second reversal impossible."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="clawbacks")
    account = models.ForeignKey(User, on_delete=models.PROTECT, related_name="clawbacks")
    entry = models.ForeignKey(RewardEntry, on_delete=models.PROTECT, related_name="clawbacks")
    # Which part of the credit: "" for all of it; for a royalty credit, which source's share of
    # it ("contributions.contribution:<id>"), since one payee's royalty adds up the shares of
    # several pieces of work and each is reversed on its own.
    part = models.CharField(max_length=96, blank=True, default="")
    amount = Uint256Field(help_text="What the credit paid (after any budget scaling).")
    remaining = Uint256Field(help_text="What is still to be netted from later payments.")
    # Shown to the person on /me/rewards: why their reward was taken back.
    reason = models.TextField()
    # What ordered it, e.g. "disputes.challenge" and the challenge's id.
    ordered_by_type = models.CharField(max_length=64)
    ordered_by_id = models.CharField(max_length=64)
    # Paid ``share_bps`` of each amount netted (an upheld challenge's challenger), if anyone.
    beneficiary = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    share_bps = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dao_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="clawback_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, remaining__lte=models.F("amount")),
                name="clawback_remaining_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(share_bps__lte=10_000), name="clawback_share_bps"
            ),
            # One clawback per credit (or per part of a royalty credit).
            models.UniqueConstraint(fields=["entry", "part"], name="clawback_once_per_part"),
        ]
        indexes = [
            models.Index(
                fields=["dao", "account", "id"],
                condition=models.Q(remaining__gt=0),
                name="clawback_due",
            )
        ]

    def __str__(self) -> str:
        return f"clawback of {self.amount} from {self.account} ({self.remaining} due)"


class ClawbackDeduction(models.Model):
    """What one payment (an epoch's allocation, or a voucher) kept back towards a clawback."""

    clawback = models.ForeignKey(Clawback, on_delete=models.PROTECT, related_name="deductions")
    epoch = models.ForeignKey(
        Epoch, null=True, blank=True, on_delete=models.PROTECT, related_name="deductions"
    )
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="deductions"
    )
    amount = Uint256Field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["clawback_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="clawback_deduction_amount_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(epoch__isnull=True, voucher__isnull=False)
                | models.Q(epoch__isnull=False, voucher__isnull=True),
                name="clawback_deduction_one_payment",
            ),
            models.UniqueConstraint(
                fields=["clawback", "epoch"], name="clawback_deduction_once_per_epoch"
            ),
            models.UniqueConstraint(
                fields=["clawback", "voucher"], name="clawback_deduction_once_per_voucher"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} towards clawback {self.clawback_id}"


# --- settlement on chain ------------------------------------------------------------------------


class ChainTxKind(models.TextChoices):
    SET_ROOT = "set_root", "setEpochRoot"


class ChainTxStatus(models.TextChoices):
    SENT = "sent", _("Sent, not mined")
    MINED = "mined", _("Mined")
    REPLACED = "replaced", _("Replaced by a higher-fee transaction of the same nonce")
    FAILED = "failed", _("Reverted or dropped")


class ChainTx(models.Model):
    """One transaction the platform signed, recorded *before* it is broadcast: a crash between
    the two is recovered by broadcasting the same bytes (one hash) again, never by signing a
    second transaction. A replacement re-signs the same nonce, so at most one of them mines."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="chain_txs")
    kind = models.CharField(max_length=16, choices=ChainTxKind.choices)
    epoch = models.ForeignKey(
        Epoch, null=True, blank=True, on_delete=models.PROTECT, related_name="chain_txs"
    )
    chain_id = models.PositiveBigIntegerField()
    sender = models.CharField(max_length=42)
    nonce = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66, unique=True)
    raw = models.TextField(help_text="The signed transaction (public once broadcast).")
    max_fee = Uint256Field()
    priority_fee = Uint256Field()
    gas = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=8, choices=ChainTxStatus.choices, default=ChainTxStatus.SENT
    )
    sent_at = models.DateTimeField(default=timezone.now)
    mined_at = models.DateTimeField(null=True, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ChainTxStatus.values), name="chain_tx_status_valid"
            ),
            # One live transaction per epoch and kind: a second relay finds it and waits on it.
            models.UniqueConstraint(
                fields=["epoch", "kind"],
                condition=models.Q(status__in=["sent", "mined"]),
                name="chain_tx_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_hash}"


class ChainNonce(models.Model):
    """The next nonce the platform will use for one sending account on one chain; locked while
    a transaction is signed, so two relays never sign the same nonce for different work."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    next_nonce = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="chain_nonce_once"),
        ]

    def __str__(self) -> str:
        return f"{self.address}@{self.chain_id} next nonce {self.next_nonce}"


class ChainCursor(models.Model):
    """How far the chain reader has read one distributor: every event in blocks up to ``block``
    is stored as final; ``block_hash`` is that block's hash as read, so a reorganisation deeper
    than the confirmations is noticed and rolled back."""

    dao = models.ForeignKey(DAO, on_delete=models.CASCADE, related_name="chain_cursors")
    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    block = models.BigIntegerField(help_text="Last block read as final (-1: none yet).")
    block_hash = models.CharField(max_length=66, blank=True)
    head = models.PositiveBigIntegerField(default=0, help_text="Chain head at the last read.")
    token_balance = Uint256Field(null=True, blank=True)
    balance_block = models.PositiveBigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="chain_cursor_once"),
        ]

    def __str__(self) -> str:
        return f"{self.address}@{self.chain_id} block {self.block}"


class ChainEvent(models.Model):
    """One event a distributor emitted. ``confirmed`` once buried under the chain's
    confirmations; until then it is replaced by every read, so a reorganised block's events
    disappear with it."""

    dao = models.ForeignKey(DAO, on_delete=models.CASCADE, related_name="chain_events")
    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    name = models.CharField(max_length=32)
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    epoch = models.PositiveBigIntegerField(null=True, blank=True)
    account = models.CharField(max_length=42, blank=True)
    amount = Uint256Field(null=True, blank=True)
    args = models.JSONField()
    confirmed = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["block_number", "log_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index"], name="chain_event_once"
            ),
        ]
        indexes = [models.Index(fields=["dao", "name", "epoch"], name="chain_event_by_epoch")]

    def __str__(self) -> str:
        return f"{self.name} in block {self.block_number}"
