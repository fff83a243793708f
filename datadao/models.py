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

    address = models.CharField(
        max_length=42,
        unique=True,
        validators=[validate_checksum_address],
        verbose_name=_("address"),
    )
    display_name = models.CharField(max_length=80, blank=True, verbose_name=_("display name"))
    is_staff = models.BooleanField(
        default=False, help_text=_("Operators: may use the admin."), verbose_name=_("is staff")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    date_joined = models.DateTimeField(default=timezone.now, verbose_name=_("date joined"))

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
        verbose_name = _("user")
        verbose_name_plural = _("users")

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
        _("DAO id (daoId)"),
        max_length=66,
        unique=True,
        default=new_dao_id,
        editable=False,
        help_text=_(
            "The bytes32 every reward root and voucher is signed for; deploy the DAO's "
            "DatadaoDistributor with it. Never changes."
        ),
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    slug = models.SlugField(max_length=64, unique=True, verbose_name=_("slug"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    token_symbol = models.CharField(max_length=11, verbose_name=_("token symbol"))
    token_decimals = models.PositiveSmallIntegerField(
        default=18,
        validators=[MaxValueValidator(36)],
        help_text=_(
            "The token's decimals (its ERC-20 decimals(), 0-36): amounts are stored in the "
            "smallest unit and shown and typed in whole tokens. Match the token contract "
            "before paying: a change re-reads every stored amount."
        ),
        verbose_name=_("token decimals"),
    )
    chain_id = models.PositiveBigIntegerField(default=1, verbose_name=_("chain ID"))
    reward_contract_address = models.CharField(
        max_length=42,
        blank=True,
        default="",
        validators=[validate_checksum_address],
        help_text=_(
            "A DatadaoDistributor deployed with this DAO's id on this chain (empty: none)."
        ),
        verbose_name=_("reward contract address"),
    )
    epoch_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Close the open reward epoch every this many days (empty: only by hand)."),
        verbose_name=_("epoch days"),
    )
    join_policy = models.CharField(
        max_length=16,
        choices=JoinPolicy.choices,
        default=JoinPolicy.REQUEST,
        help_text=_("How newcomers become members (an invite link admits under every policy)."),
        verbose_name=_("join policy"),
    )
    terms = models.TextField(
        _("contribution terms"),
        blank=True,
        max_length=20_000,
        help_text=_(
            "What a member agrees to when joining; each joiner signs its sha256 with their "
            "wallet. Changing it asks new joiners to sign the new text."
        ),
    )
    # Governance (the governance app): how votes weigh, and what only a passed proposal changes.
    voting_power = models.CharField(
        max_length=16,
        choices=VotingPower.choices,
        default=VotingPower.MEMBER,
        help_text=_("How much a member's vote on a proposal weighs."),
        verbose_name=_("voting power"),
    )
    voting_token = models.CharField(
        max_length=42,
        blank=True,
        default="",
        validators=[validate_checksum_address],
        help_text=_(
            "The ERC-20 whose balance at a proposal's snapshot block is a member's voting "
            "power (voting power 'token'; its chain must be in CHAIN_RPC_URLS)."
        ),
        verbose_name=_("voting token"),
    )
    governance_reserved = models.JSONField(
        _("reserved for governance"),
        default=list,
        blank=True,
        validators=[validate_reserved],
        help_text=_(
            "Kinds of change the console may no longer make: only a passed proposal may. "
            "Once anything is reserved, these governance settings are too."
        ),
    )
    governance_timelock_seconds = models.PositiveIntegerField(
        _("timelock (seconds)"),
        default=0,
        help_text=_("How long a passed proposal waits after its vote closes before it is applied."),
    )
    governance_min_period_seconds = models.PositiveIntegerField(
        _("minimum voting period (seconds)"),
        default=24 * 3600,
        validators=[MinValueValidator(60), MaxValueValidator(30 * 24 * 3600)],
        help_text=_(
            "The shortest voting period a proposal may set: long enough for members to "
            "notice a proposal and vote against it."
        ),
    )
    governance_min_quorum_bps = models.PositiveIntegerField(
        _("minimum quorum (basis points)"),
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text=_(
            "The least quorum a proposal may set, as a share of all the voting power "
            "eligible when it is made (2000 = 20 %): nobody passes a proposal alone."
        ),
    )
    replication_factor = models.PositiveSmallIntegerField(
        default=1,
        validators=[validate_replication_factor],
        help_text=_(
            "Copies kept of each file this DAO pins: 1 is the IPFS backend alone; more adds "
            "replicas on the operator's IPFS_REPLICAS targets, checked and repaired by the pin "
            "audit. Applies to files pinned from now on."
        ),
        verbose_name=_("replication factor"),
    )
    # Disputes (the disputes app): who may challenge accepted work, for how long, at what
    # bond, what an upheld challenge pays back, and whether epochs wait for the window.
    challenge_window_seconds = models.PositiveIntegerField(
        _("challenge window (seconds)"),
        default=7 * 24 * 3600,
        validators=[MinValueValidator(60), MaxValueValidator(365 * 24 * 3600)],
        help_text=_(
            "How long after a contribution is pinned (or a labeling item settles) it "
            "may be challenged."
        ),
    )
    challenge_bond = models.DecimalField(
        _("challenge bond"),
        max_digits=78,
        decimal_places=0,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Tokens (smallest unit) a challenger must post before a challenge is heard; "
            "0: none. Returned if upheld, forfeited if rejected."
        ),
    )
    challenge_share_bps = models.PositiveIntegerField(
        _("challenger's share (basis points)"),
        default=0,
        validators=[MaxValueValidator(10_000)],
        help_text=_(
            "Share of the reward an upheld challenge recovers paid to the challenger, on "
            "top of the bond, as it is recovered (1000 = 10 %)."
        ),
    )
    challenge_open_to_anyone = models.BooleanField(
        _("anyone may challenge"),
        default=False,
        help_text=_("Off: only members challenge. On: any signed-in wallet may (set a bond)."),
    )
    epoch_waits_for_challenges = models.BooleanField(
        _("epochs wait for the challenge window"),
        default=False,
        help_text=_(
            "Settle a credit only once its challenge window has passed and no challenge "
            "of it is open: slower payment, no clawbacks."
        ),
    )
    # Kept by the event subscribers (the webhooks app) under this row's lock, read by every
    # emitter (datadao.events) so that an event nobody receives costs no query.
    event_subscriptions = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text=_("The event types (datadao.events) at least one enabled subscriber receives."),
        verbose_name=_("event subscriptions"),
    )
    creator = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="created_daos", verbose_name=_("creator")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("DAO")
        verbose_name_plural = _("DAOs")
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
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    dao = models.ForeignKey(
        DAO, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("DAO")
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.CONTRIBUTOR, verbose_name=_("role")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["dao_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dao"], name="membership_user_dao_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.dao}"


class TermsAcceptance(models.Model):
    """A member's wallet signature over a DAO's contribution terms and its open datasets'
    licences (EIP-712 ``JoinTerms``, ``datadao.jointerms``), kept as signed: the typed data
    exactly as verified, the signature and the address it recovers to."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="terms_acceptances", verbose_name=_("DAO")
    )
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="terms_acceptances", verbose_name=_("user")
    )
    typed_data = models.JSONField(verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    signer = models.CharField(max_length=42, verbose_name=_("signer"))
    terms_hash = models.CharField(max_length=66, verbose_name=_("terms hash"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

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
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")

    def __str__(self) -> str:
        return f"{self.signer} accepted {self.dao} terms {self.terms_hash[:10]}…"


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class JoinRequest(models.Model):
    """Someone asking to join a DAO whose policy is "by request"; a creator or admin decides."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="join_requests", verbose_name=_("DAO")
    )
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="join_requests", verbose_name=_("user")
    )
    acceptance = models.ForeignKey(
        TermsAcceptance, on_delete=models.PROTECT, related_name="+", verbose_name=_("acceptance")
    )
    status = models.CharField(
        max_length=16,
        choices=JoinRequestStatus.choices,
        default=JoinRequestStatus.PENDING,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decided_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
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
        verbose_name = _("join request")
        verbose_name_plural = _("join requests")

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.dao} ({self.status})"


