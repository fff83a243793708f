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

    dataset = models.OneToOneField(
        Dataset, on_delete=models.CASCADE, related_name="reward_policy", verbose_name=_("dataset")
    )
    per_contribution = Uint256Field(
        default=0,
        help_text=_("Paid for a contribution scoring 10000; scaled by its score."),
        verbose_name=_("per contribution"),
    )
    per_row = Uint256Field(
        default=0,
        help_text=_(
            "Paid per new row of a tabular contribution scoring 10000; scaled by its "
            "score. Unlike per_contribution, it pays the same however the rows are split "
            "into files."
        ),
        verbose_name=_("per row"),
    )
    per_label = Uint256Field(
        default=0,
        help_text=_("Paid per settled label (labeling datasets)."),
        verbose_name=_("per label"),
    )
    epoch_budget = Uint256Field(
        null=True,
        blank=True,
        help_text=_("Cap per epoch; above it allocations scale pro rata."),
        verbose_name=_("epoch budget"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(per_contribution__gte=0, per_row__gte=0, per_label__gte=0),
                name="reward_policy_non_negative",
            ),
        ]
        verbose_name = _("reward policy")
        verbose_name_plural = _("reward policies")

    def __str__(self) -> str:
        return f"policy of {self.dataset}"


class EpochStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Epoch(models.Model):
    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="epochs", verbose_name=_("DAO")
    )
    number = models.PositiveIntegerField(verbose_name=_("number"))
    status = models.CharField(
        max_length=8,
        choices=EpochStatus.choices,
        default=EpochStatus.OPEN,
        verbose_name=_("status"),
    )
    opened_at = models.DateTimeField(default=timezone.now, verbose_name=_("opened at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    root = models.CharField(max_length=66, blank=True, verbose_name=_("root"))
    total = Uint256Field(default=0, verbose_name=_("total"))
    budget_scaled = models.BooleanField(default=False, verbose_name=_("budget scaled"))
    # The OpenZeppelin standard-v1 dump, pinned; the tree itself is stored as EpochTreeChunk rows.
    dump_cid = models.CharField(max_length=128, blank=True, verbose_name=_("dump CID"))
    # The credits, budget and domain the root was computed from (``rewards.epoch_inputs``).
    inputs_cid = models.CharField(max_length=128, blank=True, verbose_name=_("inputs CID"))
    root_typed_data = models.JSONField(null=True, blank=True, verbose_name=_("root typed data"))
    root_signature = models.CharField(max_length=132, blank=True, verbose_name=_("root signature"))
    signer = models.CharField(max_length=42, blank=True, verbose_name=_("signer"))

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
        verbose_name = _("epoch")
        verbose_name_plural = _("epochs")

    def __str__(self) -> str:
        return f"{self.dao.slug} epoch {self.number}"


class RewardEntry(models.Model):
    """One credit. The unique (source, reason) key makes a retried task credit once."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="+", verbose_name=_("DAO"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    account = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="reward_entries", verbose_name=_("account")
    )
    amount = Uint256Field(verbose_name=_("amount"))
    reason = models.CharField(max_length=32, verbose_name=_("reason"))
    source_type = models.CharField(max_length=64, verbose_name=_("source type"))
    source_id = models.CharField(max_length=64, verbose_name=_("source ID"))
    epoch = models.ForeignKey(
        Epoch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("epoch"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("reward entry")
        verbose_name_plural = _("reward entries")

    def __str__(self) -> str:
        return f"{self.amount} to {self.account} for {self.source_type}:{self.source_id}"


class EpochTreeChunk(models.Model):
    """``TREE_CHUNK_NODES`` consecutive nodes of a closed epoch's Merkle tree (32 bytes each, in
    OpenZeppelin's array order; chunk ``index`` starts at node ``index * TREE_CHUNK_NODES``).

    Proofs are read from these rows (``rewards.tree_store``) rather than stored per allocation:
    the tree is 64 bytes per allocation, its proofs about 20 nodes each.
    """

    epoch = models.ForeignKey(
        Epoch, on_delete=models.PROTECT, related_name="tree_chunks", verbose_name=_("epoch")
    )
    index = models.PositiveIntegerField(verbose_name=_("index"))
    nodes = models.BinaryField(verbose_name=_("nodes"))

    class Meta:
        verbose_name = _("epoch tree chunk")
        verbose_name_plural = _("epoch tree chunks")
        constraints = [
            models.UniqueConstraint(fields=["epoch", "index"], name="epoch_tree_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"{self.epoch} tree chunk {self.index}"


class Allocation(models.Model):
    """What one address may claim from a closed epoch; its Merkle proof is read from the
    epoch's stored tree at ``tree_index`` (``rewards.tree_store.allocation_proofs``)."""

    epoch = models.ForeignKey(
        Epoch, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("epoch")
    )
    account = models.CharField(max_length=42, verbose_name=_("account"))
    amount = Uint256Field(verbose_name=_("amount"))
    tree_index = models.PositiveIntegerField(verbose_name=_("tree index"))

    class Meta:
        ordering = ["epoch_id", "account"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "account"], name="allocation_once"),
        ]
        # A member's allocations, newest first, a keyset page at a time (the API's list).
        indexes = [models.Index(fields=["account", "id"], name="allocation_by_account")]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"


