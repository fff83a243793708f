"""Pre-labels from a dataset's model server over HTTP (Label Studio's ML backend is the model).

A DAO admin registers one prediction endpoint per labeling dataset (a URL and an optional
bearer token). A run then asks it, one batch at a time, about the open items without a
current pre-label, in id order, and stores its answers as an import's would be
(``prelabels.predictions_store``): each checked against its item, a bad one counted and named,
never stored. The wire format is ``labeling.predict_wire``.

One batch per task (``labeling.tasks.fetch_predictions``, on its own ``predict`` queue, so a
slow or failing model server never holds a worker that labeling's own tasks need):

* ``prediction_batch_claim`` (row lock): picks the batch after the run's ``cursor`` and holds
  the run for ``TRY_LEASE`` (a duplicate message finds it not due);
* the POST, outside any transaction, through ``datadao.egress`` (no private address unless
  PREDICTIONS_ALLOW_PRIVATE / PREDICTIONS_ALLOWED_HOSTS allow it, checked again at connect);
* ``prediction_batch_store`` (row lock): stores the answers and moves the cursor in one
  transaction, then sends the next batch; a second execution of the same batch finds the
  cursor moved and stores nothing (idempotent);
* or ``prediction_batch_fail``: the next try after PREDICTIONS_RETRY_DELAYS, and once they are
  used up (or at once for a refused address) the run stops, failed, with its error.

The sweeper re-sends a run whose next try is overdue (a lost message).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from urllib3 import Timeout

from datadao import egress
from datadao.dispatch import send
from datadao.errors import Detail
from datadao.keys import load_kek_ring
from datadao.models import Dataset, User
from datadao.queues import MAX_COUNTDOWN_SECONDS
from datadao.sealing import KekRing, SealError
from datadao.sealing.text import open_text, seal_text
from datadao.services import audit_record
from labeling import errors, predict_wire
from labeling.conf import labeling_settings
from labeling.models import LabelTask, PredictionEndpoint, PredictionState, TaskStatus
from labeling.prelabel_import import ImportedPrediction
from labeling.services.access import labeling_dataset, require_manager
from labeling.services.prelabels import predictions_store

logger = logging.getLogger(__name__)

FETCH_TASK = "labeling.tasks.fetch_predictions"
USER_AGENT = "datadao-predictions/1"
DEFAULT_BATCH = 50
MAX_BATCH = 500
MAX_TOKEN = 1000
# A model runs per batch: more time to answer than a webhook receiver gets, still bounded
# (the task's soft limit is above the total).
TIMEOUT = Timeout(connect=3.0, read=60.0, total=90.0)
# A try under way holds its run this long (more than the task's hard time limit): a
# duplicate message finds it not due, and the sweeper takes it back only after this.
TRY_LEASE = timedelta(seconds=150)
MAX_REFUSALS = 50


def egress_policy() -> egress.Policy:
    return egress.Policy.from_settings(
        allow_private=settings.PREDICTIONS_ALLOW_PRIVATE,
        allowed=settings.PREDICTIONS_ALLOWED_HOSTS,
        purpose="prediction endpoints",
    )


def _binding(dataset: Dataset) -> str:
    return f"{dataset.dao.onchain_id}/prediction-endpoint/{dataset.pk}"


def _ring() -> KekRing:
    try:
        return load_kek_ring()
    except ImproperlyConfigured as exc:
        raise errors.LabelingRefused(
            Detail(
                "A prediction endpoint's token is stored encrypted, and this platform has no "
                "data key-encryption key configured (%(error)s).",
                error=str(exc),
            ),
            status_code=503,
        ) from None


def _shown(url: str) -> str:
    """The URL as audited and served: without its query, which may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _clean_url(url: Any) -> str:
    url = str(url or "").strip()
    if not url:
        raise errors.LabelingRefused(
            Detail("Give the prediction endpoint's 'url' (http or https).")
        )
    try:
        egress_policy().check_url(url)
    except egress.EgressRefused as exc:
        raise errors.LabelingRefused(
            Detail("This URL cannot be a prediction endpoint: %(reason)s.", reason=str(exc)),
            code="url_refused",
        ) from None
    return url


