"""Contributions and what the pipeline records about them.

State machine (``contributions.services`` is the only writer)::

    received -> validating -> rejected                       (final)
                           -> accepted -> pinning -> pinned  (final)
    any non-final state    -> failed (retries exhausted)     (final, can be retried)

A DAO with a validator set (``ValidatorSet``, ``contributions.quorum``) has its accepted
contributions wait for its validators between attestation and pinning::

    accepted -> attesting -> pinning          (k validators agree it is accepted)
                          -> rejected         (k validators agree it is rejected)
                          -> held             (no agreement possible: the DAO reviews it)

Scores are integers in basis points (0..10000) so they are exact, reproducible and match the
uint16 fields of the signed EIP-712 proof.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datadao.models import ADDRESS_REGEX, DAO, Dataset, User
from datadao.tokenscopes import TokenScope


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    VALIDATING = "validating", _("Validating")
    REJECTED = "rejected", _("Rejected")
    ACCEPTED = "accepted", _("Accepted")
    PINNING = "pinning", _("Pinning")
    PINNED = "pinned", _("Pinned")
    FAILED = "failed", _("Failed")
    # Waiting for the DAO's validator set; no fleet work is due (the sweeper leaves it).
    ATTESTING = "attesting", _("Awaiting validators")
    HELD = "held", _("Held: validators disagree")


FINAL_STATUSES = (Status.REJECTED, Status.PINNED, Status.FAILED)
ACTIVE_STATUSES = (Status.RECEIVED, Status.VALIDATING, Status.ACCEPTED, Status.PINNING)


class Review(models.TextChoices):
    NONE = "", _("No review needed")
    PENDING = "pending", _("Flagged for review")
    CONFIRMED = "confirmed", _("Reviewed: decision kept")
    OVERRIDDEN = "overridden", _("Reviewed: decision overridden")


class Contribution(models.Model):
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="contributions", verbose_name=_("dataset")
    )
    contributor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="contributions", verbose_name=_("contributor")
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED, verbose_name=_("status")
    )
    # What arrived: stored under a generated name; the client's name is display-only.
    sha256 = models.CharField(max_length=64, verbose_name=_("SHA-256"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    media_type = models.CharField(max_length=100, blank=True, verbose_name=_("media type"))
    original_name = models.CharField(max_length=255, blank=True, verbose_name=_("original name"))
    storage_name = models.CharField(max_length=100, unique=True, verbose_name=_("storage name"))
    # A members-only dataset's file is stored and pinned sealed (``contributions.sealed``):
    # this is its data key, wrapped by the key-encryption key it names ("v1.<kek id>.…"; not a
    # secret). Empty: the file is stored as it arrived.
    sealed_key = models.CharField(
        max_length=160, blank=True, default="", verbose_name=_("sealed key")
    )
    # The id of the upload's request (``datadao.requestid``): every log line about the
    # contribution carries it, in whichever task and batch it is processed.
    request_id = models.CharField(
        max_length=64, blank=True, default="", verbose_name=_("request ID")
    )
    # Set when the contributor withdrew consent (``ConsentWithdrawal``): left out of every
    # future release, query and synthetic job; the stored file and its data key are gone.
    withdrawn_at = models.DateTimeField(null=True, blank=True, verbose_name=_("withdrawn at"))
    # Ownership proof: an EIP-191 signature over
    # ``datadao-contribution:{site}:{dataset}:{sha256}`` (``attestation.ownership_message``).
    signature = models.CharField(max_length=132, blank=True, verbose_name=_("signature"))
    signed = models.BooleanField(default=False, verbose_name=_("signed"))
    # What the pipeline found.
    reasons = models.JSONField(default=list, blank=True, verbose_name=_("reasons"))
    report = models.JSONField(default=dict, blank=True, verbose_name=_("report"))
    authenticity = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("authenticity")
    )
    ownership = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("ownership"))
    quality = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("quality"))
    uniqueness = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("uniqueness")
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("score"))
    validator_version = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("validator version")
    )
    near_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("near duplicate of"),
    )
    review = models.CharField(
        max_length=16, choices=Review.choices, blank=True, default="", verbose_name=_("review")
    )
    cid = models.CharField(max_length=128, blank=True, verbose_name=_("CID"))
    failure = models.TextField(blank=True, verbose_name=_("failure"))
    # Deliveries of the current stage: a poison contribution is failed after too many.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    status_changed_at = models.DateTimeField(
        default=timezone.now, verbose_name=_("status changed at")
    )
    # Set while a batch (``contributions.lanes.batch``) works on the contribution: until then other
    # deliveries leave it alone. A batch that died lets it lapse; the sweeper takes over.
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Exact duplicates within a dataset are refused by the database itself.
            models.UniqueConstraint(fields=["dataset", "sha256"], name="contribution_unique_sha"),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="contribution_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="contribution_sha_hex"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.PINNED) | ~models.Q(cid=""),
                name="contribution_pinned_has_cid",
            ),
        ]
        indexes = [
            # The sweeper's query: active work by age.
            models.Index(fields=["status", "status_changed_at"], name="contribution_sweep"),
            models.Index(fields=["contributor", "-created_at"], name="contribution_by_user"),
            models.Index(fields=["dataset", "status"], name="contribution_by_dataset"),
        ]
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")

    def __str__(self) -> str:
        return f"contribution {self.pk} ({self.status})"


class ContributionProof(models.Model):
    """The signed EIP-712 attestation. One per contribution (DB-enforced).

    Signed either by the platform's fleet key (``signature``, ``signer``), or, for a DAO with
    a validator set, by k of its validators: ``attestations`` lists each one's address and
    signature over its ``ValidatorAttestation`` (``contributions.attestation``), and
    ``typed_data`` is the ``ContributionProof`` they agreed on, signed by none of them as
    such."""

    contribution = models.OneToOneField(
        Contribution, on_delete=models.PROTECT, related_name="proof", verbose_name=_("contribution")
    )
    typed_data = models.JSONField(verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    signer = models.CharField(max_length=42, verbose_name=_("signer"))
    # A quorum proof: [{"validator": "0x…", "signature": "0x…"}, …] sorted by address, made
    # under ``validator_set`` (whose threshold they meet).
    attestations = models.JSONField(default=list, blank=True, verbose_name=_("attestations"))
    validator_set = models.ForeignKey(
        "ValidatorSet",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("validator set"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(~models.Q(signature="") & models.Q(validator_set__isnull=True))
                | (
                    models.Q(signature="")
                    & models.Q(validator_set__isnull=False)
                    & ~models.Q(attestations=[])
                ),
                name="proof_fleet_or_quorum",
            ),
        ]
        verbose_name = _("contribution proof")
        verbose_name_plural = _("contribution proofs")

    def __str__(self) -> str:
        return f"proof of {self.contribution_id}"


class RowHash(models.Model):
    """Normalized hashes of accepted tabular rows: uniqueness is the share of new rows."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    digest = models.BinaryField(max_length=16, verbose_name=_("digest"))
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="+", verbose_name=_("contribution")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "digest"], name="rowhash_unique"),
        ]
        verbose_name = _("row hash")
        verbose_name_plural = _("row hashes")

    def __str__(self) -> str:
        return bytes(self.digest).hex()


