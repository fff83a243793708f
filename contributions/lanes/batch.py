"""The batch lane's slow work: validate, score, attest and pin a claimed batch of small
contributions, then record every result at once (``services.batch``).

Each contribution gets exactly what the express lane would do to it, in the same order
(``pipeline.score``, ``pipeline.proof``, the backend's ``add``). Scoring sees the database as
of the claim plus what this batch accepted before it (``BatchLookups``): the uniqueness and
near-duplicate decisions are those of processing the batch one contribution after another.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError

from contributions import messages, near, pipeline, scoring, services
from contributions.decide import VALIDATOR_VERSION, scores_outcome
from contributions.models import Contribution
from contributions.near import Nearest
from contributions.quorum.selectors import validator_set_current
from contributions.services import claims
from contributions.services.batch import Claim, Outcome
from contributions.validation import validate_file
from datadao.dbcursor import binary_cursor
from datadao.dispatch import send
from datadao.keys import load_signer
from ipfs.backends.base import IpfsUnavailable
from ipfs.conf import get_backend

logger = logging.getLogger(__name__)


class BatchLookups(pipeline.Lookups):
    """Scoring's lookups for a batch: the database once per question, plus what the batch
    accepted so far (newest first, as the database's answers are ordered)."""

    def __init__(self, claim: Claim) -> None:
        super().__init__()
        self._rows: dict[int, set[bytes]] = {}  # dataset -> digests known
        # (dataset, field) -> what the batch accepted so far, newest first
        self._prints: dict[tuple[int, str], list[tuple[int, Any]]] = {}
        # (dataset, field) -> the newest fingerprint the batch's searches cover
        self._horizons: dict[tuple[int, str], int] = {}

    def prefetch_rows(self, dataset_id: int, digests: list[bytes]) -> None:
        """One query for the digests of every tabular contribution of the batch."""
        known = self._rows.setdefault(dataset_id, set())
        for start in range(0, len(digests), 20_000):
            chunk = digests[start : start + 20_000]
            with binary_cursor() as cursor:
                cursor.execute(
                    "SELECT digest FROM contributions_rowhash "  # noqa: S608 (ours)
                    f"WHERE dataset_id = %s AND digest = ANY({claims.DIGESTS_ARRAY_SQL})",
                    [dataset_id, claims.digests_packed(chunk), len(chunk)],
                )
                known.update(bytes(row[0]) for row in cursor.fetchall())

    def rows_known(self, dataset_id: int, digests: list[bytes]) -> set[bytes]:
        known = self._rows.get(dataset_id)
        if known is None:
            return super().rows_known(dataset_id, digests)
        return {d for d in digests if d in known}

    def nearest_image(self, contribution: Contribution, phash: int, threshold: int) -> Nearest:
        found = self._database(contribution, "phash", phash, threshold)
        mine = self._mine(contribution, "phash")
        if mine:
            index, distance = scoring.nearest_hamming(
                phash, np.array([v for _, v in mine], dtype=np.int64)
            )
            if distance <= found.distance:  # a tie: the batch's is the newer
                return replace(found, contribution_id=mine[index][0], distance=distance)
        return found

    def nearest_text(
        self, contribution: Contribution, signature: bytes, threshold: float
    ) -> Nearest:
        found = self._database(contribution, "minhash", signature, threshold)
        mine = self._mine(contribution, "minhash")
        if mine:
            index, similarity = scoring.nearest_jaccard(signature, [bytes(v) for _, v in mine])
            if similarity >= found.similarity:
                return replace(found, contribution_id=mine[index][0], similarity=similarity)
        return found

    def _database(
        self, contribution: Contribution, field: str, value: Any, threshold: Any
    ) -> Nearest:
        """The database's answer, its index grown once per batch: every contribution of the
        batch is compared with the dataset as of that moment (its horizon)."""
        key = (contribution.dataset_id, field)
        search = near.image_nearest if field == "phash" else near.text_nearest
        found = search(
            contribution.dataset_id,
            value,
            exclude=contribution.pk,
            threshold=threshold,
            refresh=key not in self._horizons,
        )
        horizon = self._horizons.setdefault(key, found.horizon)
        return replace(found, horizon=horizon)

    def _mine(self, contribution: Contribution, field: str) -> list[tuple[int, Any]]:
        """What the batch accepted before ``contribution`` (newest first)."""
        key = (contribution.dataset_id, field)
        return [(pk, v) for pk, v in self._prints.get(key, []) if pk != contribution.pk]

    def accepted(self, contribution: Contribution, scored: pipeline.Scored) -> None:
        """What later contributions of the batch must see as already in the dataset."""
        if scored.row_digests:
            self._rows.setdefault(contribution.dataset_id, set()).update(scored.row_digests)
        for field, value in (scored.fingerprint or {}).items():
            self._prints.setdefault((contribution.dataset_id, field), []).insert(
                0, (contribution.pk, value)
            )


# The database going away (a restart, a lost connection): a worker retries, nothing is lost.
DATABASE_ERRORS = (OperationalError, InterfaceError)


def run_batch(first_id: int | None) -> str | None:
    """Claim a batch led by ``first_id`` (None: the oldest waiting) and take it through every
    stage; None when ``first_id`` is not batchable (the express lane takes it) or nothing
    waits. A full batch first sends for the next one, so other workers share a backlog."""
    claim = services.contribution_claim_batch(first_id=first_id)
    if claim is None:
        return None
    if claim.full:
        send(messages.BATCH_TASK)
    return run_claim(claim)


class DatabaseLost(Exception):
    """The database went away under a batch; ``claim`` is what its retry takes up again."""

    def __init__(self, claim: Claim, error: Exception) -> None:
        super().__init__(str(error))
        self.claim = claim
        self.error = error


def run_claim(claim: Claim) -> str:
    """Work on a claimed batch and record it. The database going away raises
    ``DatabaseLost`` (the claim stays leased: the task's retry takes it up again); anything
    else gives the contributions back to the express lane at once, then propagates."""
    try:
        signer = load_signer("validator")
        outcomes = work(claim, signer)
        recorded = services.contribution_record_batch(claim=claim, outcomes=outcomes)
    except DATABASE_ERRORS as exc:
        raise DatabaseLost(claim, exc) from exc
    except BaseException:
        try:
            services.contribution_release_batch(claim=claim)
        except Exception:
            logger.exception("could not release a batch; its lease will lapse")
        raise
    return f"batch of {len(recorded)}"


def work(claim: Claim, signer: Any) -> list[Outcome]:
    """The slow work on every claimed contribution, in claim order; writes nothing but the
    validation sidecars and the pinned bytes."""
    lookups = BatchLookups(claim)
    pin = settings.PIPELINE_EXPRESS_PIN
    outcomes = [Outcome(contribution=c) for c in claim.contributions]
    for outcome in outcomes:
        _validate(outcome)
    tabular: dict[int, list[bytes]] = {}
    for outcome in outcomes:
        c = outcome.contribution
        valid = outcome.validation is not None and outcome.validation.accepted
        if valid and c.dataset.kind == "tabular":
            tabular.setdefault(c.dataset_id, []).extend(services.contribution_row_digests(c))
    for dataset_id, digests in tabular.items():
        lookups.prefetch_rows(dataset_id, sorted(set(digests)))
    # The DAOs whose own validator sets attest (contributions.quorum): not the fleet key.
    dao_ids = {o.contribution.dataset.dao_id for o in outcomes}
    by_validators = {d for d in dao_ids if validator_set_current(dao_id=d) is not None}
    for outcome in outcomes:
        outcome.by_validators = outcome.contribution.dataset.dao_id in by_validators
        if outcome.error is not None or not outcome.validation.accepted:  # type: ignore[union-attr]
            continue
        try:
            pin = _score_attest_pin(outcome, lookups, signer, pin=pin)
        except Exception as exc:
            logger.exception("batch: contribution %s", outcome.contribution.pk)
            outcome.error = f"{type(exc).__name__}: {exc}"
    return outcomes


def _validate(outcome: Outcome) -> None:
    c = outcome.contribution
    try:
        with (
            services.contribution_plaintext(c) as path,
            services.rows_sidecar_writing(c) as sidecar,
        ):
            outcome.validation = validate_file(
                path, kind=c.dataset.kind, schema=c.dataset.schema, row_digest_path=sidecar
            )
    except Exception as exc:
        logger.exception("batch: validating contribution %s", c.pk)
        outcome.error = f"{type(exc).__name__}: {exc}"
        return
    c.report = {**c.report, "validation": outcome.validation.report}
    c.media_type = outcome.validation.media_type or ""


def _score_attest_pin(outcome: Outcome, lookups: BatchLookups, signer: Any, *, pin: bool) -> bool:
    """Score, and when accepted attest and (``pin``) pin; returns whether to keep pinning in
    this batch (not after the backend was found unreachable)."""
    c = outcome.contribution
    scored = pipeline.score(c, lookups)
    outcome.scored = scored
    if not scores_outcome(c, **scored.outcome_args()).accepted:
        return pin
    for name in ("authenticity", "ownership", "quality", "uniqueness", "score"):
        setattr(c, name, scored.scores[name])
    c.validator_version = VALIDATOR_VERSION
    with services.contribution_stored(c) as path:
        outcome.cid = pipeline.local_cid(path)
        if outcome.by_validators:
            lookups.accepted(c, scored)
            return pin
        outcome.typed_data, outcome.signature = pipeline.proof(c, outcome.cid, signer)
        outcome.signer = signer.address
        if pin:
            try:
                with path.open("rb") as stream:
                    outcome.pinned_cid = get_backend().add(stream, cid_version=1, pin=True)
            except IpfsUnavailable as exc:
                logger.warning("batch: IPFS unreachable, the pin task takes over: %s", exc)
                pin = False
    lookups.accepted(c, scored)
    return pin
