"""Labeling: tasks, slot holds, labels, labeler reputation, consensus runs and bulk imports.

A labeling dataset's settings (label set, overlap, gold rate, ...) live in its schema
(``datadao.schema``). Counters that the assignment query filters on (``reserved``, ``wanted``)
are denormalized onto ``LabelTask`` and only ever changed by services holding the task's row
lock, so ``next`` can pick a free slot with one indexed query at a million tasks.
Writes go through ``labeling.services``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contributions.models import Contribution
from datadao.models import Dataset, User


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETE = "complete", _("Complete")


class ItemKind(models.TextChoices):
    IMAGE = "image", _("Image")
    TEXT = "text", _("Text")
    ROW = "row", _("Row")
    # Two candidates to compare (pairwise) and an audio clip to transcribe (text).
    PAIR = "pair", _("Pair")
    AUDIO = "audio", _("Audio")


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", _("Accepted")
    FIX = "fix", _("Fixed")
    REJECT = "reject", _("Sent back for more labels")

    @classmethod
    def final_choices(cls) -> list[tuple[str, str]]:
        """The decisions that make an answer final (a rejected item is reopened)."""
        return [(cls.ACCEPT.value, cls.ACCEPT.label), (cls.FIX.value, cls.FIX.label)]


class LabelTask(models.Model):
    """One item to label. ``wanted`` labels are gathered (raised by adaptive redundancy up to
    the dataset's max overlap); ``reserved`` counts labels given plus live holds.

    A check question (``is_gold``) follows the same rule as ordinary work: it is served to at
    most ``wanted`` labelers at a time, settles like any item, and is then retired from the
    gold pool (``status`` complete). So how many labelers see an item does not tell the
    kinds apart."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="label_tasks", verbose_name=_("dataset")
    )
    contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="label_tasks",
        verbose_name=_("contribution"),
    )
    # Where the item came from: "contribution:<id>:<row>" or "<import external id>".
    source_key = models.CharField(max_length=200, verbose_name=_("source key"))
    kind = models.CharField(max_length=8, choices=ItemKind.choices, verbose_name=_("kind"))
    # text: {"text": ...}; row: {column: value}; image: {"cid", "media_type", "width",
    # "height"} (the size where known); audio: {"cid", "media_type"}; pair: {"prompt",
    # "left": {"id", "text"}, "right": {"id", "text"}}.
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    # The known answer of a gold task in the dataset's answer shape (``labeling.answers``),
    # hidden from labelers.
    gold = models.JSONField(null=True, blank=True, verbose_name=_("gold"))
    is_gold = models.BooleanField(default=False, verbose_name=_("is gold"))
    status = models.CharField(
        max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN, verbose_name=_("status")
    )
    wanted = models.PositiveSmallIntegerField(default=3, verbose_name=_("wanted"))
    reserved = models.PositiveSmallIntegerField(default=0, verbose_name=_("reserved"))
    label_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("label count"))
    consensus = models.JSONField(null=True, blank=True, verbose_name=_("consensus"))
    posterior = models.FloatField(null=True, blank=True, verbose_name=_("posterior"))
    consensus_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consensus at"))
    # Set when an upheld challenge reversed the item's settlement (``task_settlement_reverse``):
    # it keeps no consensus, and no later run gives it one.
    reversed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reversed at"))
    # How many times the task has settled: a review belongs to one settlement (``Review``);
    # an item sent back for more labels settles again and may be reviewed again.
    settlements = models.PositiveSmallIntegerField(
        default=0, db_default=0, verbose_name=_("settlements")
    )
    # The review of the current settlement that made its answer final ("accept" or "fix"),
    # "" while none has: the review queue is the settled items with none, and a whole-dataset
    # consensus run leaves a final answer as it is.
    review = models.CharField(
        max_length=8,
        choices=ReviewDecision.final_choices(),
        blank=True,
        default="",
        db_default="",
        verbose_name=_("review"),
    )
    # The current pre-label (a model's answer, in the dataset's answer shape, checked against
    # the item when imported), its model's version and confidence; a re-import replaces it.
    # On the task row so that ``next``'s one statement carries it (``labeling.suggestions``).
    prediction = models.JSONField(null=True, blank=True, verbose_name=_("prediction"))
    prediction_model = models.CharField(
        max_length=100, blank=True, default="", db_default="", verbose_name=_("prediction model")
    )
    prediction_score = models.FloatField(null=True, blank=True, verbose_name=_("prediction score"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["dataset_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "source_key"], name="label_task_source_once"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values), name="label_task_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ItemKind.values), name="label_task_kind_valid"
            ),
            # No task, a check question included, holds more slots than it wants labels.
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("wanted")),
                name="label_task_reserved_le_wanted",
            ),
            models.CheckConstraint(
                condition=models.Q(is_gold=False) | models.Q(gold__isnull=False),
                name="label_task_gold_has_answer",
            ),
            models.CheckConstraint(
                condition=models.Q(review__in=["", "accept", "fix"]),
                name="label_task_review_valid",
            ),
        ]
        indexes = [
            # The assignment query, one per kind: open tasks of a dataset in id order.
            models.Index(
                fields=["dataset", "id"],
                condition=models.Q(status="open", is_gold=False),
                name="label_task_open",
            ),
            models.Index(
                fields=["dataset", "id"],
                condition=models.Q(status="open", is_gold=True),
                name="label_task_gold_open",
            ),
            # The assignment query of a dataset served least confident first
            # (``order: uncertain``): open ordinary tasks by posterior (NULL last), then id.
            models.Index(
                fields=["dataset", "posterior", "id"],
                condition=models.Q(status="open", is_gold=False),
                name="label_task_open_uncertain",
            ),
            # The review queue: settled items not yet reviewed, least confident first.
            models.Index(
                fields=["dataset", "posterior", "id"],
                condition=models.Q(status="complete", is_gold=False, review=""),
                name="label_task_review_queue",
            ),
        ]
        verbose_name = _("label task")
        verbose_name_plural = _("label tasks")

    def __str__(self) -> str:
        return f"task {self.pk} of {self.dataset_id}"