TOKEN_LIFETIME = timedelta(days=90)


def token_default_expiry() -> datetime:
    return timezone.now() + TOKEN_LIFETIME


class ScopeListField(models.CharField):
    """A list of token scopes, stored as their names joined by spaces (OAuth's ``scope``
    spelling) so the column is plain text on every database the platform runs on."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> list[str]:
        return self.to_python(value)

    def to_python(self, value: object) -> list[str]:
        if isinstance(value, list):
            return value
        return str(value or "").split()

    def get_prep_value(self, value: object) -> str:
        if isinstance(value, str):
            return value
        return " ".join(value or ())

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj))


# A non-empty list of known scopes, as ScopeListField stores it.
_SCOPE = "(" + "|".join(TokenScope.values) + ")"
SCOPES_REGEX = rf"^{_SCOPE}( {_SCOPE})*$"


class ApiToken(models.Model):
    """A per-user token for scripts and the CLI. Only its SHA-256 is stored.

    It acts for its user only within its scopes, until it expires or is revoked; it never
    does account-level things (creating, listing or revoking tokens)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(max_length=80, verbose_name=_("name"))
    prefix = models.CharField(
        max_length=8,
        help_text=_("First characters, to tell tokens apart."),
        verbose_name=_("prefix"),
    )
    digest = models.CharField(max_length=64, unique=True, verbose_name=_("digest"))
    scopes = ScopeListField(
        max_length=64,
        default=list,
        help_text=_("What the token may do: upload, label, read."),
        verbose_name=_("scopes"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(default=token_default_expiry, verbose_name=_("expires at"))
    # Written at most once a minute per token (contributions.tokens.LAST_USED_RESOLUTION).
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_by_user")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scopes__regex=SCOPES_REGEX),
                name="api_token_scopes_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
            ),
        ]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Fingerprint(models.Model):
    """Near-duplicate fingerprints of accepted files: image perceptual hash, text MinHash."""

    contribution = models.OneToOneField(
        Contribution,
        on_delete=models.CASCADE,
        related_name="fingerprint",
        verbose_name=_("contribution"),
    )
    # Indexed with ``id`` below (a lookup by dataset alone uses that index too).
    dataset = models.ForeignKey(
        Dataset,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("dataset"),
    )
    phash = models.BigIntegerField(null=True, blank=True, verbose_name=_("phash"))
    minhash = models.BinaryField(null=True, blank=True, verbose_name=_("minhash"))
    # A text's 1-bit sketch of ``minhash`` (``nearindex.minhash_sketch``): what a worker keeps
    # resident to find candidates without reading every signature.
    sketch = models.BinaryField(null=True, blank=True, verbose_name=_("sketch"))
    # The fingerprint's number within its dataset, taken under the dataset's fingerprint lock
    # (``services.record``): a worker's resident index grows by it (``contributions.near``),
    # and the recorder compares what came after scoring's horizon by it. A number of its own
    # rather than the id: "this dataset's rows after n" is then one range of the unique index,
    # whatever other datasets' rows lie between.
    seq = models.PositiveBigIntegerField(verbose_name=_("seq"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "seq"], name="fingerprint_seq_once"),
        ]
        verbose_name = _("fingerprint")
        verbose_name_plural = _("fingerprints")

    def __str__(self) -> str:
        return f"fingerprint of {self.contribution_id}"