def _clean_token(token: Any) -> str:
    token = "" if token is None else token
    if not isinstance(token, str):
        raise errors.LabelingRefused(Detail("'token' must be a text (or null for none)."))
    # Sent as a header value: a control character or space would split or smuggle headers.
    if len(token) > MAX_TOKEN or any(not 0x21 <= ord(c) <= 0x7E for c in token):
        raise errors.LabelingRefused(
            Detail(
                "'token' must be at most %(max)s printable ASCII characters, without spaces.",
                max=MAX_TOKEN,
            )
        )
    return token


def _clean_batch(batch: Any) -> int:
    if batch is None:
        return DEFAULT_BATCH
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise errors.LabelingRefused(
            Detail("'batch_size' must be a whole number from 1 to %(max)s.", max=MAX_BATCH)
        )
    return batch


def _run_restart(endpoint: PredictionEndpoint) -> None:
    now = timezone.now()
    endpoint.state = PredictionState.QUEUED
    endpoint.cursor = 0
    endpoint.attempts = 0
    endpoint.next_try_at = now
    endpoint.items_sent = endpoint.predictions_stored = endpoint.predictions_refused = 0
    endpoint.refusals = []
    endpoint.last_error = ""
    endpoint.run_started_at = now
    endpoint.run_finished_at = None
    endpoint.updated_at = now


def _send_after_commit(endpoint_id: int) -> None:
    transaction.on_commit(lambda: send(FETCH_TASK, endpoint_id))


@transaction.atomic
def prediction_endpoint_set(
    *, dataset_id: int, actor: User, url: Any, token: Any = None, batch_size: Any = None
) -> PredictionEndpoint:
    """Register (or replace) the dataset's prediction endpoint and start a run over its open
    items without a pre-label. Refused: someone who does not manage the DAO, a URL that is
    not http(s), carries credentials or reaches this platform's own network (unless the
    operator allows it), a token that is no header value, a batch size out of range, and no
    key-encryption key to seal a token with. Nothing is stored on a refusal."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, actor)
    url, token, batch = _clean_url(url), _clean_token(token), _clean_batch(batch_size)
    sealed = seal_text(token, _ring(), binding=_binding(dataset)) if token else ""
    endpoint = PredictionEndpoint.objects.select_for_update().filter(
        dataset_id=dataset.pk
    ).first() or PredictionEndpoint(dataset=dataset, created_by=actor)
    endpoint.url, endpoint.sealed_token, endpoint.batch_size = url, sealed, batch
    _run_restart(endpoint)
    endpoint.save()
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="labeling.prediction_endpoint_set",
        obj=dataset,
        details={"url": _shown(url), "token": bool(token), "batch_size": batch},
    )
    _send_after_commit(endpoint.pk)
    return endpoint


@transaction.atomic
def prediction_endpoint_remove(*, dataset_id: int, actor: User) -> bool:
    """Remove the dataset's prediction endpoint (its sealed token with it); the pre-labels it
    gave stay. False when there was none."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, actor)
    deleted, _ = PredictionEndpoint.objects.filter(dataset_id=dataset.pk).delete()
    if deleted:
        audit_record(
            actor=actor, dao=dataset.dao, verb="labeling.prediction_endpoint_removed", obj=dataset
        )
    return bool(deleted)


@transaction.atomic
def prediction_run_request(*, dataset_id: int, actor: User) -> PredictionEndpoint:
    """Start a new run (after items were added, or a failed run): every open item without a
    pre-label is asked about again. A run already under way is left as it is."""
    dataset = labeling_dataset(dataset_id)
    require_manager(dataset, actor)
    endpoint = PredictionEndpoint.objects.select_for_update().filter(dataset_id=dataset.pk).first()
    if endpoint is None:
        raise errors.Conflict(
            Detail("This dataset has no prediction endpoint: register one first.")
        )
    if endpoint.state not in (PredictionState.QUEUED, PredictionState.RUNNING):
        _run_restart(endpoint)
        endpoint.save()
        _send_after_commit(endpoint.pk)
    return endpoint


