"""Writes of the synthetic app: start, run (begin / progress / finish), cancel, and the
audited choice to publish the copula's rows when the GAN failed the gate."""

from __future__ import annotations

import io
from typing import Any

from django.db import transaction
from django.utils import timezone

from contributions.services.sealed_pins import content_add_for
from datadao import events
from datadao.dispatch import send_on_commit
from datadao.errors import Detail
from datadao.labels import label_detail
from datadao.models import Dataset, DatasetKind, User
from datadao.services import audit_record
from synthetic.budget import charge, refuse_over_budget, reserved
from synthetic.documents import report_document
from synthetic.dp_request import DEFAULT_DELTA
from synthetic.errors import SyntheticRefused
from synthetic.files import pin_outputs
from synthetic.models import ACTIVE, TABULAR_METHODS, JobStatus, PrivacyBudget, SyntheticJob

MAX_ATTEMPTS = 3
MAX_ROWS = 1_000_000


def dispatch(job_id: int) -> None:
    send_on_commit("synthetic.tasks.run_synthetic_job", job_id)


@transaction.atomic
def job_create(
    *,
    dataset: Dataset,
    actor: User | None,
    rows_wanted: int,
    seed: int = 0,
    method: str = "gan",
    epochs: int | None = None,
    time_budget_s: int | None = None,
    target: str = "",
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
    input_name: str = "",
    augment: dict[str, Any] | None = None,
    constraints: list[str] | None = None,
    conditions: dict[str, Any] | None = None,
    infer_constraints: bool = True,
) -> SyntheticJob:
    """Queue a generation job (or, for an image dataset, an augmentation job). Refuses
    other dataset kinds, an unknown method, DP with any method but the GAN, a target that is
    not a column, a row count out of range, both epochs and a time budget, invalid
    augmentation settings, constraints or conditions that do not parse or name no column of
    the schema, and a DP job that would take the dataset over its privacy budget (the dataset
    row is locked, so two jobs cannot both slip under it)."""
    dataset = Dataset.objects.select_for_update().select_related("dao").get(pk=dataset.pk)
    images = dataset.kind == DatasetKind.FILES and any(
        t.startswith("image/") for t in dataset.schema.get("media_types", [])
    )
    if images:
        if method != "augment":
            raise SyntheticRefused(
                Detail("Image datasets are augmented: use the method 'augment'.")
            )
        _check_augment(augment or {})
    elif dataset.kind != DatasetKind.TABULAR:
        raise SyntheticRefused(
            Detail("Synthetic data is generated for tabular datasets and augmented for image ones.")
        )
    elif method not in TABULAR_METHODS:
        raise SyntheticRefused(
            Detail(
                "Unknown method %(method)s: use one of %(join)s.",
                method=repr(method),
                join=", ".join(map(repr, TABULAR_METHODS)),
            )
        )
    if not 1 <= rows_wanted <= MAX_ROWS:
        raise SyntheticRefused(
            Detail("Rows wanted must be from 1 to %(max_rows)s.", max_rows=MAX_ROWS)
        )
    if epochs and time_budget_s:
        raise SyntheticRefused(Detail("Give either epochs or a time budget, not both."))
    names = [c.get("name") for c in dataset.schema.get("columns", [])]
    if target and target not in names:
        raise SyntheticRefused(
            Detail("The target %(target)s is not a column of this dataset.", target=repr(target))
        )
    if not images:
        _check_rules(dataset.schema, constraints or [], conditions or {}, input_name)
    if dp_epsilon is not None:
        if method != "gan":
            # Only the GAN's critic is trained under the DP-SGD accountant.
            raise SyntheticRefused(
                Detail(
                    "Differential privacy is only available with the method "
                    "'gan', not %(method)s: TVAE and the copula have no privacy "
                    "accountant, and 'auto' would compare candidates on real "
                    "rows outside it.",
                    method=repr(method),
                )
            )
        if dp_epsilon <= 0 or not (dp_delta is None or 0 < dp_delta < 1):
            raise SyntheticRefused(Detail("ε must be above 0 and δ between 0 and 1."))
        budget = PrivacyBudget.objects.select_for_update().filter(dataset=dataset).first()
        if budget is None:
            raise SyntheticRefused(Detail("Set a privacy budget (total ε) for this dataset first."))
        refuse_over_budget(budget, dp_epsilon, dp_delta or DEFAULT_DELTA, held=reserved(dataset))
    job = SyntheticJob.objects.create(
        dataset=dataset,
        requested_by=actor,
        rows_wanted=rows_wanted,
        seed=seed,
        method=method,
        epochs=epochs,
        time_budget_s=time_budget_s,
        target=target or dataset.schema.get("target", "") or "",
        dp_epsilon=dp_epsilon,
        dp_delta=(dp_delta or DEFAULT_DELTA) if dp_epsilon is not None else None,
        input_name=input_name,
        augment=augment or {},
        constraints=constraints or [],
        conditions=conditions or {},
        infer_constraints=infer_constraints,
    )
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="synthetic.job_queued",
        obj=job,
        details={"rows": rows_wanted, "method": method, "seed": seed, "dp_epsilon": dp_epsilon},
    )
    dispatch(job.pk)
    return job