class Release(models.Model):
    """A published version of a dataset: a JSON manifest pinned to IPFS; its CID is the id."""

    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="releases", verbose_name=_("dataset")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))
    cid = models.CharField(max_length=128, unique=True, verbose_name=_("CID"))
    manifest = models.JSONField(verbose_name=_("manifest"))
    # A members-only dataset's manifest is pinned sealed, like its files (``Contribution``).
    sealed_key = models.CharField(
        max_length=160, blank=True, default="", verbose_name=_("sealed key")
    )
    # A sealed release's public proof sheet (``releases.proof_sheet``): what anyone can check
    # without plaintext. Empty for a public dataset, whose manifest is public itself.
    proofs_cid = models.CharField(
        max_length=128, blank=True, default="", verbose_name=_("proofs CID")
    )
    # The manifest's parts the release page shows (``releases.page_summary``: its totals,
    # labels and extras' entries), kept apart: the manifest lists every contribution, and
    # reading any key of it reads all of it.
    summary = models.JSONField(default=dict, blank=True, verbose_name=_("summary"))
    contributions_count = models.PositiveIntegerField(verbose_name=_("contributions count"))
    total_bytes = models.PositiveBigIntegerField(verbose_name=_("total bytes"))
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["dataset_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="release_version_unique"),
        ]
        verbose_name = _("release")
        verbose_name_plural = _("releases")

    def __str__(self) -> str:
        return f"{self.dataset} v{self.version}"


# Score histogram bins of the tallies: ten of 1,000 basis points; 10,000 falls in the last.
TALLY_SCORE_BINS = 10
TALLY_COUNTS = ("n", "near", "pending", *(f"s{i}" for i in range(TALLY_SCORE_BINS)))


