"""Core data model: wallet users, DAOs, memberships, datasets, the audit log, SIWE nonces.

Models hold fields, choices and constraints only. Writes go through ``datadao.services``.
Invariants that matter are database constraints, so no code path (admin, shell, a bug) can
break them.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from eth_utils import is_checksum_address, to_checksum_address

from datadao.governed import VotingPower, validate_reserved

ADDRESS_REGEX = r"^0x[0-9a-fA-F]{40}$"
DAO_ID_REGEX = r"^0x[0-9a-f]{64}$"


def new_dao_id() -> str:
    """A fresh DAO identity: 32 random bytes as lowercase 0x-hex.

    Every reward payload the platform signs names its DAO by this id, and a distributor is
    deployed for one id. Random rather than derived from the primary key or slug: those repeat
    across platform instances (a staging copy, a second operator, a restored backup sharing a
    signer key), so a derived id could make one instance's signature valid for another
    instance's DAO. 256 random bits never repeat, and the unique constraint would refuse it
    if they did.
    """
    return "0x" + secrets.token_hex(32)


def validate_checksum_address(value: str) -> None:
    if not isinstance(value, str) or not is_checksum_address(value):
        raise ValidationError(
            "%(value)s is not an EIP-55 checksummed Ethereum address.", params={"value": value}
        )


def replica_capacity() -> int:
    """The highest replication factor the IPFS configuration can honour: the backend plus
    each ``IPFS_REPLICAS`` target (``ipfs.conf.get_targets`` builds them; datadao, below the
    ipfs app, only counts them)."""
    return 1 + len([entry for entry in settings.IPFS_REPLICAS if entry.strip()])


def validate_replication_factor(value: int) -> None:
    capacity = replica_capacity()
    if value < 1:
        raise ValidationError("A DAO keeps at least one copy of each file (replication factor 1).")
    if value > capacity:
        raise ValidationError(
            "A replication factor of %(value)s needs %(value)s places to keep copies; this "
            "platform has %(capacity)s (its IPFS backend plus %(extra)s IPFS_REPLICAS "
            "targets). Choose at most %(capacity)s, or ask the operator for more targets.",
            params={"value": value, "capacity": capacity, "extra": capacity - 1},
        )


class UserManager(BaseUserManager["User"]):
    def create_user(self, address: str, password: str | None = None, **extra: object) -> User:
        user = self.model(address=to_checksum_address(address), **extra)
        if password:
            user.set_password(password)
        else:
            # Wallet users sign in with SIWE only; an unusable password keeps /admin/login shut.
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, address: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(address, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, identified by an Ethereum address (stored EIP-55 checksummed)."""

    address = models.CharField(max_length=42, unique=True, validators=[validate_checksum_address])
    display_name = models.CharField(max_length=80, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Operators: may use the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "address"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(address__regex=ADDRESS_REGEX), name="user_address_format"
            ),
            # Checksummed storage makes this redundant in theory; it also stops two rows that
            # differ only by case if something ever writes a non-checksummed address.
            models.UniqueConstraint(Lower("address"), name="user_address_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.address


class JoinPolicy(models.TextChoices):
    """How someone who is not a member becomes one (``datadao.joining``)."""

    OPEN = "open", _("Open: anyone signed in joins with one click")
    REQUEST = "request", _("By request: an admin approves each applicant")
    INVITE = "invite", _("By invite link only")


# The DAO fields that set its disputes (the disputes app), edited on the DAO's console page.
DISPUTE_FIELDS = (
    "challenge_window_seconds",
    "challenge_bond",
    "challenge_share_bps",
    "challenge_open_to_anyone",
    "epoch_waits_for_challenges",
)


class DAO(models.Model):
    # Named onchain_id, not dao_id: every model pointing at a DAO already has an integer
    # dao_id column, and confusing the two must be impossible at a glance.
    onchain_id = models.CharField(
        "DAO id (daoId)",
        max_length=66,
        unique=True,
        default=new_dao_id,
        editable=False,
        help_text=(
            "The bytes32 every reward root and voucher is signed for; deploy the DAO's "
            "DatadaoDistributor with it. Never changes."
        ),
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    token_symbol = models.CharField(max_length=11)
    token_decimals = models.PositiveSmallIntegerField(
        default=18,
        validators=[MaxValueValidator(36)],
        help_text=(
            "The token's decimals (its ERC-20 decimals(), 0-36): amounts are stored in the "
            "smallest unit and shown and typed in whole tokens. Match the token contract "
            "before paying: a change re-reads every stored amount."
        ),
    )
    chain_id = models.PositiveBigIntegerField(default=1)
    reward_contract_address = models.CharField(
        max_length=42,
        blank=True,
        default="",
        validators=[validate_checksum_address],
        help_text="A DatadaoDistributor deployed with this DAO's id on this chain (empty: none).",
    )
    epoch_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Close the open reward epoch every this many days (empty: only by hand).",
    )
    join_policy = models.CharField(
        max_length=16,
        choices=JoinPolicy.choices,
        default=JoinPolicy.REQUEST,
        help_text="How newcomers become members (an invite link admits under every policy).",
    )
    terms = models.TextField(
        "contribution terms",
        blank=True,
        max_length=20_000,
        help_text=(
            "What a member agrees to when joining; each joiner signs its sha256 with their "
            "wallet. Changing it asks new joiners to sign the new text."
        ),
    )
    # Governance (the governance app): how votes weigh, and what only a passed proposal changes.
    voting_power = models.CharField(
        max_length=16,
        choices=VotingPower.choices,
        default=VotingPower.MEMBER,
        help_text="How much a member's vote on a proposal weighs.",
    )
    voting_token = models.CharField(
        max_length=42,
        blank=True,
        default="",
        validators=[validate_checksum_address],
        help_text="The ERC-20 whose balance at a proposal's snapshot block is a member's voting "
        "power (voting power 'token'; its chain must be in CHAIN_RPC_URLS).",
    )
    governance_reserved = models.JSONField(
        "reserved for governance",
        default=list,
        blank=True,
        validators=[validate_reserved],
        help_text="Kinds of change the console may no longer make: only a passed proposal may. "
        "Once anything is reserved, these governance settings are too.",
    )
    governance_timelock_seconds = models.PositiveIntegerField(
        "timelock (seconds)",
        default=0,
        help_text="How long a passed proposal waits after its vote closes before it is applied.",
    )
    governance_min_period_seconds = models.PositiveIntegerField(
        "minimum voting period (seconds)",
        default=24 * 3600,
        validators=[MinValueValidator(60), MaxValueValidator(30 * 24 * 3600)],
        help_text="The shortest voting period a proposal may set: long enough for members to "
        "notice a proposal and vote against it.",
    )
    governance_min_quorum_bps = models.PositiveIntegerField(
        "minimum quorum (basis points)",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="The least quorum a proposal may set, as a share of all the voting power "
        "eligible when it is made (2000 = 20 %): nobody passes a proposal alone.",
    )
    replication_factor = models.PositiveSmallIntegerField(
        default=1,
        validators=[validate_replication_factor],
        help_text=(
            "Copies kept of each file this DAO pins: 1 is the IPFS backend alone; more adds "
            "replicas on the operator's IPFS_REPLICAS targets, checked and repaired by the pin "
            "audit. Applies to files pinned from now on."
        ),
    )
    # Disputes (the disputes app): who may challenge accepted work, for how long, at what
    # bond, what an upheld challenge pays back, and whether epochs wait for the window.
    challenge_window_seconds = models.PositiveIntegerField(
        "challenge window (seconds)",
        default=7 * 24 * 3600,
        validators=[MinValueValidator(60), MaxValueValidator(365 * 24 * 3600)],
        help_text="How long after a contribution is pinned (or a labeling item settles) it "
        "may be challenged.",
    )
    challenge_bond = models.DecimalField(
        "challenge bond",
        max_digits=78,
        decimal_places=0,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Tokens (smallest unit) a challenger must post before a challenge is heard; "
        "0: none. Returned if upheld, forfeited if rejected.",
    )
    challenge_share_bps = models.PositiveIntegerField(
        "challenger's share (basis points)",
        default=0,
        validators=[MaxValueValidator(10_000)],
        help_text="Share of the reward an upheld challenge recovers paid to the challenger, on "
        "top of the bond, as it is recovered (1000 = 10 %).",
    )
    challenge_open_to_anyone = models.BooleanField(
        "anyone may challenge",
        default=False,
        help_text="Off: only members challenge. On: any signed-in wallet may (set a bond).",
    )
    epoch_waits_for_challenges = models.BooleanField(
        "epochs wait for the challenge window",
        default=False,
        help_text="Settle a credit only once its challenge window has passed and no challenge "
        "of it is open: slower payment, no clawbacks.",
    )
    # Kept by the event subscribers (the webhooks app) under this row's lock, read by every
    # emitter (datadao.events) so that an event nobody receives costs no query.
    event_subscriptions = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The event types (datadao.events) at least one enabled subscriber receives.",
    )
    creator = models.ForeignKey(User, on_delete=models.PROTECT, related_name="created_daos")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "DAO"
        verbose_name_plural = "DAOs"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reward_contract_address="")
                | models.Q(reward_contract_address__regex=ADDRESS_REGEX),
                name="dao_reward_contract_format",
            ),
            models.CheckConstraint(condition=models.Q(chain_id__gt=0), name="dao_chain_id_pos"),
            models.CheckConstraint(
                condition=models.Q(challenge_bond__gte=0, challenge_share_bps__lte=10_000),
                name="dao_challenge_terms",
            ),
            models.CheckConstraint(
                condition=models.Q(onchain_id__regex=DAO_ID_REGEX), name="dao_onchain_id_format"
            ),
            # One contract pays one DAO: two DAOs on the same (chain, contract) would share
            # its pool. Addresses are stored checksummed, but compared without case so that
            # no other spelling of the same address slips through.
            models.UniqueConstraint(
                models.F("chain_id"),
                Lower("reward_contract_address"),
                condition=~models.Q(reward_contract_address=""),
                name="dao_reward_contract_unique",
                violation_error_message=(
                    "Another DAO already uses this reward contract on this chain; each DAO "
                    "needs its own DatadaoDistributor, deployed with its DAO id."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(token_symbol__regex=r"^[A-Za-z0-9]{1,11}$"),
                name="dao_token_symbol_format",
            ),
            models.CheckConstraint(
                condition=models.Q(join_policy__in=JoinPolicy.values), name="dao_join_policy_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(token_decimals__gte=0, token_decimals__lte=36),
                name="dao_token_decimals_range",
                violation_error_message="A token has between 0 and 36 decimals.",
            ),
            models.CheckConstraint(
                condition=models.Q(voting_power__in=VotingPower.values),
                name="dao_voting_power_valid",
            ),
            # Token voting needs the token; the other modes ignore it.
            models.CheckConstraint(
                condition=~models.Q(voting_power=VotingPower.TOKEN)
                | models.Q(voting_token__regex=ADDRESS_REGEX),
                name="dao_voting_token_set",
                violation_error_message="Voting power 'token' needs the voting token's address.",
            ),
            models.CheckConstraint(
                condition=models.Q(replication_factor__gte=1),
                name="dao_replication_factor_positive",
                violation_error_message="A DAO keeps at least one copy of each file.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CREATOR = "creator", _("Creator")
    ADMIN = "admin", _("Admin")
    # Reviews settled labeling items (``labeling.services.review``).
    REVIEWER = "reviewer", _("Reviewer")
    CONTRIBUTOR = "contributor", _("Contributor")


# Former names of roles, as stored in texts that cannot change (a proposal's hashed change).
FORMER_ROLE_NAMES = {"validator": Role.REVIEWER}

# Roles that may manage a DAO in the console.
MANAGER_ROLES = (Role.CREATOR, Role.ADMIN)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    dao = models.ForeignKey(DAO, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CONTRIBUTOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dao_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dao"], name="membership_user_dao_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.dao}"


class TermsAcceptance(models.Model):
    """A member's wallet signature over a DAO's contribution terms and its open datasets'
    licences (EIP-712 ``JoinTerms``, ``datadao.jointerms``), kept as signed: the typed data
    exactly as verified, the signature and the address it recovers to."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="terms_acceptances")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="terms_acceptances")
    typed_data = models.JSONField()
    signature = models.CharField(max_length=132)
    signer = models.CharField(max_length=42)
    terms_hash = models.CharField(max_length=66)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A signature is stored once: replaying it can never count as a second acceptance.
            models.UniqueConstraint(fields=["signature"], name="termsacceptance_signature_unique"),
            models.CheckConstraint(
                condition=models.Q(signer__regex=ADDRESS_REGEX), name="termsacceptance_signer"
            ),
            models.CheckConstraint(
                condition=models.Q(terms_hash__regex=DAO_ID_REGEX),
                name="termsacceptance_terms_hash_format",
            ),
            models.CheckConstraint(
                condition=models.Q(signature__regex=r"^0x[0-9a-f]{130}$"),
                name="termsacceptance_signature_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer} accepted {self.dao} terms {self.terms_hash[:10]}…"


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class JoinRequest(models.Model):
    """Someone asking to join a DAO whose policy is "by request"; a creator or admin decides."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="join_requests")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="join_requests")
    acceptance = models.ForeignKey(TermsAcceptance, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=JoinRequestStatus.choices, default=JoinRequestStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dao", "user"],
                condition=models.Q(status="pending"),
                name="joinrequest_one_pending",
                violation_error_message="You already have a pending request to join this DAO.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=JoinRequestStatus.values),
                name="joinrequest_status_valid",
            ),
            # Decided exactly when not pending.
            models.CheckConstraint(
                condition=models.Q(status="pending", decided_at__isnull=True)
                | (~models.Q(status="pending") & models.Q(decided_at__isnull=False)),
                name="joinrequest_decided_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.dao} ({self.status})"


class InviteLink(models.Model):
    """A link that admits its holders to a DAO: expiring, limited in uses, revocable. The
    link carries a random token; only its sha256 is stored."""

    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="invite_links")
    token_hash = models.CharField(max_length=64, unique=True)
    note = models.CharField(max_length=120, blank=True, help_text="Who it is for (shown to you).")
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_uses__gte=1), name="invite_max_uses_pos"),
            models.CheckConstraint(
                condition=models.Q(uses__lte=models.F("max_uses")), name="invite_uses_within_max"
            ),
            models.CheckConstraint(
                condition=models.Q(token_hash__regex=r"^[0-9a-f]{64}$"), name="invite_token_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"Invite to {self.dao} ({self.uses}/{self.max_uses} used)"


class DatasetKind(models.TextChoices):
    TABULAR = "tabular", _("Tabular")
    FILES = "files", _("Files")
    LABELING = "labeling", _("Labeling")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    MEMBERS = "members", _("Members only")


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open for contributions")
    CLOSED = "closed", _("Closed")


class Dataset(models.Model):
    dao = models.ForeignKey(DAO, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    schema = models.JSONField(default=dict, help_text="See docs: the schema format per kind.")
    license = models.CharField(
        max_length=200, help_text="An SPDX license expression, e.g. CC-BY-4.0"
    )
    scoring = models.JSONField(
        default=dict,
        blank=True,
        help_text="Proof-of-contribution weights and acceptance threshold (defaults apply).",
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(
        max_length=16, choices=DatasetStatus.choices, default=DatasetStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dao_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dao", "slug"], name="dataset_dao_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=DatasetKind.values), name="dataset_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(visibility__in=Visibility.values),
                name="dataset_visibility_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DatasetStatus.values), name="dataset_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dao.slug}/{self.slug}"


class AuditEvent(models.Model):
    """Append-only record of every state change that matters.

    Append-only is enforced by the database on PostgreSQL (a trigger refuses UPDATE and
    DELETE), not just by convention. DAO and actor are PROTECTed: audited history outlives
    nothing it refers to.
    """

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dao = models.ForeignKey(DAO, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dao", "-created_at"], name="audit_dao_created")]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.verb} {self.object_type}:{self.object_id}"
        )


class SiweNonce(models.Model):
    """A single-use Sign-In with Ethereum nonce for one address on one chain. Consumed
    atomically by one UPDATE that also matches the address and chain."""

    nonce = models.CharField(max_length=64, unique=True)
    address = models.CharField(max_length=42, help_text="EIP-55 address it was issued for.")
    chain_id = models.PositiveBigIntegerField(help_text="Chain it was issued for.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.nonce


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker ran the heartbeat task: operators see who is alive."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.hostname
