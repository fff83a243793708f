"""The synthetic queue's task: one generation job, by id, idempotent, ``acks_late``."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from synthetic import services
from synthetic.constraints import ConstraintError
from synthetic.inputs import job_rows, uploads_awaited
from synthetic.models import JobStatus
from synthetic.synthesize import Cancelled, GanSettings, InputError, TvaeSettings, synthesize

logger = logging.getLogger(__name__)
# Progress is written at most this often (a GAN reports every epoch).
PROGRESS_EVERY_S = 1.0
# A job on a dataset whose first uploads are still in the pipeline waits for them to be
# pinned, up to WAIT_TRIES × WAIT_S seconds, then runs (and fails if there are still none).
WAIT_S = 5
WAIT_TRIES = 60


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=WAIT_TRIES)
def run_synthetic_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    awaited = uploads_awaited(job_id)
    if awaited and self.request.retries < WAIT_TRIES:
        services.job_wait(job_id=job_id, uploads=awaited)
        raise self.retry(countdown=WAIT_S)
    job = services.job_begin(job_id=job_id)
    if job is None:
        return "skipped"
    last = [0.0]
    cancelled = [False]

    def on_progress(event: dict) -> None:  # type: ignore[type-arg]
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or event.get("stage") == "done":
            last[0] = now
            cancelled[0] = services.job_progress(job_id=job_id, event=event)

    if job.method == "augment":
        return _run_augment(job, on_progress, cancelled)
    settings: dict = {}  # type: ignore[type-arg]
    if job.epochs:
        settings["epochs"] = job.epochs
    if job.time_budget_s:
        settings["time_budget_s"] = float(job.time_budget_s)
    if job.validate_every:
        settings["validate_every"] = job.validate_every
    if job.dp_epsilon is not None:
        settings["dp"] = {"epsilon": job.dp_epsilon, "delta": job.dp_delta or 1e-5}
    # TVAE takes the same epochs or time budget as the GAN (each, under "auto").
    tvae = {k: v for k, v in settings.items() if k in ("epochs", "time_budget_s")}
    try:
        rows = job_rows(job)
        if not rows:
            raise InputError(
                "the dataset has no pinned rows to learn from yet: a job learns from the "
                "rows of its accepted (pinned) contributions"
            )
        schema = job.dataset.schema
        if job.input_name and not {c["name"] for c in schema.get("columns", [])} <= set(rows[0]):
            schema = None  # a CSV of another shape: infer its column types
        result = synthesize(
            rows,
            n_rows=job.rows_wanted,
            seed=job.seed,
            schema=_generation_schema(schema),
            target=job.target or None,
            method=job.method,
            gan_settings=GanSettings.from_dict(settings),
            tvae_settings=TvaeSettings.from_dict(tvae),
            on_progress=on_progress,
            should_stop=lambda: cancelled[0],
            constraints=job.constraints or [],
            conditions=job.conditions or {},
            infer_constraints=job.infer_constraints,
            require=_repeated(job),
        )
    except Cancelled:
        services.job_fail(
            job_id=job_id, status=JobStatus.CANCELLED, error="cancelled while running"
        )
        return "cancelled"
    except (InputError, ConstraintError) as exc:
        services.job_fail(job_id=job_id, status=JobStatus.FAILED, error=str(exc))
        return "failed"
    columns = [c["name"] for c in result.schema.get("columns", [])]
    services.job_finish(job_id=job_id, result=result, columns=columns)
    return "done"


def _generation_schema(schema: dict | None) -> dict | None:  # type: ignore[type-arg]
    """The dataset schema's columns, target and constraints (size limits do not apply to
    generation)."""
    if schema is None:
        return None
    out = {"columns": schema.get("columns", [])}
    for key in ("target", "constraints"):
        if schema.get(key):
            out[key] = schema[key]
    return out


def _repeated(job) -> dict[str, str] | None:  # type: ignore[no-untyped-def]
    """A re-run repeats its original's rows and schema, or fails saying they changed."""
    if job.rerun_of_id is None:
        return None
    provenance = job.rerun_of.provenance or {}
    return {k: provenance[k] for k in ("input_sha256", "schema_sha256") if provenance.get(k)}


def _run_augment(job, on_progress, cancelled) -> str:  # type: ignore[no-untyped-def]
    from synthetic.image_job import NoImages, run_augmentation

    def progress(event: dict) -> bool:  # type: ignore[type-arg]
        on_progress(event)
        return cancelled[0]

    try:
        outcome = run_augmentation(job, on_progress=progress)
    except (NoImages, ValueError, OSError) as exc:
        services.job_fail(job_id=job.pk, status=JobStatus.FAILED, error=str(exc))
        return "failed"
    if outcome is None:
        services.job_fail(
            job_id=job.pk, status=JobStatus.CANCELLED, error="cancelled while running"
        )
        return "cancelled"
    manifest, data = outcome
    services.job_finish_images(job_id=job.pk, manifest=manifest, manifest_bytes=data)
    return "done"