def _check_rules(
    schema: dict[str, Any], constraints: Any, conditions: Any, input_name: str
) -> None:
    """Constraints and conditions parse; on the dataset's own rows they name its columns (a
    job's own CSV is checked when it runs)."""
    from synthetic.infer import InputError
    from synthetic.table import specs_from_schema
    from synthetic.table_constraints import ConstraintSet, parse_conditions, parse_constraints

    if not isinstance(conditions, dict):
        raise SyntheticRefused(Detail('Conditions must be an object like {"grade": "A"}.'))
    try:
        parsed = parse_constraints(constraints)
        if not input_name and schema.get("columns"):
            ConstraintSet(parsed, specs_from_schema(schema))
            parse_conditions(conditions, schema)
    except InputError as exc:
        raise SyntheticRefused(f"{exc}.") from exc


def _check_augment(config: dict[str, Any]) -> None:
    from synthetic.images import augment_settings

    try:
        augment_settings(config)
    except (TypeError, ValueError) as exc:
        raise SyntheticRefused(
            Detail("The augmentation settings are invalid: %(exc)s", exc=exc)
        ) from exc


@transaction.atomic
def job_begin(*, job_id: int) -> SyntheticJob | None:
    """Move a queued job to running. A DP job is charged its (ε, δ) here, before any real row
    is read, and never refunded; if the budget cannot cover it, the job fails unstarted."""
    job = SyntheticJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status not in ACTIVE:
        return None
    if job.cancel_requested:
        _end(job, JobStatus.CANCELLED, "cancelled before it started")
        return None
    if job.attempts >= MAX_ATTEMPTS:
        _end(job, JobStatus.FAILED, f"gave up after {job.attempts} attempts")
        return None
    job.attempts += 1
    if job.dp_epsilon is not None:
        try:
            charge(job)
        except SyntheticRefused as exc:
            _end(job, JobStatus.FAILED, f"not started: {exc.message}")
            return None
    job.status = JobStatus.RUNNING
    job.started_at = job.updated_at = timezone.now()
    job.progress = {"stage": "starting"}
    job.save()
    return job


def job_wait(*, job_id: int, uploads: int) -> None:
    """Say that a queued job waits for ``uploads`` of its dataset's uploads to be pinned (one
    UPDATE of a queued job, which also keeps the sweeper from taking it for lost)."""
    SyntheticJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        progress={"stage": "waiting for rows", "uploads": uploads}, updated_at=timezone.now()
    )


def job_progress(*, job_id: int, event: dict[str, Any]) -> bool:
    """Record progress (one UPDATE, no lock); returns whether a cancel was requested."""
    SyntheticJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=event, updated_at=timezone.now()
    )
    return bool(SyntheticJob.objects.filter(pk=job_id, cancel_requested=True).exists())


@transaction.atomic
def job_cancel(*, job: SyntheticJob, actor: User | None) -> SyntheticJob:
    job = SyntheticJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in ACTIVE:
        raise SyntheticRefused(
            Detail(
                "Job %(pk)s is %(lower)s; too late.",
                pk=job.pk,
                lower=label_detail(JobStatus(job.status), lower=True),
            )
        )
    job.cancel_requested = True
    if job.status == JobStatus.QUEUED:
        _end(job, JobStatus.CANCELLED, "cancelled before it started")
    else:
        job.save(update_fields=["cancel_requested"])
    audit_record(actor=actor, dao=job.dataset.dao, verb="synthetic.job_cancelled", obj=job)
    return job


