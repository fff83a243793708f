"""Synthetic-data jobs: what was asked, how it went (progress, report, gate), what was
published (CSV + model checkpoint, both pinned), and the per-dataset privacy budget.

Synthetic rows are never contributions: they live in a job's own output, flagged and carrying
the job id, so they never enter uniqueness checks and never earn rewards.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from datadao.models import Dataset, User


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    # "Published" alone is a column heading (published at) elsewhere in the catalogue.
    PUBLISHED = "published", pgettext_lazy("synthetic job status", "Published")
    REJECTED_BY_GATE = "rejected_by_gate", _("Rejected by the quality gate")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class Method(models.TextChoices):
    """What ``services.job_create`` runs: a GAN, a TVAE, a Gaussian copula, or "auto" (all
    three, the best that passes the gate) for tabular datasets; an augmentation pipeline for
    image datasets (the check constraint names the same values)."""

    GAN = "gan", _("GAN (tabular)")
    COPULA = "copula", _("Gaussian copula (tabular)")
    TVAE = "tvae", _("TVAE (tabular)")
    AUTO = "auto", _("Auto: GAN, TVAE and copula, the best that passes the gate (tabular)")
    AUGMENT = "augment", _("Augment (image datasets)")


TABULAR_METHODS = (Method.GAN, Method.COPULA, Method.TVAE, Method.AUTO)


class SyntheticJob(models.Model):
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="synthetic_jobs", verbose_name=_("dataset")
    )
    requested_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # gan / copula / tvae / auto for tabular datasets; augment for image datasets (``Method``).
    method = models.CharField(max_length=8, default="gan", verbose_name=_("method"))
    # The augmentation pipeline (synthetic.images.AugmentSettings fields) for image jobs.
    augment = models.JSONField(default=dict, blank=True, verbose_name=_("augment"))
    rows_wanted = models.PositiveIntegerField(default=1000, verbose_name=_("rows wanted"))
    seed = models.PositiveIntegerField(default=0, verbose_name=_("seed"))
    epochs = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("epochs"))
    time_budget_s = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("time budget s")
    )
    target = models.CharField(max_length=63, blank=True, verbose_name=_("target"))
    # Differential privacy for the discriminator (DP-SGD); empty: off.
    dp_epsilon = models.FloatField(null=True, blank=True, verbose_name=_("DP epsilon"))
    dp_delta = models.FloatField(null=True, blank=True, verbose_name=_("DP delta"))
    # Constraints every output row keeps, besides the schema's (synthetic.table_constraints
    # syntax: "a<=b", "range:c:0:9", "fixed:a,b"); conditions: {column: value} of the subgroup.
    constraints = models.JSONField(default=list, blank=True, verbose_name=_("constraints"))
    conditions = models.JSONField(default=dict, blank=True, verbose_name=_("conditions"))
    infer_constraints = models.BooleanField(default=True, verbose_name=_("infer constraints"))
    # Epochs per validation (0: the default cadence); set by "run again" from a provenance.
    validate_every = models.PositiveIntegerField(default=0, verbose_name=_("validate every"))
    # "Run again": the job whose provenance this one repeats (same rows required).
    rerun_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reruns",
        verbose_name=_("rerun of"),
    )
    # A CSV given for this job instead of the dataset's pinned rows (the demo, the console).
    input_name = models.CharField(max_length=64, blank=True, verbose_name=_("input name"))
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, verbose_name=_("status")
    )
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    progress = models.JSONField(default=dict, blank=True, verbose_name=_("progress"))
    report = models.JSONField(default=dict, blank=True, verbose_name=_("report"))
    provenance = models.JSONField(default=dict, blank=True, verbose_name=_("provenance"))
    passed = models.BooleanField(null=True, blank=True, verbose_name=_("passed"))
    # Whose rows may be published when the requested generator failed the gate ("copula").
    publishable = models.CharField(max_length=8, blank=True, verbose_name=_("publishable"))
    # The generator whose rows were published (for "auto": the one the choice picked).
    published_method = models.CharField(
        max_length=8, blank=True, verbose_name=_("published method")
    )
    output_cid = models.CharField(max_length=128, blank=True, verbose_name=_("output CID"))
    output_rows = models.PositiveIntegerField(default=0, verbose_name=_("output rows"))
    # The same rows as Parquet (typed columns, plus the synthetic flag and job id).
    parquet_cid = models.CharField(max_length=128, blank=True, verbose_name=_("parquet CID"))
    checkpoint_cid = models.CharField(max_length=128, blank=True, verbose_name=_("checkpoint CID"))
    # The published set's report and provenance as one pinned JSON document
    # (``synthetic.publication.report_document``): what the dataset page and releases link to.
    report_cid = models.CharField(max_length=128, blank=True, verbose_name=_("report CID"))
    # ε charged to the dataset's budget for this job (each start of DP training).
    epsilon_spent = models.FloatField(null=True, blank=True, verbose_name=_("epsilon spent"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="synthetic_job_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["gan", "copula", "tvae", "auto", "augment"]),
                name="synthetic_job_method_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="published") | ~models.Q(output_cid=""),
                name="synthetic_job_published_has_output",
            ),
        ]
        verbose_name = _("synthetic job")
        verbose_name_plural = _("synthetic jobs")

    def __str__(self) -> str:
        return f"synthetic job {self.pk} for {self.dataset} ({self.status})"


# Float slack for "spent ≤ total": ε = 0.1 + 0.2 must fit a budget of 0.3.
BUDGET_SLACK = 1e-9


class PrivacyBudget(models.Model):
    """A dataset's total (ε, δ) for differentially private jobs and what was spent of it.

    Spent only grows: a DP job is charged its requested (ε, δ) when training starts (each
    attempt), whatever happens after (fail, cancel, gate); see ``PrivacyCharge``."""

    dataset = models.OneToOneField(
        Dataset, on_delete=models.CASCADE, related_name="privacy_budget", verbose_name=_("dataset")
    )
    epsilon = models.FloatField(
        help_text=_("Total ε all DP jobs on this dataset may spend."), verbose_name=_("epsilon")
    )
    delta = models.FloatField(
        default=1e-4,
        help_text=_("Total δ all DP jobs on this dataset may spend (δs add up)."),
        verbose_name=_("delta"),
    )
    epsilon_spent = models.FloatField(default=0.0, editable=False, verbose_name=_("epsilon spent"))
    delta_spent = models.FloatField(default=0.0, editable=False, verbose_name=_("delta spent"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(epsilon__gt=0), name="privacy_budget_pos"),
            models.CheckConstraint(
                condition=models.Q(delta__gt=0, delta__lt=1), name="privacy_budget_delta_range"
            ),
            models.CheckConstraint(
                condition=models.Q(epsilon_spent__gte=0, delta_spent__gte=0),
                name="privacy_budget_spent_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(epsilon_spent__lte=models.F("epsilon") * (1 + BUDGET_SLACK)),
                name="privacy_budget_epsilon_within",
            ),
            models.CheckConstraint(
                condition=models.Q(delta_spent__lte=models.F("delta") * (1 + BUDGET_SLACK)),
                name="privacy_budget_delta_within",
            ),
        ]
        verbose_name = _("privacy budget")
        verbose_name_plural = _("privacy budgets")

    def __str__(self) -> str:
        return f"ε budget {self.epsilon} for {self.dataset}"


class PrivacyCharge(models.Model):
    """One start of DP training, charged to its dataset's budget. Never updated or deleted."""

    budget = models.ForeignKey(
        PrivacyBudget, on_delete=models.PROTECT, related_name="charges", verbose_name=_("budget")
    )
    job = models.ForeignKey(
        SyntheticJob,
        on_delete=models.PROTECT,
        related_name="privacy_charges",
        verbose_name=_("job"),
    )
    attempt = models.PositiveSmallIntegerField(verbose_name=_("attempt"))
    epsilon = models.FloatField(verbose_name=_("epsilon"))
    delta = models.FloatField(verbose_name=_("delta"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt"], name="privacy_charge_once"),
            models.CheckConstraint(
                condition=models.Q(epsilon__gt=0, delta__gt=0), name="privacy_charge_pos"
            ),
        ]
        verbose_name = _("privacy charge")
        verbose_name_plural = _("privacy charges")

    def __str__(self) -> str:
        return f"ε={self.epsilon} δ={self.delta} for job {self.job_id} (attempt {self.attempt})"
