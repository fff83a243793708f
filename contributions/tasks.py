"""The pipeline's Celery tasks: one per stage, each taking an ID and calling services.

Every task is idempotent (a stage already done is a no-op), uses ``acks_late`` (a worker
lost mid-task means redelivery, not loss) and is routed to its queue by name
(``validate_*``/``score_*``/``attest_*`` → validate, ``pin_*`` → pin).

The database going away (a restart, a failover, a dropped connection) is an expected error,
retried with backoff: each stage writes in one transaction, so the failed delivery left no
partial rows, and running it again is safe. Without the retry the failed task would be
acknowledged (``acks_late`` acks failures too) and the stage would wait for the sweeper.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections

from contributions import messages, selectors, services, tally
from contributions.lanes import batch
from contributions.lanes import express as express_lane
from contributions.lanes import stages as stage_lane
from contributions.models import Contribution
from contributions.quorum import services as quorum_services
from contributions.services import keyrotation, queries, withdrawal
from datadao.blobs import StoreUnavailable
from datadao.dispatch import send
from datadao.keys import load_signer
from datadao.queues import MAX_COUNTDOWN_SECONDS
from ipfs.backends.base import IpfsUnavailable
from ipfs.replication import pin_unpin_everywhere
from ipfs.services import pin_forget

logger = logging.getLogger(__name__)

PIN_MAX_RETRIES = 8
# What Django raises when the server is unreachable or the connection broke mid-query.
DATABASE_ERRORS = batch.DATABASE_ERRORS
# Retries of one delivery across a database outage: 2, 4, ... 64, then 60 s apart (~10 min
# in all). Past that the task fails and the contribution, still at its stage, is the
# sweeper's to dispatch again once the database is back.
DB_MAX_RETRIES = 14
DB_MAX_COUNTDOWN_SECONDS = 60


def _drop_broken_connections() -> None:
    """Close connections that saw an error and no longer answer: the next query connects
    afresh instead of failing on a socket the server (restarted) no longer knows."""
    with suppress(*DATABASE_ERRORS):
        close_old_connections()


def _retry_after_database_error(
    task: Task,
    contribution_id: int | None,
    exc: Exception,
    *,
    db_retries: int,
    begun: bool,
    claimed: list[int] | None = None,
    lease: str | None = None,
) -> Exception:
    """The retry to raise for a delivery that lost the database (or ``exc`` itself once the
    retries are spent). ``claimed``/``lease``: a batch's claim, which the retry takes up."""
    if claimed is not None:
        what = "contributions " + ", ".join(str(pk) for pk in claimed)
    elif contribution_id is None:
        what = "a batch"
    else:
        what = f"contribution {contribution_id}"
    kwargs: dict[str, Any] = {"db_retries": db_retries + 1}
    if claimed is not None:
        kwargs |= {"claimed": claimed, "lease": lease}
    _drop_broken_connections()
    if begun and contribution_id is not None:
        # The delivery was counted by contribution_begin; an outage is not a crash, so give
        # the count back. Best effort: with the database still down the count stays, which
        # costs one of MAX_STAGE_ATTEMPTS, never a lost contribution.
        with suppress(*DATABASE_ERRORS):
            services.contribution_release_attempt(contribution_id=contribution_id)
        _drop_broken_connections()
    if db_retries >= DB_MAX_RETRIES:
        logger.error(
            "%s: the database stayed unreachable after %s retries; leaving it to the sweeper: %s",
            what,
            db_retries,
            exc,
        )
        return exc
    base = min(DB_MAX_COUNTDOWN_SECONDS, 2 ** (db_retries + 1))
    # Jitter (half to all of base), so the deliveries an outage held back do not all
    # reconnect in the same second; capped like every countdown (tests/faults/test_limits.py).
    delay = min(MAX_COUNTDOWN_SECONDS, base / 2 + random.uniform(0, base / 2))  # noqa: S311
    logger.warning(
        "%s: database unavailable, retry %s in %.0f s: %s",
        what,
        db_retries + 1,
        delay,
        exc,
    )
    # max_retries=None: the budget is db_retries, counted apart from the pin stage's IPFS
    # retries (Celery's own counter, request.retries, counts both).
    return task.retry(
        exc=exc,
        countdown=delay,
        kwargs=kwargs,
        max_retries=None,
        throw=False,
    )