class InviteLink(models.Model):
    """A link that admits its holders to a DAO: expiring, limited in uses, revocable. The
    link carries a random token; only its sha256 is stored."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="invite_links", verbose_name=_("DAO")
    )
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    note = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("Who it is for (shown to you)."),
        verbose_name=_("note"),
    )
    max_uses = models.PositiveIntegerField(default=1, verbose_name=_("max uses"))
    uses = models.PositiveIntegerField(default=0, verbose_name=_("uses"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revoked by"),
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
        verbose_name = _("invite link")
        verbose_name_plural = _("invite links")

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
    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("DAO")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    slug = models.SlugField(max_length=64, verbose_name=_("slug"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    kind = models.CharField(max_length=16, choices=DatasetKind.choices, verbose_name=_("kind"))
    schema = models.JSONField(
        default=dict, help_text=_("See docs: the schema format per kind."), verbose_name=_("schema")
    )
    license = models.CharField(
        max_length=200,
        help_text=_("An SPDX license expression, e.g. CC-BY-4.0"),
        verbose_name=_("license"),
    )
    scoring = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Proof-of-contribution weights and acceptance threshold (defaults apply)."),
        verbose_name=_("scoring"),
    )
    visibility = models.CharField(
        max_length=16,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        verbose_name=_("visibility"),
    )
    status = models.CharField(
        max_length=16,
        choices=DatasetStatus.choices,
        default=DatasetStatus.DRAFT,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return f"{self.dao.slug}/{self.slug}"


class AuditEvent(models.Model):
    """Append-only record of every state change that matters.

    Append-only is enforced by the database on PostgreSQL (a trigger refuses UPDATE and
    DELETE), not just by convention. DAO and actor are PROTECTed: audited history outlives
    nothing it refers to.
    """

    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    dao = models.ForeignKey(
        DAO,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("DAO"),
    )
    verb = models.CharField(max_length=64, verbose_name=_("verb"))
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object ID"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dao", "-created_at"], name="audit_dao_created")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.verb} {self.object_type}:{self.object_id}"
        )


class SiweNonce(models.Model):
    """A single-use Sign-In with Ethereum nonce for one address on one chain. Consumed
    atomically by one UPDATE that also matches the address and chain."""

    nonce = models.CharField(max_length=64, unique=True, verbose_name=_("nonce"))
    address = models.CharField(
        max_length=42, help_text=_("EIP-55 address it was issued for."), verbose_name=_("address")
    )
    chain_id = models.PositiveBigIntegerField(
        help_text=_("Chain it was issued for."), verbose_name=_("chain ID")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires at"))
    consumed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumed at"))

    class Meta:
        verbose_name = _("SIWE nonce")
        verbose_name_plural = _("SIWE nonces")

    def __str__(self) -> str:
        return self.nonce


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker ran the heartbeat task: operators see who is alive."""

    hostname = models.CharField(max_length=255, unique=True, verbose_name=_("hostname"))
    last_seen = models.DateTimeField(verbose_name=_("last seen"))
    runs = models.PositiveBigIntegerField(default=0, verbose_name=_("runs"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.hostname