class Review(models.Model):
    """A reviewer's decision on one settlement of an item: accepted as settled, fixed (the
    reviewer's answer, in the task type's answer shape, is final) or rejected (reopened for
    ``more`` labels). One per settlement (DB-enforced); who and when are kept, with the
    consensus and posterior the reviewer saw."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    task = models.ForeignKey(
        LabelTask, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("task")
    )
    settlement = models.PositiveSmallIntegerField(verbose_name=_("settlement"))
    reviewer = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="label_reviews", verbose_name=_("reviewer")
    )
    decision = models.CharField(
        max_length=8, choices=ReviewDecision.choices, verbose_name=_("decision")
    )
    # The final answer (accept: the consensus; fix: the reviewer's); None for a rejection.
    answer = models.JSONField(null=True, blank=True, verbose_name=_("answer"))
    seen_consensus = models.JSONField(null=True, blank=True, verbose_name=_("seen consensus"))
    seen_posterior = models.FloatField(null=True, blank=True, verbose_name=_("seen posterior"))
    more = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("more")
    )  # labels asked for by a rejection
    # Labels the fix overturned (scored as failed check questions), and those it upheld.
    overturned = models.PositiveSmallIntegerField(default=0, verbose_name=_("overturned"))
    upheld = models.PositiveSmallIntegerField(default=0, verbose_name=_("upheld"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "settlement"], name="review_once_per_settlement"
            ),
            models.CheckConstraint(
                condition=models.Q(decision__in=ReviewDecision.values), name="review_decision_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(decision="reject", answer__isnull=True, more__gt=0)
                | (~models.Q(decision="reject") & models.Q(answer__isnull=False, more=0)),
                name="review_answer_matches_decision",
            ),
        ]
        indexes = [models.Index(fields=["dataset", "-created_at"], name="review_by_dataset")]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} on {self.task_id}#{self.settlement}"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUBMITTED = "submitted", _("Submitted")
    SKIPPED = "skipped", _("Skipped")


class Assignment(models.Model):
    """A labeler's slot on a task: held (with a TTL) until they label or skip it. One per
    (task, labeler), so nobody gets the same task twice."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    task = models.ForeignKey(
        LabelTask, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("task")
    )
    labeler = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="label_assignments", verbose_name=_("labeler")
    )
    status = models.CharField(
        max_length=10,
        choices=HoldStatus.choices,
        default=HoldStatus.ACTIVE,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    # Set by the first answer on this hold and kept through an undo: an answer taken back
    # and abandoned ends as a skip (``holds_release_expired``), never as a fresh task.
    answered = models.BooleanField(default=False, db_default=False, verbose_name=_("answered"))
    # On a check question, whether that first answer was right: the one that is scored.
    gold_correct = models.BooleanField(null=True, blank=True, verbose_name=_("gold correct"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="assignment_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=HoldStatus.values), name="assignment_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["dataset", "expires_at"],
                condition=models.Q(status="active"),
                name="assignment_active_expiry",
            ),
            models.Index(fields=["labeler", "dataset", "status"], name="assignment_labeler_status"),
        ]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.labeler} on {self.task_id} ({self.status})"