class TallyCounts(models.Model):
    """The counters of a tally group: contributions, near-duplicates, open reviews, and the
    score histogram (``s0`` .. ``s9``; unscored contributions are in none)."""

    day = models.DateField(verbose_name=_("day"))
    status = models.CharField(max_length=16, verbose_name=_("status"))
    n = models.BigIntegerField(default=0, verbose_name=_("contributions"))
    near = models.BigIntegerField(default=0, verbose_name=_("near-duplicates"))
    pending = models.BigIntegerField(default=0, verbose_name=_("open reviews"))
    s0 = models.BigIntegerField(default=0, verbose_name=_("score bin 0"))
    s1 = models.BigIntegerField(default=0, verbose_name=_("score bin 1"))
    s2 = models.BigIntegerField(default=0, verbose_name=_("score bin 2"))
    s3 = models.BigIntegerField(default=0, verbose_name=_("score bin 3"))
    s4 = models.BigIntegerField(default=0, verbose_name=_("score bin 4"))
    s5 = models.BigIntegerField(default=0, verbose_name=_("score bin 5"))
    s6 = models.BigIntegerField(default=0, verbose_name=_("score bin 6"))
    s7 = models.BigIntegerField(default=0, verbose_name=_("score bin 7"))
    s8 = models.BigIntegerField(default=0, verbose_name=_("score bin 8"))
    s9 = models.BigIntegerField(default=0, verbose_name=_("score bin 9"))

    class Meta:
        abstract = True


class Tally(TallyCounts):
    """Contributions per dataset, UTC day of creation and current status.

    Pages read these instead of counting a million rows. Kept by database triggers on
    ``contributions_contribution`` (``contributions.tally``), so that no write path, bulk
    update or manual fix can miss them: each write statement appends its net change to
    ``TallyDelta`` in its own transaction, and ``tally_fold`` moves committed deltas here.
    Readers add both, in one statement.
    """

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "day", "status"], name="tally_unique_key"),
        ]
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")

    def __str__(self) -> str:
        return f"tally {self.dataset_id} {self.day} {self.status}: {self.n}"


class ContributorTally(models.Model):
    """A contributor's contributions per dataset and current status (their page's filters
    and page count), kept like ``Tally``, from the same deltas."""

    contributor = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", verbose_name=_("contributor")
    )
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    status = models.CharField(max_length=16, verbose_name=_("status"))
    n = models.BigIntegerField(default=0, verbose_name=_("n"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "dataset", "status"], name="contributor_tally_unique_key"
            ),
        ]
        verbose_name = _("contributor tally")
        verbose_name_plural = _("contributor tallies")

    def __str__(self) -> str:
        return f"tally of {self.contributor_id} {self.dataset_id} {self.status}: {self.n}"


class TallyDelta(TallyCounts):
    """A write statement's net change per contributor to ``Tally`` and ``ContributorTally``
    (negative counts for what left a group), appended by the triggers and folded away by
    ``tally_fold``. Append-only, so concurrent writers never wait on a shared counter row."""

    # No foreign keys: transient rows; the tallies' keys are checked when they are folded.
    dataset_id = models.BigIntegerField(db_index=True, verbose_name=_("dataset ID"))
    contributor_id = models.BigIntegerField(db_index=True, verbose_name=_("contributor ID"))

    class Meta:
        verbose_name = _("tally delta")
        verbose_name_plural = _("tally deltas")

    def __str__(self) -> str:
        return f"tally delta {self.dataset_id} {self.day} {self.status}: {self.n:+d}"


class UploadInFlight(models.Model):
    """An upload whose body is being received: its declared bytes count against the user's
    bytes in flight (``settings.UPLOAD_IN_FLIGHT_BYTES``) until the request ends. A row left
    by a process that died mid-upload stops counting after ``UPLOAD_IN_FLIGHT_TTL_SECONDS``
    and the sweeper deletes it."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    size = models.BigIntegerField(verbose_name=_("size"))
    started_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("started at")
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=0), name="upload_in_flight_size")
        ]
        verbose_name = _("upload in flight")
        verbose_name_plural = _("uploads in flight")

    def __str__(self) -> str:
        return f"{self.size} bytes by user {self.user_id} since {self.started_at:%H:%M:%S}"


class KeyRotation(models.Model):
    """One sweep that re-wraps every sealed data key under the current key-encryption key
    (``contributions.sealed``); the sealed files are not touched. Resumable: it walks
    contributions, then release manifests, then other sealed pins, by id, and records how far it
    got after each batch."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    kek_id = models.CharField(max_length=64, verbose_name=_("KEK ID"))
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.RUNNING, verbose_name=_("state")
    )
    total = models.PositiveIntegerField(default=0, verbose_name=_("total"))
    rewrapped = models.PositiveIntegerField(default=0, verbose_name=_("rewrapped"))
    already_current = models.PositiveIntegerField(default=0, verbose_name=_("already current"))
    failed = models.PositiveIntegerField(default=0, verbose_name=_("failed"))
    # Where it is: the id after which it goes on, in contributions, then in releases.
    phase = models.CharField(max_length=16, default="contributions", verbose_name=_("phase"))
    after = models.BigIntegerField(default=0, verbose_name=_("after"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One sweep at a time: a second start while one runs resumes that one.
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="running"),
                name="keyrotation_one_running",
            ),
        ]
        verbose_name = _("key rotation")
        verbose_name_plural = _("key rotations")

    def __str__(self) -> str:
        return f"key rotation to {self.kek_id} ({self.state})"


