"""Core data model: wallet users, DAOs, memberships, datasets, the audit log, SIWE nonces.

Models hold fields, choices and constraints only. Writes go through ``datadao.services``.
Invariants that matter are database constraints, so no code path (admin, shell, a bug) can
break them.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from eth_utils import is_checksum_address, to_checksum_address

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
                condition=models.Q(token_decimals__gte=0, token_decimals__lte=36),
                name="dao_token_decimals_range",
                violation_error_message="A token has between 0 and 36 decimals.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CREATOR = "creator", "Creator"
    ADMIN = "admin", "Admin"
    VALIDATOR = "validator", "Validator"
    CONTRIBUTOR = "contributor", "Contributor"


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


class DatasetKind(models.TextChoices):
    TABULAR = "tabular", "Tabular"
    FILES = "files", "Files"
    LABELING = "labeling", "Labeling"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    MEMBERS = "members", "Members only"


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open for contributions"
    CLOSED = "closed", "Closed"


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
