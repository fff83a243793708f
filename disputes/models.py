"""Challenges of accepted work: a pinned contribution or a settled labeling item.

A challenge names its target, a reason from a fixed list (and for a duplicate, the earlier
work it duplicates), and goes through: ``bond_due`` (the DAO asks for a bond: nothing is heard
until an admin records it), ``open`` (validators re-run the work: ``disputes.tasks``), ``review``
(the replay cannot decide: a reviewer does), then ``upheld``, ``rejected`` or ``moot`` (another
challenge of the same target was upheld first: the bond is returned, no share). Writes go
through ``disputes.services``; uniqueness that stops spam and double resolution lives here.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import Contribution
from datadao.models import DAO, Dataset, User
from labeling.models import LabelTask


class Reason(models.TextChoices):
    DUPLICATE = "duplicate", _("A duplicate of another contribution")
    SCHEMA = "schema", _("The data is not what the schema claims")
    REPLAY = "replay", _("Replaying the work gives another result")


class ChallengeStatus(models.TextChoices):
    BOND_DUE = "bond_due", _("Waiting for the bond")
    OPEN = "open", _("Open: validators re-run the work")
    REVIEW = "review", _("Waiting for a reviewer")
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")
    MOOT = "moot", _("Moot: another challenge of it was upheld")


UNRESOLVED = (ChallengeStatus.BOND_DUE, ChallengeStatus.OPEN, ChallengeStatus.REVIEW)
RESOLVED = (ChallengeStatus.UPHELD, ChallengeStatus.REJECTED, ChallengeStatus.MOOT)


class BondStatus(models.TextChoices):
    NONE = "none", _("No bond asked")
    DUE = "due", _("Due")
    POSTED = "posted", _("Posted")
    RETURNED = "returned", _("Returned")
    FORFEITED = "forfeited", _("Forfeited")


class Challenge(models.Model):
    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="challenges", verbose_name=_("DAO")
    )
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    challenger = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="challenges", verbose_name=_("challenger")
    )
    # The target: exactly one of the two.
    contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="challenges",
        verbose_name=_("contribution"),
    )
    label_task = models.ForeignKey(
        LabelTask,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="challenges",
        verbose_name=_("label task"),
    )
    reason = models.CharField(max_length=16, choices=Reason.choices, verbose_name=_("reason"))
    # For a duplicate: the earlier work it duplicates, of the target's kind.
    duplicate_of_contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("duplicate of contribution"),
    )
    duplicate_of_task = models.ForeignKey(
        LabelTask,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("duplicate of task"),
    )
    statement = models.TextField(blank=True, verbose_name=_("statement"))
    status = models.CharField(
        max_length=10, choices=ChallengeStatus.choices, verbose_name=_("status")
    )
    # The DAO's bond when the challenge was filed, in the token's smallest unit.
    bond = models.DecimalField(max_digits=78, decimal_places=0, default=0, verbose_name=_("bond"))
    bond_status = models.CharField(
        max_length=10, choices=BondStatus.choices, verbose_name=_("bond status")
    )
    bond_reference = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Where the bond was paid (a transaction hash)."),
        verbose_name=_("bond reference"),
    )
    bond_recorded_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("bond recorded by"),
    )
    # What the replay found (``disputes.replay``): verdict, findings, validator version.
    replay = models.JSONField(null=True, blank=True, verbose_name=_("replay"))
    replay_attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("replay attempts"))
    resolution = models.TextField(blank=True, verbose_name=_("resolution"))
    # None with a resolution: decided by the replay.
    resolved_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # What the upheld challenge reversed, in the token's smallest unit.
    withdrawn = models.DecimalField(
        max_digits=78, decimal_places=0, default=0, verbose_name=_("withdrawn")
    )
    clawed_back = models.DecimalField(
        max_digits=78, decimal_places=0, default=0, verbose_name=_("clawed back")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contribution__isnull=False, label_task__isnull=True)
                | models.Q(contribution__isnull=True, label_task__isnull=False),
                name="challenge_one_target",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ChallengeStatus.values), name="challenge_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=Reason.values), name="challenge_reason_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(bond_status__in=BondStatus.values),
                name="challenge_bond_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason="duplicate")
                | models.Q(duplicate_of_contribution__isnull=False)
                | models.Q(duplicate_of_task__isnull=False),
                name="challenge_duplicate_names_original",
            ),
            models.CheckConstraint(
                condition=models.Q(bond__gte=0, withdrawn__gte=0, clawed_back__gte=0),
                name="challenge_amounts_non_negative",
            ),
            # A decision is final and dated: the status guard in the services and this agree.
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in UNRESOLVED], resolved_at=None)
                | models.Q(status__in=[s.value for s in RESOLVED], resolved_at__isnull=False),
                name="challenge_resolved_dated",
            ),
            # Spam: one unresolved challenge per target per challenger.
            models.UniqueConstraint(
                fields=["challenger", "contribution"],
                condition=models.Q(status__in=[s.value for s in UNRESOLVED]),
                name="challenge_one_open_per_contribution",
            ),
            models.UniqueConstraint(
                fields=["challenger", "label_task"],
                condition=models.Q(status__in=[s.value for s in UNRESOLVED]),
                name="challenge_one_open_per_item",
            ),
            # Double resolution: a target's reversal happens once.
            models.UniqueConstraint(
                fields=["contribution"],
                condition=models.Q(status="upheld"),
                name="challenge_one_upheld_per_contribution",
            ),
            models.UniqueConstraint(
                fields=["label_task"],
                condition=models.Q(status="upheld"),
                name="challenge_one_upheld_per_item",
            ),
        ]
        indexes = [
            models.Index(fields=["dao", "status", "-created_at"], name="challenge_by_status"),
            models.Index(
                fields=["challenger", "dao", "-created_at"], name="challenge_by_challenger"
            ),
            models.Index(
                fields=["updated_at"],
                condition=models.Q(status="open"),
                name="challenge_open_since",
            ),
        ]
        verbose_name = _("challenge")
        verbose_name_plural = _("challenges")

    def __str__(self) -> str:
        return f"challenge {self.pk} of {self.target_label} ({self.status})"

    @property
    def target_label(self) -> str:
        if self.contribution_id is not None:
            return f"contribution {self.contribution_id}"
        return f"labeling item {self.label_task_id}"