@transaction.atomic
def job_finish(*, job_id: int, result: Any, columns: list[str]) -> None:
    """Store a finished run: the report always; the rows (pinned CSV + checkpoint) only when
    the gate passed. Idempotent: a job no longer running is left as it is."""
    job = SyntheticJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return
    job.report = result.report
    job.provenance = {**result.provenance, **job.provenance}
    job.passed = result.passed
    job.publishable = result.publish or ""
    if result.passed:
        job.output_cid, job.parquet_cid, job.checkpoint_cid = pin_outputs(job, result, columns)
        job.output_rows = len(result.rows)
        job.published_method = result.method
        job.finished_at = timezone.now()
        job.report_cid = _pin_report(job)
        _end(job, JobStatus.PUBLISHED, "")
    else:
        # Nothing is published; when the copula passed, the console offers it instead.
        _end(job, JobStatus.REJECTED_BY_GATE, "")
    audit_record(
        actor=None,
        dao=job.dataset.dao,
        verb=f"synthetic.job_{job.status}",
        obj=job,
        details={"passed": job.passed, "rows": job.output_rows, "cid": job.output_cid},
    )


@transaction.atomic
def job_fail(*, job_id: int, status: str, error: str) -> None:
    job = SyntheticJob.objects.select_for_update().filter(pk=job_id).first()
    if job is not None and job.status in ACTIVE:
        _end(job, status, error[:4000])


def _end(job: SyntheticJob, status: str, error: str) -> None:
    """The one place a job reaches a final status (published, rejected by the gate, failed,
    cancelled): an event the DAO may subscribe to."""
    job.status = status
    job.error = error
    # A published job's finish time is set before its report document (which names it).
    job.finished_at = job.updated_at = job.finished_at or timezone.now()
    job.save()
    dataset = job.dataset
    events.emit(
        dao=dataset.dao,
        event_type=events.EventType.SYNTHETIC_JOB_FINISHED,
        payload={
            "job": {
                "id": job.pk,
                "dataset": {"id": dataset.pk, "slug": dataset.slug},
                "status": str(status),
                "method": job.published_method or job.method,
                "passed": job.passed,
                "rows": job.output_rows,
                "output_cid": job.output_cid or None,
                "report_cid": job.report_cid or None,
                "finished_at": job.finished_at.isoformat().replace("+00:00", "Z"),
            }
        },
    )


def _pin_report(job: SyntheticJob) -> str:
    pin = content_add_for(
        dataset=job.dataset,
        stream=io.BytesIO(report_document(job)),
        label=f"synthetic:{job.pk}",
        content_type="application/json",
    )
    return pin.cid


@transaction.atomic
def job_report_pin(*, job_id: int) -> str:
    """Pin a published job's report document (its report, provenance and output CIDs) and
    record its CID; returns the CID. Idempotent: a job that has one keeps it. Refuses a job
    that published nothing."""
    job = SyntheticJob.objects.select_for_update().select_related("dataset__dao").get(pk=job_id)
    if job.status != JobStatus.PUBLISHED:
        raise SyntheticRefused(
            Detail("Job %(pk)s published nothing: it has no report to pin.", pk=job.pk)
        )
    if not job.report_cid:
        job.report_cid = _pin_report(job)
        job.save(update_fields=["report_cid"])
    return job.report_cid


@transaction.atomic
def job_publish_copula(*, job: SyntheticJob, actor: User) -> SyntheticJob:
    """The DAO chooses to publish the copula baseline's rows for a job whose generator (GAN
    or TVAE) failed the gate while the copula passed it: an explicit, audited choice, recorded
    in the provenance. The copula is re-fitted and sampled with the job's seed (deterministic,
    so these are the rows the report evaluated) in a follow-up job run."""
    job = SyntheticJob.objects.select_for_update().get(pk=job.pk)
    if job.status != JobStatus.REJECTED_BY_GATE or job.publishable != "copula":
        raise SyntheticRefused(
            Detail(
                "Only a job whose generator failed the gate while the copula "
                "baseline passed it can publish the copula's rows."
            )
        )
    follow = SyntheticJob.objects.create(
        dataset=job.dataset,
        requested_by=actor,
        method="copula",
        rows_wanted=job.rows_wanted,
        seed=job.seed,
        target=job.target,
        input_name=job.input_name,
        provenance={
            f"chosen_over_{job.method}_job": job.pk,
            "chosen_by": actor.address,
        },
    )
    audit_record(
        actor=actor,
        dao=job.dataset.dao,
        verb="synthetic.copula_chosen",
        obj=follow,
        details={"instead_of_job": job.pk},
    )
    dispatch(follow.pk)
    return follow