# --- the run, one batch per task ----------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    endpoint_id: int
    cursor: int
    url: str
    token: str = field(repr=False)
    body: bytes = field(repr=False)
    sent: set[int] = field(default_factory=set)
    last_id: int = 0
    token_error: str = ""  # why the sealed token did not open ("" when it did, or none)
    # The run this batch belongs to: a run restarted meanwhile (cursor back at 0) is another.
    run: datetime | None = None


def _open_token(endpoint: PredictionEndpoint) -> str:
    if not endpoint.sealed_token:
        return ""
    try:
        token, moved = open_text(
            endpoint.sealed_token, load_kek_ring(), binding=_binding(endpoint.dataset)
        )
    except (SealError, ImproperlyConfigured) as exc:
        raise egress.EgressRefused(f"the endpoint's token does not open: {exc}") from None
    if moved is not None:  # KEK rotation reaches the token at its next use (saved by the claim)
        endpoint.sealed_token = moved
    return token


@transaction.atomic
def prediction_batch_claim(*, endpoint_id: int) -> Batch | None:
    """The next batch of a run under way, held for ``TRY_LEASE``; None when there is no run,
    its try is not due (a duplicate message, or one sent early), or the run is over (every
    open item asked about: the run ends, idle)."""
    endpoint = (
        PredictionEndpoint.objects.select_for_update()
        .select_related("dataset__dao")
        .filter(pk=endpoint_id)
        .first()
    )
    now = timezone.now()
    if endpoint is None or endpoint.state not in (PredictionState.QUEUED, PredictionState.RUNNING):
        return None
    if endpoint.next_try_at > now + timedelta(seconds=1):
        return None
    items = list(
        LabelTask.objects.filter(
            dataset_id=endpoint.dataset_id,
            status=TaskStatus.OPEN,
            prediction__isnull=True,
            pk__gt=endpoint.cursor,
        )
        .order_by("pk")
        .values_list("pk", "kind", "payload")[: endpoint.batch_size]
    )
    if not items:
        endpoint.state = PredictionState.IDLE
        endpoint.run_finished_at = endpoint.updated_at = now
        endpoint.save()
        return None
    conf = labeling_settings(endpoint.dataset.schema)
    body = predict_wire.request_body(
        dataset_id=endpoint.dataset_id,
        task_type=conf.task_type,
        labels=conf.labels,
        multi=conf.multi_choice,
        items=[predict_wire.SentItem(pk, kind, payload) for pk, kind, payload in items],
    )
    token, token_error = "", ""
    try:
        token = _open_token(endpoint)
    except egress.EgressRefused as exc:
        token_error = str(exc)  # the run stops at ``prediction_batch_try``, naming it
    endpoint.state = PredictionState.RUNNING
    endpoint.next_try_at = now + TRY_LEASE
    endpoint.updated_at = now
    endpoint.save()
    return Batch(
        endpoint_id=endpoint.pk,
        cursor=endpoint.cursor,
        url=endpoint.url,
        token=token,
        body=body,
        sent={pk for pk, _, _ in items},
        last_id=items[-1][0],
        token_error=token_error,
        run=endpoint.run_started_at,
    )


def _current(endpoint: PredictionEndpoint | None, batch: Batch) -> bool:
    """Whether ``batch`` is still the run's next one (not stored by another execution, nor of
    a run restarted since)."""
    return (
        endpoint is not None
        and endpoint.state == PredictionState.RUNNING
        and endpoint.cursor == batch.cursor
        and endpoint.run_started_at == batch.run
    )