class ConsentWithdrawal(models.Model):
    """A contributor's signed withdrawal of consent for one contribution or for all of theirs
    in a dataset (``contributions.consent``). Never undone: the audit log records it, and the
    data keys it destroyed cannot come back."""

    contributor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("contributor")
    )
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    # None: every contribution of the contributor in the dataset at the time.
    contribution = models.ForeignKey(
        Contribution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contribution"),
    )
    nonce = models.CharField(max_length=66, unique=True, verbose_name=_("nonce"))
    typed_data = models.JSONField(verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    withdrawn = models.JSONField(
        default=list, help_text=_("ids of the contributions withdrawn"), verbose_name=_("withdrawn")
    )
    derived = models.JSONField(
        default=dict, help_text=_("what was made from them, by kind"), verbose_name=_("derived")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("consent withdrawal")
        verbose_name_plural = _("consent withdrawals")

    def __str__(self) -> str:
        return f"consent withdrawn by {self.contributor} in {self.dataset}"


class ReleaseQuery(models.Model):
    """A read-only aggregate SQL query over a release, run by a worker (``contributions
    .aggregate``); its result is signed by the validator key."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="queries", verbose_name=_("release")
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    # Why they may query: "member", or what a registered policy names (e.g. "grant:12").
    basis = models.CharField(max_length=64, verbose_name=_("basis"))
    sql = models.TextField(verbose_name=_("sql"))
    min_group_rows = models.PositiveIntegerField(verbose_name=_("min group rows"))
    state = models.CharField(
        max_length=8, choices=State.choices, default=State.QUEUED, verbose_name=_("state")
    )
    # Deliveries that began running it: one that keeps killing its worker is refused.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    result = models.JSONField(null=True, blank=True, verbose_name=_("result"))
    refusal = models.TextField(blank=True, verbose_name=_("refusal"))
    typed_data = models.JSONField(null=True, blank=True, verbose_name=_("typed data"))
    signature = models.CharField(max_length=132, blank=True, verbose_name=_("signature"))
    signer = models.CharField(max_length=42, blank=True, verbose_name=_("signer"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "state"], name="query_by_user_state")]
        verbose_name = _("release query")
        verbose_name_plural = _("release queries")

    def __str__(self) -> str:
        return f"query {self.pk} on {self.release_id} ({self.state})"


class SealedPin(models.Model):
    """Content an app pinned sealed for a members-only dataset besides its contributions and
    release manifests (a release's settled labels, synthetic rows, models and images): its CID
    and the wrapped data key that opens it (``services.sealed_pins``)."""

    cid = models.CharField(max_length=128, unique=True, verbose_name=_("CID"))
    sealed_key = models.CharField(max_length=160, verbose_name=_("sealed key"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="+", verbose_name=_("dataset")
    )
    # The plaintext's SHA-256: the same content pinned again for the dataset reuses this CID
    # (an unchanged release keeps its label files, so publishing twice changes nothing).
    plain_sha256 = models.CharField(
        max_length=64, blank=True, default="", verbose_name=_("plain SHA-256")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        indexes = [models.Index(fields=["dataset", "plain_sha256"], name="sealed_pin_by_content")]
        verbose_name = _("sealed pin")
        verbose_name_plural = _("sealed pins")

    def __str__(self) -> str:
        return f"sealed pin {self.cid}"


# --- a DAO's validator set (contributions.quorum) ------------------------------------------------


class ValidatorSet(models.Model):
    """One version of a DAO's validator set: its members' addresses and the threshold k of n.

    Never changed once made: a change is a new version (``validator_set_change``, audited;
    a proposal's when the DAO reserves it for governance), so a published proof names the
    version it was made under. The DAO's current set is its latest version; a version with no
    member (threshold 0) hands attestation back to the platform's fleet key."""

    dao = models.ForeignKey(
        DAO, on_delete=models.PROTECT, related_name="validator_sets", verbose_name=_("DAO")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))
    threshold = models.PositiveSmallIntegerField(verbose_name=_("threshold"))
    created_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    # The passed proposal that made this version, if any (governance).
    proposal = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("proposal"))
    # When the version took effect (a release publishes it as ``since``).
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # The DAO's own EIP-712 ValidatorSetVersion signature on this version
    # (``contributions.quorum.adoption``) and its signer, a creator's or admin's wallet.
    adoption_signature = models.CharField(
        max_length=132, blank=True, default="", verbose_name=_("adoption signature")
    )
    adopted_by = models.CharField(
        max_length=42, blank=True, default="", verbose_name=_("adopted by")
    )

    class Meta:
        ordering = ["dao_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dao", "version"], name="validator_set_version_unique"),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="validator_set_version_positive"
            ),
        ]
        verbose_name = _("validator set")
        verbose_name_plural = _("validator sets")

    def __str__(self) -> str:
        return f"validator set v{self.version} of DAO {self.dao_id} ({self.threshold} of n)"