class Voucher(models.Model):
    """A signed EIP-712 Claim for a one-off payout."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("DAO")
    )
    contributor = models.CharField(max_length=42, verbose_name=_("contributor"))
    amount = Uint256Field(verbose_name=_("amount"))
    nonce = Uint256Field(verbose_name=_("nonce"))
    deadline = models.PositiveBigIntegerField(verbose_name=_("deadline"))
    dataset_id = models.CharField(max_length=66, verbose_name=_("dataset ID"))
    typed_data = models.JSONField(verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    signer = models.CharField(max_length=42, verbose_name=_("signer"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dao", "contributor", "nonce"], name="voucher_nonce_once"
            ),
        ]
        # A member's vouchers, newest first, a keyset page at a time (the API's list).
        indexes = [models.Index(fields=["contributor", "id"], name="voucher_by_contributor")]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")

    def __str__(self) -> str:
        return f"voucher {self.nonce} for {self.contributor}"


# The reasons of royalty entries (revenue consumers paid, which no epoch budget scales) are
# defined with the settlement rule that treats them apart (``rewards.allocations``).


class RoyaltyPolicy(models.Model):
    """How a DAO splits what consumers pay for its data: ``treasury_share_bps`` of each payment
    goes to ``treasury_address``, the rest to the contributors of the release consumed."""

    dao = models.OneToOneField(
        DAO, on_delete=models.CASCADE, related_name="royalty_policy", verbose_name=_("DAO")
    )
    treasury_share_bps = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "Basis points of each payment kept by the DAO's treasury (1000 = 10%); "
            "the rest goes to the contributors."
        ),
        verbose_name=_("treasury share bps"),
    )
    treasury_address = models.CharField(
        max_length=42,
        blank=True,
        validators=[validate_checksum_address],
        help_text=_("Where the treasury share is paid (claimed like any allocation)."),
        verbose_name=_("treasury address"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
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
        verbose_name = _("royalty policy")
        verbose_name_plural = _("royalty policies")

    def __str__(self) -> str:
        return f"royalty policy of {self.dao}"


class RoyaltyPayment(models.Model):
    """A consumer's payment split into the reward pool: the record of the split that its
    ``RewardEntry`` rows (reason ``royalty`` and ``royalty_treasury``) credit. The unique
    ``payment_key`` makes a repeated confirmation of the same payment a lookup."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="royalty_payments", verbose_name=_("DAO")
    )
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    # The release consumed, when the caller names it: whose contributors ``shares`` lists.
    release_cid = models.CharField(max_length=128, blank=True, verbose_name=_("release CID"))
    payment_key = models.CharField(max_length=128, unique=True, verbose_name=_("payment key"))
    amount = Uint256Field(verbose_name=_("amount"))
    treasury_share_bps = models.PositiveIntegerField(verbose_name=_("treasury share bps"))
    treasury_address = models.CharField(
        max_length=42, blank=True, verbose_name=_("treasury address")
    )
    treasury_amount = Uint256Field(verbose_name=_("treasury amount"))
    # The contributors' accepted scores added up: a payee's share is their score over this.
    total_score = models.PositiveBigIntegerField(verbose_name=_("total score"))
    # [{"account": user id, "address": ..., "score": ..., "amount": "..."}], by address.
    shares = models.JSONField(verbose_name=_("shares"))
    # What each payee's score is made of, when the caller names it: [{"account": user id,
    # "score": ..., "source": "contributions.contribution:<id>"}], so the part of a payee's
    # royalty that one piece of work earned can be reversed (``rewards.clawbacks``).
    sources = models.JSONField(default=list, blank=True, verbose_name=_("sources"))
    # The parts reversed since (an upheld challenge of a source): [{"source", "account",
    # "amount", "how": "withdrawn" | "clawed_back", "ordered_by"}]. Each (source, account) once.
    reversed = models.JSONField(default=list, blank=True, verbose_name=_("reversed"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("royalty payment")
        verbose_name_plural = _("royalty payments")

    def __str__(self) -> str:
        return f"royalty {self.payment_key}: {self.amount}"


# --- clawbacks ------------------------------------------------------------------------------


class Clawback(models.Model):
    """A settled credit taken back (an upheld challenge). The money is already committed in a
    signed epoch, so it is recovered from what the account is paid later in the same DAO: each
    epoch's allocation and each voucher pays what is left after ``remaining``, never below
    zero, and the rest is carried (``rewards.netting``). One clawback per credit (per part of a
    royalty credit): the unique (``entry``, ``part``) makes a second reversal impossible."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="clawbacks", verbose_name=_("DAO")
    )
    account = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="clawbacks", verbose_name=_("account")
    )
    entry = models.ForeignKey(
        RewardEntry, on_delete=models.PROTECT, related_name="clawbacks", verbose_name=_("entry")
    )
    # Which part of the credit: "" for all of it; for a royalty credit, which source's share of
    # it ("contributions.contribution:<id>"), since one payee's royalty adds up the shares of
    # several pieces of work and each is reversed on its own.
    part = models.CharField(max_length=96, blank=True, default="", verbose_name=_("part"))
    amount = Uint256Field(
        help_text=_("What the credit paid (after any budget scaling)."), verbose_name=_("amount")
    )
    remaining = Uint256Field(
        help_text=_("What is still to be netted from later payments."), verbose_name=_("remaining")
    )
    # Shown to the person on /me/rewards: why their reward was taken back.
    reason = models.TextField(verbose_name=_("reason"))
    # What ordered it, e.g. "disputes.challenge" and the challenge's id.
    ordered_by_type = models.CharField(max_length=64, verbose_name=_("ordered by type"))
    ordered_by_id = models.CharField(max_length=64, verbose_name=_("ordered by ID"))
    # Paid ``share_bps`` of each amount netted (an upheld challenge's challenger), if anyone.
    beneficiary = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("beneficiary"),
    )
    share_bps = models.PositiveIntegerField(default=0, verbose_name=_("share bps"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("clawback")
        verbose_name_plural = _("clawbacks")

    def __str__(self) -> str:
        return f"clawback of {self.amount} from {self.account} ({self.remaining} due)"


class ClawbackDeduction(models.Model):
    """What one payment (an epoch's allocation, or a voucher) kept back towards a clawback."""

    clawback = models.ForeignKey(
        Clawback, on_delete=models.PROTECT, related_name="deductions", verbose_name=_("clawback")
    )
    epoch = models.ForeignKey(
        Epoch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deductions",
        verbose_name=_("epoch"),
    )
    voucher = models.ForeignKey(
        Voucher,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deductions",
        verbose_name=_("voucher"),
    )
    amount = Uint256Field(verbose_name=_("amount"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("clawback deduction")
        verbose_name_plural = _("clawback deductions")

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

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="chain_txs", verbose_name=_("DAO")
    )
    kind = models.CharField(max_length=16, choices=ChainTxKind.choices, verbose_name=_("kind"))
    epoch = models.ForeignKey(
        Epoch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="chain_txs",
        verbose_name=_("epoch"),
    )
    chain_id = models.PositiveBigIntegerField(verbose_name=_("chain ID"))
    sender = models.CharField(max_length=42, verbose_name=_("sender"))
    nonce = models.PositiveBigIntegerField(verbose_name=_("nonce"))
    tx_hash = models.CharField(max_length=66, unique=True, verbose_name=_("tx hash"))
    raw = models.TextField(
        help_text=_("The signed transaction (public once broadcast)."), verbose_name=_("raw")
    )
    max_fee = Uint256Field(verbose_name=_("max fee"))
    priority_fee = Uint256Field(verbose_name=_("priority fee"))
    gas = models.PositiveBigIntegerField(verbose_name=_("gas"))
    status = models.CharField(
        max_length=8,
        choices=ChainTxStatus.choices,
        default=ChainTxStatus.SENT,
        verbose_name=_("status"),
    )
    sent_at = models.DateTimeField(default=timezone.now, verbose_name=_("sent at"))
    mined_at = models.DateTimeField(null=True, blank=True, verbose_name=_("mined at"))
    block_number = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=_("block number")
    )
    problem = models.TextField(blank=True, verbose_name=_("problem"))

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
        verbose_name = _("chain tx")
        verbose_name_plural = _("chain transactions")

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_hash}"


class ChainNonce(models.Model):
    """The next nonce the platform will use for one sending account on one chain; locked while
    a transaction is signed, so two relays never sign the same nonce for different work."""

    chain_id = models.PositiveBigIntegerField(verbose_name=_("chain ID"))
    address = models.CharField(max_length=42, verbose_name=_("address"))
    next_nonce = models.PositiveBigIntegerField(default=0, verbose_name=_("next nonce"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="chain_nonce_once"),
        ]
        verbose_name = _("chain nonce")
        verbose_name_plural = _("chain nonces")

    def __str__(self) -> str:
        return f"{self.address}@{self.chain_id} next nonce {self.next_nonce}"


class ChainCursor(models.Model):
    """How far the chain reader has read one distributor: every event in blocks up to ``block``
    is stored as final; ``block_hash`` is that block's hash as read, so a reorganisation deeper
    than the confirmations is noticed and rolled back."""

    dao = models.ForeignKey(
        DAO, on_delete=models.CASCADE, related_name="chain_cursors", verbose_name=_("DAO")
    )
    chain_id = models.PositiveBigIntegerField(verbose_name=_("chain ID"))
    address = models.CharField(max_length=42, verbose_name=_("address"))
    block = models.BigIntegerField(
        help_text=_("Last block read as final (-1: none yet)."), verbose_name=_("block")
    )
    block_hash = models.CharField(max_length=66, blank=True, verbose_name=_("block hash"))
    head = models.PositiveBigIntegerField(
        default=0, help_text=_("Chain head at the last read."), verbose_name=_("head")
    )
    token_balance = Uint256Field(null=True, blank=True, verbose_name=_("token balance"))
    balance_block = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=_("balance block")
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="chain_cursor_once"),
        ]
        verbose_name = _("chain cursor")
        verbose_name_plural = _("chain cursors")

    def __str__(self) -> str:
        return f"{self.address}@{self.chain_id} block {self.block}"