class Label(models.Model):
    """One labeler's answer for one task, with its provenance (when, how long it took)."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    task = models.ForeignKey(
        LabelTask, on_delete=models.CASCADE, related_name="labels", verbose_name=_("task")
    )
    labeler = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="labels", verbose_name=_("labeler")
    )
    # The answer in the dataset's shape (``labeling.answers``): label names (one for single
    # choice), boxes, spans, "left"/"right"/"tie" or a text.
    value = models.JSONField(verbose_name=_("value"))
    # Index of the single choice in the dataset's label list, or the outcome of a comparison
    # (0 left, 1 right, 2 tie); None otherwise: what the consensus reads, without parsing JSON
    # for millions of rows.
    choice = models.SmallIntegerField(null=True, blank=True, verbose_name=_("choice"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration ms"))
    gold_correct = models.BooleanField(null=True, blank=True, verbose_name=_("gold correct"))
    # Whether the answer equals the pre-label the labeler was shown; None when none was shown
    # (a check question, an item without one, or a hold drawn without one).
    suggested = models.BooleanField(null=True, blank=True, verbose_name=_("suggested"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["task_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="label_once_per_labeler"),
        ]
        indexes = [
            models.Index(fields=["dataset", "id"], name="label_dataset"),
            models.Index(fields=["labeler", "dataset", "-created_at"], name="label_by_labeler"),
        ]
        verbose_name = _("label")
        verbose_name_plural = _("labels")

    def __str__(self) -> str:
        return f"{self.labeler} says {self.value} on {self.task_id}"


class LabelerStats(models.Model):
    """A labeler's reputation on one dataset. The consensus-derived figures are refreshed by
    each consensus run.

    Check questions are scored on their first answer only (an undo does not take the score
    back) and reported in aggregate only (``labeling.conf``): ``gold_answered`` and
    ``gold_correct`` count every scored answer, ``gold_window_correct`` the right ones among
    the completed windows of ``GOLD_WINDOW`` answers, and ``gold_shown_*`` the completed
    windows as of the labeler's last report point (every ``GOLD_REPORT_EVERY`` answers of any
    kind, counted by ``answers``). Only ``gold_shown_*`` reach the labeler, their pay and
    their pause; the rest are internal."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    labeler = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="labeler_stats", verbose_name=_("labeler")
    )
    labels = models.PositiveIntegerField(default=0, verbose_name=_("labels"))
    # Every answer given, an undone one included: the clock of the report points.
    answers = models.PositiveIntegerField(default=0, db_default=0, verbose_name=_("answers"))
    gold_answered = models.PositiveIntegerField(default=0, verbose_name=_("gold answered"))
    gold_correct = models.PositiveIntegerField(default=0, verbose_name=_("gold correct"))
    gold_window_correct = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("gold window correct")
    )
    gold_shown_answered = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("gold shown answered")
    )
    gold_shown_correct = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("gold shown correct")
    )
    # Answers given with a pre-label shown, and those equal to it: the blind-acceptance rule
    # (``labeling.suggestions``) compares the rate with what the labeler's accuracy explains.
    suggestions_shown = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("suggestions shown")
    )
    suggestions_taken = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("suggestions taken")
    )
    ds_accuracy = models.FloatField(null=True, blank=True, verbose_name=_("ds accuracy"))
    agreement = models.FloatField(null=True, blank=True, verbose_name=_("agreement"))
    median_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("median ms"))
    # The labeler's confusion matrix from the last Dawid–Skene run (list of rows), used to
    # weigh their answers when a task's consensus is updated between full runs.
    confusion = models.JSONField(null=True, blank=True, verbose_name=_("confusion"))
    paused_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paused at"))
    paused_reason = models.CharField(max_length=300, blank=True, verbose_name=_("paused reason"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "labeler"], name="labeler_stats_once"),
        ]
        verbose_name = _("labeler stats")
        verbose_name_plural = _("labeler stats")

    def __str__(self) -> str:
        return f"{self.labeler} on {self.dataset_id}"

    @property
    def gold_accuracy(self) -> float | None:
        """The reported accuracy on check questions (completed windows, as of the last report
        point); None before the first report."""
        if not self.gold_shown_answered:
            return None
        return self.gold_shown_correct / self.gold_shown_answered


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ConsensusRun(models.Model):
    """A whole-dataset consensus (Dawid–Skene or majority vote) with its agreement metrics."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="consensus_runs", verbose_name=_("dataset")
    )
    method = models.CharField(max_length=4, default="ds", verbose_name=_("method"))
    status = models.CharField(
        max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED, verbose_name=_("status")
    )
    requested_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    # tasks, labels, labelers, iterations, priors, alpha, kappa, gold accuracy and confusion.
    metrics = models.JSONField(default=dict, blank=True, verbose_name=_("metrics"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="consensus_run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["ds", "mv"]), name="consensus_run_method_valid"
            ),
            # One queued or running run per dataset: asking twice does not double the work.
            models.UniqueConstraint(
                fields=["dataset"],
                condition=models.Q(status__in=["queued", "running"]),
                name="consensus_run_one_active",
            ),
        ]
        verbose_name = _("consensus run")
        verbose_name_plural = _("consensus runs")

    def __str__(self) -> str:
        return f"{self.method} consensus of {self.dataset_id} ({self.status})"


class ImportKind(models.TextChoices):
    ITEMS = "items", _("Items")
    PREDICTIONS = "predictions", _("Pre-labels")


class LabelImport(models.Model):
    """A bulk import of items (CSV or JSONL) or of pre-labels for existing items (JSONL),
    streamed by a worker with progress."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="label_imports", verbose_name=_("dataset")
    )
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contribution"),
    )
    file_name = models.CharField(max_length=255, blank=True, verbose_name=_("file name"))
    storage_name = models.CharField(max_length=64, verbose_name=_("storage name"))
    format = models.CharField(max_length=8, verbose_name=_("format"))
    kind = models.CharField(
        max_length=12,
        choices=ImportKind.choices,
        default=ImportKind.ITEMS,
        db_default="items",
        verbose_name=_("kind"),
    )
    status = models.CharField(
        max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED, verbose_name=_("status")
    )
    total_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("total bytes"))
    done_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("done bytes"))
    rows_done = models.PositiveIntegerField(default=0, verbose_name=_("rows done"))
    rows_created = models.PositiveIntegerField(default=0, verbose_name=_("rows created"))
    rows_failed = models.PositiveIntegerField(default=0, verbose_name=_("rows failed"))
    errors = models.JSONField(default=list, blank=True, verbose_name=_("errors"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="label_import_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=["csv", "jsonl"]), name="label_import_format_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportKind.values), name="label_import_kind_valid"
            ),
        ]
        verbose_name = _("label import")
        verbose_name_plural = _("label imports")

    def __str__(self) -> str:
        return f"import {self.pk} into {self.dataset_id} ({self.status})"

    @property
    def progress(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


class PredictionState(models.TextChoices):
    IDLE = "idle", "Idle (every open item asked about)"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FAILED = "failed", "Failed (retries used up, or refused)"


class PredictionEndpoint(models.Model):
    """A labeling dataset's model server: asked, batch by batch, for pre-labels of the open
    items without a current one (``labeling.services.predict``), its answers stored as an
    import's would be. One per dataset.

    The optional bearer token is stored sealed, as webhook secrets are (AES-256-GCM under a
    data key wrapped by the platform's key-encryption key, bound to the DAO and this
    dataset's endpoint): the database alone never reveals it, and no response shows it.

    A run walks the items in id order: ``cursor`` is the last id asked about, so an item whose
    answer was refused is not asked about again until the next run."""

    dataset = models.OneToOneField(
        Dataset,
        on_delete=models.CASCADE,
        related_name="prediction_endpoint",
        verbose_name=_("dataset"),
    )
    url = models.URLField(_("URL"), max_length=2000)
    sealed_token = models.CharField(
        max_length=2000, blank=True, editable=False, verbose_name=_("sealed token")
    )
    batch_size = models.PositiveSmallIntegerField(default=50, verbose_name=_("batch size"))
    state = models.CharField(
        max_length=8,
        choices=PredictionState.choices,
        default=PredictionState.QUEUED,
        verbose_name=_("state"),
    )
    cursor = models.PositiveBigIntegerField(default=0, verbose_name=_("cursor"))
    # Failed tries of the current batch; when the next try (or a running try's lease) is due.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_try_at = models.DateTimeField(default=timezone.now, verbose_name=_("next try at"))
    # The current (or last) run's figures.
    items_sent = models.PositiveIntegerField(default=0, verbose_name=_("items sent"))
    predictions_stored = models.PositiveIntegerField(
        default=0, verbose_name=_("predictions stored")
    )
    predictions_refused = models.PositiveIntegerField(
        default=0, verbose_name=_("predictions refused")
    )
    refusals = models.JSONField(
        default=list, blank=True, verbose_name=_("refusals")
    )  # the first 50, by item
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    run_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("run started at"))
    run_finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("run finished at"))
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=PredictionState.values),
                name="prediction_endpoint_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(batch_size__gte=1, batch_size__lte=500),
                name="prediction_endpoint_batch_size_range",
            ),
        ]
        indexes = [
            # The sweeper: runs under way whose next try is overdue.
            models.Index(
                fields=["next_try_at"],
                condition=models.Q(state__in=["queued", "running"]),
                name="prediction_endpoint_due",
            ),
        ]
        verbose_name = _("prediction endpoint")
        verbose_name_plural = _("prediction endpoints")

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.url}"