@transaction.atomic
def job_rerun(*, job: SyntheticJob, actor: User | None) -> SyntheticJob:
    """Queue a job that repeats ``job`` from its provenance: the same seed, method, rows,
    target, constraints and conditions, and, for a time-budget run, the epochs it actually
    took with its validation cadence instead of the budget. The run refuses rows or a schema
    that hash differently from the provenance's, so a non-DP job's rows come out byte for
    byte the same. Refuses unfinished, image and DP jobs (DP noise is not from the seed)."""
    from synthetic.infer import InputError
    from synthetic.provenance import replay_arguments

    job = SyntheticJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (JobStatus.PUBLISHED, JobStatus.REJECTED_BY_GATE):
        raise SyntheticRefused(
            Detail("Job %(pk)s has not finished: only a finished job runs again.", pk=job.pk)
        )
    if job.method == "augment":
        raise SyntheticRefused(
            Detail("An image augmentation job cannot be run again from provenance.")
        )
    try:
        replay = replay_arguments(job.provenance)
    except InputError as exc:
        raise SyntheticRefused(
            Detail("Job %(pk)s cannot run again: %(exc)s.", pk=job.pk, exc=exc)
        ) from exc
    # A job has one epochs field: the epochs its neural generator actually ran (under "auto",
    # the GAN's, which must then be the TVAE's too).
    ran = {"gan": replay["gan_settings"], "tvae": replay["tvae_settings"]}
    if replay["method"] == "auto" and job.time_budget_s:
        gan_epochs, tvae_epochs = ran["gan"].epochs, ran["tvae"].epochs
        if gan_epochs != tvae_epochs:
            raise SyntheticRefused(
                Detail(
                    "Job %(pk)s cannot run again as a job: under its time budget "
                    "the GAN ran %(gan_epochs)s epochs and the TVAE "
                    "%(tvae_epochs)s, and a job takes one epoch count; repeat it "
                    "with manage.py synthesize --from-provenance.",
                    pk=job.pk,
                    gan_epochs=gan_epochs,
                    tvae_epochs=tvae_epochs,
                )
            )
    settings = ran.get(replay["method"], replay["gan_settings"])
    follow = SyntheticJob.objects.create(
        dataset=job.dataset,
        requested_by=actor,
        method=replay["method"],
        rows_wanted=replay["n_rows"],
        seed=replay["seed"],
        epochs=settings.epochs if job.time_budget_s else job.epochs,
        validate_every=(
            getattr(settings, "validate_every", 0) if job.time_budget_s else job.validate_every
        ),
        target=replay["target"] or "",
        input_name=job.input_name,
        constraints=replay["constraints"],
        conditions=job.conditions,
        infer_constraints=replay["infer_constraints"],
        rerun_of=job,
    )
    audit_record(
        actor=actor,
        dao=job.dataset.dao,
        verb="synthetic.job_rerun",
        obj=follow,
        details={"repeats_job": job.pk, "epochs": follow.epochs},
    )
    dispatch(follow.pk)
    return follow


@transaction.atomic
def job_finish_images(*, job_id: int, manifest: dict[str, Any], manifest_bytes: bytes) -> None:
    """Store a finished augmentation: the pinned manifest lists every generated image (its CID,
    the source it was derived from) and the pipeline; each image is already pinned."""
    job = SyntheticJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return
    pin = content_add_for(
        dataset=job.dataset,
        stream=io.BytesIO(manifest_bytes),
        label=f"synthetic:{job.pk}",
        content_type="application/json",
    )
    job.output_cid = pin.cid
    job.output_rows = len(manifest["items"])
    job.published_method = "augment"
    job.provenance = {**manifest["provenance"], **job.provenance}
    job.report = {"method": "augment", "images": job.output_rows, "note": manifest["note"]}
    job.finished_at = timezone.now()
    job.report_cid = _pin_report(job)
    _end(job, JobStatus.PUBLISHED, "")
    audit_record(
        actor=None,
        dao=job.dataset.dao,
        verb="synthetic.job_published",
        obj=job,
        details={"images": job.output_rows, "cid": job.output_cid},
    )
