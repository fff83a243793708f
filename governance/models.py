"""Proposals and their signed votes.

A proposal moves open → closed (its period ended, the tally taken) → passed or rejected (the
proposal and every vote pinned to IPFS) → executed (a passed one, applied after the DAO's
timelock by the service the console uses) or failed (that service refused it). Each move is
one service under the row's lock (``governance.services``); the constraints below hold
whatever writes the rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datadao.governed import ChangeKind, VotingPower
from datadao.models import ADDRESS_REGEX, DAO, DAO_ID_REGEX, Dataset, User


def Uint256Field(**kwargs: object) -> models.DecimalField:
    """uint256 as NUMERIC(78,0): voting power and quorum in token mode are token amounts."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)  # type: ignore[arg-type]


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("Open for votes")
    CLOSED = "closed", _("Closed, being published")
    PASSED = "passed", _("Passed")
    REJECTED = "rejected", _("Rejected")
    EXECUTED = "executed", _("Passed and executed")
    FAILED = "failed", _("Passed, but its change was refused")


# The statuses a proposal is published (pinned with its votes) in.
PUBLISHED = (
    ProposalStatus.PASSED,
    ProposalStatus.REJECTED,
    ProposalStatus.EXECUTED,
    ProposalStatus.FAILED,
)


class Proposal(models.Model):
    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("DAO")
    )
    proposer = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("proposer")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, max_length=20_000, verbose_name=_("description"))
    kind = models.CharField(max_length=32, choices=ChangeKind.choices, verbose_name=_("kind"))
    change = models.JSONField(
        help_text=_("The exact change, as validated for its kind."), verbose_name=_("change")
    )
    # The dataset the change is about, if any: a members-only dataset's proposals are its
    # members' only.
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dataset"),
    )
    quorum = Uint256Field(
        help_text=_("Voting power that must be cast (for, against, abstain)."),
        verbose_name=_("quorum"),
    )
    voting_power = models.CharField(
        max_length=16, choices=VotingPower.choices, verbose_name=_("voting power")
    )
    voting_token = models.CharField(
        max_length=42, blank=True, default="", verbose_name=_("voting token")
    )
    snapshot_block = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=_("snapshot block")
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    timelock_seconds = models.PositiveIntegerField(default=0, verbose_name=_("timelock seconds"))
    # The canonical document the votes sign the keccak-256 of (``governance.vote712``).
    document = models.JSONField(verbose_name=_("document"))
    hash = models.CharField(max_length=66, unique=True, verbose_name=_("hash"))
    status = models.CharField(
        max_length=16,
        choices=ProposalStatus.choices,
        default=ProposalStatus.OPEN,
        verbose_name=_("status"),
    )
    tally = models.JSONField(null=True, blank=True, verbose_name=_("tally"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    cid = models.CharField(_("published CID"), max_length=128, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("executed at"))
    failure = models.TextField(blank=True, verbose_name=_("failure"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ProposalStatus.values), name="proposal_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ChangeKind.values), name="proposal_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(voting_power__in=VotingPower.values),
                name="proposal_voting_power_valid",
            ),
            models.CheckConstraint(condition=models.Q(quorum__gt=0), name="proposal_quorum_pos"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="proposal_period"
            ),
            models.CheckConstraint(
                condition=models.Q(hash__regex=DAO_ID_REGEX), name="proposal_hash_format"
            ),
            # Token voting reads balances at one block of one token, fixed when proposed.
            models.CheckConstraint(
                condition=~models.Q(voting_power=VotingPower.TOKEN)
                | (
                    models.Q(voting_token__regex=ADDRESS_REGEX)
                    & models.Q(snapshot_block__isnull=False)
                ),
                name="proposal_token_snapshot",
            ),
            # Tallied exactly when no longer open; published (a CID) once decided.
            models.CheckConstraint(
                condition=models.Q(status="open", tally__isnull=True, closed_at__isnull=True)
                | (
                    ~models.Q(status="open")
                    & models.Q(tally__isnull=False, closed_at__isnull=False)
                ),
                name="proposal_tallied_iff_closed",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=("open", "closed")) | ~models.Q(cid=""),
                name="proposal_published_has_cid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="executed", executed_at__isnull=False)
                | (~models.Q(status="executed") & models.Q(executed_at__isnull=True)),
                name="proposal_executed_iff_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "ends_at"], name="proposal_status_ends")]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class Vote(models.Model):
    """A member's current vote on a proposal: the signed message as verified, its signature
    and the voting power it carries. A later vote (a larger ``timestamp``) replaces it."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="votes", verbose_name=_("proposal")
    )
    voter = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="votes", verbose_name=_("voter")
    )
    choice = models.PositiveSmallIntegerField(verbose_name=_("choice"))
    power = Uint256Field(verbose_name=_("power"))
    timestamp = models.PositiveBigIntegerField(
        help_text=_("The signed message's Unix seconds."), verbose_name=_("timestamp")
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    message = models.JSONField(
        help_text=_("The EIP-712 Vote message, as signed."), verbose_name=_("message")
    )
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        ordering = ["proposal_id", "voter_id"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="vote_once_per_voter"),
            models.CheckConstraint(condition=models.Q(choice__in=(1, 2, 3)), name="vote_choice"),
            models.CheckConstraint(condition=models.Q(power__gt=0), name="vote_power_pos"),
            models.CheckConstraint(
                condition=models.Q(signature__regex=r"^0x[0-9a-f]{130}$"),
                name="vote_signature_format",
            ),
        ]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")

    def __str__(self) -> str:
        return f"{self.voter} on #{self.proposal_id}: {self.choice}"


class Elector(models.Model):
    """A member's voting power on a reputation-voting proposal, counted when it was made.

    Reputation is read from rows that keep moving (a contribution pending at the snapshot is
    accepted an hour later, another is withdrawn), so it is counted once, for every member of
    the DAO at that moment, and a vote carries exactly this: the same base the minimum quorum
    was computed from. Members with no reputation have no row."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="electors", verbose_name=_("proposal")
    )
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    power = Uint256Field(verbose_name=_("power"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="elector_once"),
            models.CheckConstraint(condition=models.Q(power__gt=0), name="elector_power_pos"),
        ]
        verbose_name = _("elector")
        verbose_name_plural = _("electors")

    def __str__(self) -> str:
        return f"{self.user} on #{self.proposal_id}: {self.power}"
