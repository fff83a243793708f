"""The recorder: the one code that writes a contribution's results, for every lane.

A lane (one task per stage, the express task, a batch) locks its contributions, then tells a
``Recorder`` what happened to each: validated, scored, attested, pinned, failed, or sent back
to be redone. The recorder moves each contribution in memory (``lifecycle.move``) and
collects every row that goes with the move: the signed proof, the fingerprint, the pin, the
reward credit, the kind's "on pinned" work (a labeling dataset's items), the audit events.
``write`` then writes them all: the contributions' changed columns, each table's rows in one
statement, and, after commit, the message for each contribution's next stage.

So a stage task records one contribution's one step, a batch records many contributions'
every step, and both write exactly the same rows: a field, a table or a side effect added
here is added for every lane (``tests/contributions/test_lanes_differential.py`` compares
the whole record across lanes).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from contributions import kinds, lifecycle, messages
from contributions.decide import Decision
from contributions.models import (
    Contribution,
    ContributionProof,
    Fingerprint,
    Status,
    ValidatorSet,
)
from contributions.nearindex import minhash_sketch
from contributions.services import common
from datadao import events, observe, requestid
from datadao.models import AuditEvent, User
from datadao.services import audit_event

logger = logging.getLogger(__name__)

# The clock's step: a proof recorded under a set version is dated at least this after it.
TICK = timedelta(microseconds=1)


def after(since: datetime | None) -> datetime:
    """Now, or just after ``since`` (a validator set version's start) if this host's clock
    is behind the one that dated it: a proof recorded under a version is never dated before
    the version took effect, so a release's reader can tell which version was in force
    (``datadao_verify``) however the fleet's clocks differ."""
    now = timezone.now()
    return now if since is None or now > since else since + TICK


class Recorder:
    """Collects the results of one or many locked contributions; ``write`` writes them.

    ``actor``: who made the change (a console action), recorded on the audit events; None
    for the pipeline. ``send_next``: whether ``write`` sends each contribution's next stage
    (the express lane runs the next stage itself and passes False)."""

    def __init__(self, *, actor: User | None = None, send_next: bool = True) -> None:
        self.actor = actor
        self.send_next = send_next
        self._changed: dict[int, tuple[Contribution, set[str]]] = {}
        self._proofs: list[ContributionProof] = []
        self._prints: list[Fingerprint] = []
        self._pins: list[Any] = []
        self._pinned: list[Contribution] = []
        self._events: list[AuditEvent] = []
        self._outbox: list[events.Event] = []
        # By DAO: whether its own set attests, and since when its latest version is in force.
        self._validator_sets: dict[int, tuple[bool, datetime | None]] = {}

    # --- what happened -------------------------------------------------------------------------

    def move(self, c: Contribution, status: Status, **fields: Any) -> None:
        """``c`` goes to ``status`` with ``fields`` (``lifecycle.move``); reaching pinned or
        rejected, however it got there, is an event the DAO may subscribe to."""
        self._touch(c, lifecycle.move(c, status, **fields))
        event_type = _EVENT_OF.get(status)
        if event_type is not None and events.subscribed(c.dataset.dao, event_type):
            self._outbox.append(events.Event(c.dataset.dao, event_type, _payload(c)))

    def change(self, c: Contribution, **fields: Any) -> None:
        """``c`` keeps its status; ``fields`` change."""
        self._touch(c, lifecycle.set_fields(c, **fields))

    def event(self, c: Contribution, verb: str, details: dict[str, Any]) -> None:
        self._events.append(
            audit_event(actor=self.actor, dao=c.dataset.dao, verb=verb, obj=c, details=details)
        )

    def validation(
        self, c: Contribution, *, accepted: bool, media_type: str, reasons: list[str], report: dict
    ) -> bool:
        """The validation result: rejected (final), or on to scoring (same status, the report
        recorded, a new stage's delivery count)."""
        report = {**c.report, "validation": report}
        if not accepted:
            self.move(c, Status.REJECTED, reasons=reasons, report=report, media_type=media_type)
            self.event(c, "contribution.rejected", {"reasons": reasons[:10], "stage": "validate"})
            return False
        self.change(
            c,
            report=report,
            media_type=media_type,
            reasons=reasons,
            attempts=0,
            status_changed_at=timezone.now(),
        )
        return True

    def scores(self, c: Contribution, decision: Decision, fingerprint: dict | None) -> bool:
        """The acceptance decision on ``c``'s scores; an accepted image or text leaves its
        fingerprint for the near-duplicate search of the contributions after it."""
        self.move(c, decision.status, **decision.fields)
        self.event(c, decision.verb, decision.details)
        if decision.accepted and fingerprint:
            sketch = (
                minhash_sketch(bytes(fingerprint["minhash"])) if "minhash" in fingerprint else None
            )
            self._prints.append(
                Fingerprint(contribution=c, dataset_id=c.dataset_id, sketch=sketch, **fingerprint)
            )
        return decision.accepted

    def attestation(
        self, c: Contribution, *, cid: str, typed_data: dict, signature: str, signer: str
    ) -> None:
        """The signed proof (one per contribution: a proof already there, from an overridden
        then re-accepted contribution, stays), then on to pinning. A DAO that registered a
        validator set since the lane chose the fleet key gets no fleet proof: the contribution
        waits for its validators."""
        if self._dao_has_validators(c.dataset.dao_id):
            self.awaiting_validators(c, cid=cid)
            return
        since = self._validator_sets[c.dataset.dao_id][1]
        self._proofs.append(
            ContributionProof(
                contribution=c,
                typed_data=typed_data,
                signature=signature,
                signer=signer,
                created_at=after(since),
            )
        )
        self.move(c, Status.PINNING, cid=cid)

    def _dao_has_validators(self, dao_id: int) -> bool:
        """Whether the DAO's own validator set attests its contributions (the rule of
        ``contributions.quorum.selectors.validator_set_current``: its latest version has a
        threshold), read under a key-share lock on the DAO's row. ``validator_set_change``
        locks that row for update, so a set change either committed before this read and is
        seen here, or waits until this transaction has committed the fleet's proof. Two
        statements, not one: the read must take its snapshot after the lock was granted."""
        if dao_id not in self._validator_sets:
            if connection.vendor == "postgresql":  # SQLite runs one writer at a time anyway
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT 1 FROM datadao_dao WHERE id = %s FOR KEY SHARE", [dao_id]
                    )
            threshold, since = (
                ValidatorSet.objects.filter(dao_id=dao_id)
                .order_by("-version")
                .values_list("threshold", "created_at")
                .first()
            ) or (0, None)
            self._validator_sets[dao_id] = (bool(threshold), since)
        return self._validator_sets[dao_id][0]

    def awaiting_validators(self, c: Contribution, *, cid: str) -> None:
        """The DAO's validator set attests ``c``, not the fleet key (``contributions.quorum``):
        it waits in ``attesting`` with the CID computed here, which its validators check."""
        self.move(c, Status.ATTESTING, cid=cid)
        self.event(c, "contribution.attesting", {"cid": cid})

    def quorum_attestation(
        self,
        c: Contribution,
        *,
        cid: str,
        scores: dict[str, int],
        typed_data: dict,
        attestations: list[dict[str, str]],
        validator_set: ValidatorSet,
    ) -> None:
        """k validators agree that ``c`` is accepted with ``scores``: the proof carries their
        signatures, the scores are the ones they signed, and ``c`` goes on to pinning."""
        self._proofs.append(
            ContributionProof(
                contribution=c,
                typed_data=typed_data,
                signature="",
                signer="",
                attestations=attestations,
                validator_set=validator_set,
                created_at=after(validator_set.created_at),
            )
        )
        self.move(c, Status.PINNING, cid=cid, **scores)
        self.event(
            c,
            "contribution.attested",
            {"validators": [a["validator"] for a in attestations], "scores": scores},
        )

    def pin(self, c: Contribution, *, cid: str) -> bool:
        """Pinned, if the backend's CID is the one computed locally and signed; else failed."""
        from ipfs.services import pin_row

        if cid != c.cid:
            self.failure(c, common.cid_mismatch(returned=cid, computed=c.cid))
            return False
        self._pins.append(
            pin_row(
                cid=cid,
                size=c.size,
                content_type=c.media_type or "application/octet-stream",
                label=f"contribution:{c.pk}",
                # Pinned now, on the first copy; the others are made after commit.
                replication=c.dataset.dao.replication_factor,
            )
        )
        self.move(c, Status.PINNED)
        self._pinned.append(c)
        self.event(c, "contribution.pinned", {"cid": cid})
        return True

    def failure(self, c: Contribution, reason: str) -> None:
        """Dead-lettered: failed at the stage it was at."""
        stage = c.status
        self.move(c, Status.FAILED, failure=reason)
        self.event(c, "contribution.failed", {"stage": stage, "reason": reason})
        logger.error("contribution %s failed at %s: %s", c.pk, stage, reason)

    def restart(self, c: Contribution) -> None:
        """Back to ``validating`` with no scores, to be redone from where its report says: a
        validation report already in it (``c.report``) is kept, so scoring is next."""
        scores = dict.fromkeys(
            ("authenticity", "ownership", "quality", "uniqueness", "score", "validator_version")
        )
        self.move(c, Status.VALIDATING, **scores, report=c.report, media_type=c.media_type)

    # --- writing -------------------------------------------------------------------------------

    def write(self) -> list[Contribution]:
        """Write everything collected, inside the caller's transaction; returns the
        contributions changed. Each table takes one statement, whatever the number of
        contributions; the next stages' messages go out on commit."""
        from ipfs.services import pins_record
        from rewards.services import reward_credit_contributions

        changed = [c for c, _ in self._changed.values()]
        _update(list(self._changed.values()))
        if self._proofs:
            ContributionProof.objects.bulk_create(self._proofs, ignore_conflicts=True)
        if self._prints:
            _number_fingerprints(self._prints)
            # INSERT ... ON CONFLICT DO NOTHING (a redone stage finds its fingerprint there).
            Fingerprint.objects.bulk_create(self._prints, ignore_conflicts=True)
        if self._pins:
            pins_record(self._pins)
        if self._pinned:
            reward_credit_contributions(contributions=self._pinned)
            received = [c.created_at for c in self._pinned]
            transaction.on_commit(lambda: observe.pinned(received))
            for c in self._pinned:
                on_pinned = kinds.hooks_for(c.dataset.kind).on_pinned
                if on_pinned is not None:
                    with common.contribution_plaintext(c) as path:
                        on_pinned(c, path)
        if self._events:
            AuditEvent.objects.bulk_create(self._events)
        if self._outbox:
            events.emit_many(self._outbox)
        for c in changed:
            # One line per contribution and step, under its upload's request id.
            with requestid.using(c.request_id):
                logger.info("contribution %s is %s", c.pk, c.status)
        if self.send_next:
            for c in changed:
                stage = lifecycle.stage_of(c)
                if stage is not None:
                    with requestid.using(c.request_id):
                        messages.send_stage(stage, c.pk, size=c.size)
        return changed

    def _touch(self, c: Contribution, names: set[str]) -> None:
        _, known = self._changed.setdefault(c.pk, (c, set()))
        known |= names