class ValidatorSetMember(models.Model):
    """One address of a validator set: a validator counts once, however it is spelled."""

    validator_set = models.ForeignKey(
        ValidatorSet,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name=_("validator set"),
    )
    address = models.CharField(max_length=42, verbose_name=_("address"))

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(
                "validator_set", Lower("address"), name="validator_set_member_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(address__regex=ADDRESS_REGEX), name="validator_address_format"
            ),
        ]
        indexes = [models.Index(fields=["address"], name="validator_member_by_address")]
        verbose_name = _("validator set member")
        verbose_name_plural = _("validator set members")

    def __str__(self) -> str:
        return self.address


class ValidatorAttestation(models.Model):
    """One validator's signed claim about one contribution of its DAO: the verdict and every
    signed field (``contributions.attestation.attestation_typed_data``). One per validator and
    contribution (DB-enforced): a key is never counted twice."""

    contribution = models.ForeignKey(
        Contribution,
        on_delete=models.CASCADE,
        related_name="validator_attestations",
        verbose_name=_("contribution"),
    )
    validator = models.CharField(max_length=42, verbose_name=_("validator"))
    accepted = models.BooleanField(verbose_name=_("accepted"))
    cid = models.CharField(max_length=128, verbose_name=_("CID"))
    score = models.PositiveSmallIntegerField(verbose_name=_("score"))
    quality = models.PositiveSmallIntegerField(verbose_name=_("quality"))
    uniqueness = models.PositiveSmallIntegerField(verbose_name=_("uniqueness"))
    validator_version = models.PositiveIntegerField(verbose_name=_("validator version"))
    signature = models.CharField(max_length=132, verbose_name=_("signature"))
    # What the validator says about a rejection (not signed; shown to reviewers).
    reasons = models.JSONField(default=list, blank=True, verbose_name=_("reasons"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["contribution_id", "validator"]
        constraints = [
            models.UniqueConstraint(
                "contribution", Lower("validator"), name="validator_attestation_once"
            ),
        ]
        verbose_name = _("validator attestation")
        verbose_name_plural = _("validator attestations")

    def __str__(self) -> str:
        verdict = "accepts" if self.accepted else "rejects"
        return f"{self.validator} {verdict} contribution {self.contribution_id}"


class ValidatorDisagreement(models.Model):
    """A validator out of line on a contribution: its claim differed from the one k validators
    agreed on, or, when none could agree, from the platform's own result. The per-validator
    log the console counts."""

    dao = models.ForeignKey(DAO, on_delete=models.CASCADE, related_name="+", verbose_name=_("DAO"))
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="+", verbose_name=_("contribution")
    )
    validator = models.CharField(max_length=42, verbose_name=_("validator"))
    # "quorum": against the agreed claim; "held": against the platform's result.
    against = models.CharField(max_length=8, verbose_name=_("against"))
    differences = models.JSONField(default=list, verbose_name=_("differences"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contribution", "validator"], name="validator_disagreement_once"
            ),
        ]
        indexes = [models.Index(fields=["dao", "validator"], name="disagreement_by_validator")]
        verbose_name = _("validator disagreement")
        verbose_name_plural = _("validator disagreements")

    def __str__(self) -> str:
        return f"{self.validator} out of line on contribution {self.contribution_id}"