class ChainEvent(models.Model):
    """One event a distributor emitted. ``confirmed`` once buried under the chain's
    confirmations; until then it is replaced by every read, so a reorganised block's events
    disappear with it."""

    dao = models.ForeignKey(
        DAO, on_delete=models.CASCADE, related_name="chain_events", verbose_name=_("DAO")
    )
    chain_id = models.PositiveBigIntegerField(verbose_name=_("chain ID"))
    address = models.CharField(max_length=42, verbose_name=_("address"))
    name = models.CharField(max_length=32, verbose_name=_("name"))
    block_number = models.PositiveBigIntegerField(verbose_name=_("block number"))
    block_hash = models.CharField(max_length=66, verbose_name=_("block hash"))
    tx_hash = models.CharField(max_length=66, verbose_name=_("tx hash"))
    log_index = models.PositiveIntegerField(verbose_name=_("log index"))
    epoch = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("epoch"))
    account = models.CharField(max_length=42, blank=True, verbose_name=_("account"))
    amount = Uint256Field(null=True, blank=True, verbose_name=_("amount"))
    args = models.JSONField(verbose_name=_("args"))
    confirmed = models.BooleanField(default=False, verbose_name=_("confirmed"))
    seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("seen at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))

    class Meta:
        ordering = ["block_number", "log_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index"], name="chain_event_once"
            ),
        ]
        indexes = [models.Index(fields=["dao", "name", "epoch"], name="chain_event_by_epoch")]
        verbose_name = _("chain event")
        verbose_name_plural = _("chain events")

    def __str__(self) -> str:
        return f"{self.name} in block {self.block_number}"