@transaction.atomic
def prediction_batch_store(
    *, batch: Batch, predictions: list[ImportedPrediction], bad: list[str]
) -> bool:
    """Store a batch's answers and move the run on, in one transaction, then send the next
    batch. False (nothing stored) when the run has moved on already: another execution of
    the same batch stored it. An item that got a pre-label meanwhile (an import) keeps it."""
    endpoint = (
        PredictionEndpoint.objects.select_for_update()
        .select_related("dataset")
        .filter(pk=batch.endpoint_id)
        .first()
    )
    if not _current(endpoint, batch):
        return False
    conf = labeling_settings(endpoint.dataset.schema)
    wanted = {p.task_id for p in predictions}
    tasks = {
        t.pk: t
        for t in LabelTask.objects.filter(
            pk__in=wanted, dataset_id=endpoint.dataset_id, prediction__isnull=True
        ).only("id", "payload")
    }
    found = [(tasks[p.task_id], p) for p in predictions if p.task_id in tasks]
    bad = list(bad)
    changed = predictions_store(conf, found, bad, where=lambda p: f"item {p.task_id}")
    now = timezone.now()
    endpoint.cursor = batch.last_id
    endpoint.attempts = 0
    endpoint.next_try_at = now
    endpoint.items_sent += len(batch.sent)
    endpoint.predictions_stored += len(changed)
    endpoint.predictions_refused += len(bad)
    endpoint.refusals = (endpoint.refusals + bad)[:MAX_REFUSALS]
    endpoint.last_error = ""
    endpoint.updated_at = now
    endpoint.save()
    _send_after_commit(endpoint.pk)
    return True


def retry_delays() -> list[int]:
    return [int(d) for d in settings.PREDICTIONS_RETRY_DELAYS]


@transaction.atomic
def prediction_batch_fail(*, batch: Batch, error: str, final: bool = False) -> str:
    """Record a failed try of a batch: "retry" (the next try sent after its delay) or
    "failed" (retries used up, or ``final``: the run stops with ``error``). "stale" when the
    run has moved on already."""
    endpoint = PredictionEndpoint.objects.select_for_update().filter(pk=batch.endpoint_id).first()
    if not _current(endpoint, batch):
        return "stale"
    now = timezone.now()
    delays = retry_delays()
    endpoint.attempts += 1
    endpoint.last_error = error[:500]
    endpoint.updated_at = now
    if final or endpoint.attempts > len(delays):
        endpoint.state = PredictionState.FAILED
        endpoint.run_finished_at = now
        endpoint.save()
        logger.warning("prediction endpoint %s failed: %s", endpoint.pk, error)
        return "failed"
    delay = min(MAX_COUNTDOWN_SECONDS, delays[endpoint.attempts - 1])
    endpoint.next_try_at = now + timedelta(seconds=delay)
    endpoint.save()
    transaction.on_commit(lambda: send(FETCH_TASK, endpoint.pk, countdown=delay))
    return "retry"


def prediction_batch_try(*, endpoint_id: int) -> str:
    """One batch of a run: claim, ask the model server, store or record the failure. What the
    task runs; returns what happened ("idle", "stored", "retry", "failed", "stale")."""
    batch = prediction_batch_claim(endpoint_id=endpoint_id)
    if batch is None:
        return "idle"
    if batch.token_error:
        return prediction_batch_fail(batch=batch, error=batch.token_error, final=True)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if batch.token:
        headers["Authorization"] = f"Bearer {batch.token}"
    started = time.monotonic()
    try:
        answer = egress.post(
            batch.url,
            batch.body,
            headers,
            policy=egress_policy(),
            timeout=TIMEOUT,
            max_body=predict_wire.MAX_ANSWER_BYTES,
        )
    except egress.EgressRefused as exc:
        return prediction_batch_fail(batch=batch, error=f"refused: {exc}", final=True)
    except egress.HTTPError as exc:
        took = time.monotonic() - started
        return prediction_batch_fail(
            batch=batch, error=f"no answer after {took:.1f} s: {type(exc).__name__}: {exc}"
        )
    if not 200 <= answer.status < 300:
        return prediction_batch_fail(
            batch=batch, error=f"answered {answer.status}: {answer.excerpt[:300]}"
        )
    if answer.truncated:
        return prediction_batch_fail(
            batch=batch,
            error=f"the answer is over {predict_wire.MAX_ANSWER_BYTES} bytes: lower batch_size",
            final=True,
        )
    try:
        predictions, bad = predict_wire.parse_answer(answer.body, batch.sent)
    except predict_wire.BadAnswer as exc:
        return prediction_batch_fail(batch=batch, error=str(exc))
    stored = prediction_batch_store(batch=batch, predictions=predictions, bad=bad)
    return "stored" if stored else "stale"