def _run_stage(
    task: Task,
    contribution_id: int,
    stage: str | None,
    work: Callable[[Contribution], str],
    *,
    db_retries: int,
) -> str:
    """Claim a delivery of ``stage`` and run ``work`` on it, retrying on a database outage."""
    begun = False
    try:
        contribution = services.contribution_begin(contribution_id=contribution_id, stage=stage)
        if contribution is None:
            return "skipped"
        begun = True
        return work(contribution)
    except DATABASE_ERRORS as exc:
        raise _retry_after_database_error(
            task, contribution_id, exc, db_retries=db_retries, begun=begun
        ) from exc
    except StoreUnavailable:
        # The shared store (the bucket) is down, not the file at fault: give the delivery
        # back (only crashes count towards dead-lettering) and leave the stage to the sweeper,
        # however long the outage lasts.
        if begun:
            services.contribution_release_attempt(contribution_id=contribution_id)
        raise


def _validate(contribution: Contribution) -> str:
    stage_lane.run_validation(contribution)
    return "done"


def _score(contribution: Contribution) -> str:
    stage_lane.run_scoring(contribution)
    return "done"


def _attest(contribution: Contribution) -> str:
    stage_lane.run_attestation(contribution)
    return "done"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def validate_contribution(self: Task, contribution_id: int, db_retries: int = 0) -> str:
    return _run_stage(self, contribution_id, "validate", _validate, db_retries=db_retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def score_contribution(self: Task, contribution_id: int, db_retries: int = 0) -> str:
    return _run_stage(self, contribution_id, "score", _score, db_retries=db_retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def attest_contribution(self: Task, contribution_id: int, db_retries: int = 0) -> str:
    # No key, no start: the contribution stays accepted (the sweeper offers it again) instead
    # of spending a delivery attempt on a configuration problem.
    try:
        load_signer("validator")
    except ImproperlyConfigured as exc:
        logger.error("cannot attest contribution %s: %s", contribution_id, exc)
        raise
    return _run_stage(self, contribution_id, "attest", _attest, db_retries=db_retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def pin_contribution(self: Task, contribution_id: int, db_retries: int = 0) -> str:
    # Retries of this message spent waiting for IPFS: Celery counts database retries too.
    ipfs_retries = self.request.retries - db_retries

    def pin(contribution: Contribution) -> str:
        try:
            stage_lane.run_pin(contribution)
        except IpfsUnavailable as exc:
            if ipfs_retries >= PIN_MAX_RETRIES:
                services.contribution_fail(
                    contribution_id=contribution_id,
                    stage="pin",
                    reason=(
                        f"the IPFS backend stayed unreachable after {PIN_MAX_RETRIES} retries: "
                        f"{exc}"
                    ),
                )
                return "failed"
            # Exponential backoff, capped below the broker's visibility timeout. A retry is a
            # new delivery of the stage, so undo this one's attempt count: only crashes count.
            services.contribution_release_attempt(contribution_id=contribution_id)
            countdown = min(MAX_COUNTDOWN_SECONDS, 2 ** (ipfs_retries + 1))
            raise self.retry(exc=exc, countdown=countdown) from exc
        return "done"

    return _run_stage(self, contribution_id, "pin", pin, db_retries=db_retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_contribution(
    self: Task,
    contribution_id: int,
    db_retries: int = 0,
    claimed: list[int] | None = None,
    lease: str | None = None,
) -> str:
    """The express lane for a small file: every stage it waits for in this one delivery
    (``express_lane.run_express``), the pin stage too when ``PIPELINE_EXPRESS_PIN`` is on.

    A redelivery (crash, lost worker) resumes at whatever stage the contribution waits for;
    the delivery is counted once, at that stage, so a poison file is still dead-lettered.

    On PostgreSQL a contribution still waiting in ``received`` (small, never tried) leads a
    batch instead (``contributions.lanes.batch``): up to ``PIPELINE_BATCH_SIZE`` waiting
    contributions claimed and recorded together. A delivery that finds its contribution
    leased by a batch, or final, does nothing.
    """

    if messages.batch_enabled() or claimed is not None:

        def lead_a_batch() -> str | None:
            state = services.contribution_express_state(contribution_id)
            if state in ("done", "leased"):
                return "skipped"  # what contribution_begin would find, without its lock
            return batch.run_batch(contribution_id) if state == "received" else None

        done = _batch_delivery(
            self, db_retries=db_retries, claimed=claimed, lease=lease, start=lead_a_batch
        )
        if done is not None:
            return done

    def express(contribution: Contribution) -> str:
        done = express_lane.run_express(contribution, pin=settings.PIPELINE_EXPRESS_PIN)
        if not done:
            # Only handed on (to the pin task): this delivery was no attempt at anything.
            services.contribution_release_attempt(contribution_id=contribution_id)
        return "+".join(done) or "handed on"

    return _run_stage(self, contribution_id, None, express, db_retries=db_retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def process_batch(
    self: Task,
    db_retries: int = 0,
    claimed: list[int] | None = None,
    lease: str | None = None,
) -> str:
    """A batch of the small contributions waiting in ``received``, oldest first
    (``contributions.lanes.batch``), sent by an upload's batch ticket or by a full batch for its
    successor. A duplicate or late delivery claims nothing and does nothing."""

    def claim_and_run() -> str | None:
        # Before the claim: an upload that commits from here on sends its own ticket.
        messages.batch_ticket_clear()
        return batch.run_batch(None)

    done = _batch_delivery(
        self, db_retries=db_retries, claimed=claimed, lease=lease, start=claim_and_run
    )
    return done or "nothing waiting"


def _batch_delivery(
    task: Task,
    *,
    db_retries: int,
    claimed: list[int] | None,
    lease: str | None,
    start: Callable[[], str | None],
) -> str | None:
    """Run a batch delivery (``start``), or, for the retry of one that lost the database,
    take up exactly the contributions it had claimed (``claimed``, under ``lease``). Losing
    the database retries with backoff, carrying the claim."""
    try:
        if claimed is None:
            return start()
        claim = services.contribution_reclaim_batch(
            ids=claimed, lease=datetime.fromisoformat(lease or "")
        )
        return batch.run_claim(claim) if claim is not None else "nothing to take up"
    except batch.DatabaseLost as lost:
        # The claim as it stands now (a take-up renews the lease).
        ids, lease = [c.pk for c in lost.claim.contributions], lost.claim.lease.isoformat()
        raise _retry_after_database_error(
            task, None, lost.error, db_retries=db_retries, begun=False, claimed=ids, lease=lease
        ) from lost.error
    except DATABASE_ERRORS as exc:
        # Lost before or while taking the claim up again: the retry tries the same claim.
        raise _retry_after_database_error(
            task, None, exc, db_retries=db_retries, begun=False, claimed=claimed, lease=lease
        ) from exc


@shared_task(acks_late=True)
def fold_tallies() -> int:
    """Move committed tally deltas into the tallies (``contributions.tally``); beat runs it
    every few seconds. Readers add pending deltas anyway, so this only keeps their share small.
    Safe to run twice at once or again after a lost delivery. Returns how many it moved."""
    moved = 0
    while True:
        step = tally.fold()
        moved += step
        if step < tally.FOLD_BATCH:
            return moved


# A rotation runs in slices of about this long, each a new message: other work on the
# default queue is never held up for long, and a killed worker loses at most a slice.
ROTATION_SLICE_SECONDS = 20


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rotate_data_keys(rotation_id: int) -> str:
    """Re-wrap sealed data keys in batches for a slice of time, then send itself again."""
    deadline = time.monotonic() + ROTATION_SLICE_SECONDS
    while time.monotonic() < deadline:
        rotation = keyrotation.key_rotation_step(rotation_id=rotation_id)
        if rotation is None or rotation.state == rotation.State.DONE:
            return "done"
    send(rotate_data_keys, rotation_id)
    return "continued"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def unpin_withdrawn(self: Task, contribution_id: int) -> str:
    """Unpin a withdrawn contribution's bytes, from the backend and every replica, and forget
    the pin; idempotent."""
    cid = withdrawal.withdrawn_unpin(contribution_id=contribution_id)
    if cid is None:
        return "skipped"
    try:
        pin_unpin_everywhere(cid=cid)
    except IpfsUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(MAX_COUNTDOWN_SECONDS, 30)) from exc
    pin_forget(cid=cid)
    return "unpinned"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def unpin_release_shard(self: Task, cid: str) -> str:
    """Unpin a release's Parquet shard that holds withdrawn rows, everywhere, and forget the
    pin; idempotent (``contributions.hf_release``)."""
    try:
        pin_unpin_everywhere(cid=cid)
    except IpfsUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(MAX_COUNTDOWN_SECONDS, 30)) from exc
    pin_forget(cid=cid)
    return "unpinned"


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_release_query(query_id: int) -> str:
    """Run an aggregate query over a release; idempotent (a finished query is skipped)."""
    query = queries.release_query_run(query_id=query_id, table_of=selectors.release_query_table)
    return "skipped" if query is None else query.state


@shared_task(acks_late=True)
def quorum_reevaluate(dao_id: int) -> str:
    """Decide again each of the DAO's contributions waiting for validators, after its
    validator set changed (``quorum.services.validator_set_change``). Idempotent: each is
    decided under its row lock, and one no longer waiting is skipped."""
    ids = quorum_services.attesting_ids(dao_id=dao_id)
    for contribution_id in ids:
        quorum_services.quorum_evaluate(contribution_id=contribution_id)
    return f"{len(ids)} decided again"