_EVENT_OF = {
    Status.PINNED: events.EventType.CONTRIBUTION_PINNED,
    Status.REJECTED: events.EventType.CONTRIBUTION_REJECTED,
}


def _payload(c: Contribution) -> dict[str, Any]:
    """What a webhook says about ``c``: ids, status, CID, size and score; never its content
    or the reasons (which may quote it)."""
    return {
        "contribution": {
            "id": c.pk,
            "dataset": {"id": c.dataset_id, "slug": c.dataset.slug},
            "status": str(c.status),
            "cid": c.cid or None,
            "size": c.size,
            "media_type": c.media_type or None,
            "score": c.score,
            "review": c.review or None,
        }
    }


def _update(changed: list[tuple[Contribution, set[str]]]) -> None:
    """Write the changed fields: a contribution alone with ``save(update_fields=...)``, many
    (PostgreSQL) in one ``UPDATE ... FROM unnest(...)`` over the union of their changed
    columns (the ORM's bulk_update builds a CASE per column and row, slower than the work)."""
    if not changed:
        return
    if len(changed) == 1 or connection.vendor != "postgresql":
        for c, names in changed:
            # Only what changed: the row carries the (possibly large) validation report.
            c.save(update_fields=sorted(names))
        return
    names = sorted(set().union(*(known for _, known in changed)))
    fields = [Contribution._meta.get_field(name) for name in names]
    types = [field.db_type(connection) for field in fields]
    sql = (
        "UPDATE contributions_contribution c SET "  # noqa: S608 (model column names only)
        + ", ".join(f"{f.column} = v.{f.column}::{t}" for f, t in zip(fields, types, strict=True))
        # JSON travels as text (a jsonb[] parameter would need every element adapted).
        + " FROM unnest(%s::bigint[], "
        + ", ".join(f"%s::{'text' if t == 'jsonb' else t}[]" for t in types)
        + ") AS v(id, "
        + ", ".join(f.column for f in fields)
        + ") WHERE c.id = v.id"
    )
    rows = [c for c, _ in changed]
    columns: list[list[Any]] = [[c.pk for c in rows]]
    for f, t in zip(fields, types, strict=True):
        values = [getattr(c, f.attname) for c in rows]
        columns.append([json.dumps(v) for v in values] if t == "jsonb" else values)
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)


def _number_fingerprints(prints: list[Fingerprint]) -> None:
    """Give new fingerprints the next numbers of their datasets (``Fingerprint.seq``). The
    caller holds the datasets' fingerprint lock (``claims.fingerprints_lock``), so numbers
    are taken and committed in order."""
    datasets = sorted({p.dataset_id for p in prints})
    top = dict(
        Fingerprint.objects.filter(dataset_id__in=datasets)
        .values("dataset_id")
        .annotate(top=Max("seq"))
        .values_list("dataset_id", "top")
    )
    for p in prints:
        top[p.dataset_id] = p.seq = (top.get(p.dataset_id) or 0) + 1
