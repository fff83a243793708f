"""Replicas of pins: made after the first copy, checked by retrieving their blocks, repaired
from a healthy copy.

A pin's first copy is on the configured backend (``IPFS_BACKEND``), where content is added; a
contribution counts as pinned there. A DAO with a replication factor N > 1 wants N - 1 more
copies, on the first ``IPFS_REPLICAS`` targets: ``replicate_pin`` (a task, sent on commit)
makes them, the sweeper re-sends it for pins still short, and the pin audit re-checks every
copy and refills any that went missing from one that is still whole. Copies are never
removed here, only when the content itself is unpinned (``pin_unpin_everywhere``).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Least
from django.utils import timezone

from datadao.dispatch import send, send_on_commit
from ipfs import targets as t
from ipfs.backends import dag
from ipfs.backends.base import IpfsCorrupt, IpfsError, IpfsNotFound, IpfsUnavailable
from ipfs.cid import Cid
from ipfs.conf import get_targets
from ipfs.models import Pin, PinReplica, PinStatus, ReplicaStatus
from ipfs.targets import Check, Target

logger = logging.getLogger(__name__)

REPLICATE_TASK = "ipfs.tasks.replicate_pin"


def pins_replicate_later(pins: list[Pin]) -> None:
    """Send ``replicate_pin`` on commit for each pin wanting more than one copy."""
    for pin in pins:
        if pin.replication > 1:
            send_on_commit(REPLICATE_TASK, pin.cid, pin.replication)


# --- which copies a pin has and wants -------------------------------------------------------


def _rows(pin: Pin, targets: list[Target]) -> list[PinReplica]:
    """The pin's replica rows on configured targets, adding pending rows for the next targets
    in ``IPFS_REPLICAS`` order while it has fewer than its replication factor asks."""
    names = [target.name for target in targets[1:]]
    rows = [row for row in pin.replicas.all() if row.target in names]
    have = {row.target for row in rows}
    wanted = min(pin.replication, len(targets)) - 1
    new = [PinReplica(pin=pin, target=name) for name in names if name not in have]
    new = new[: max(0, wanted - len(rows))]
    if new:
        # A racing replicate task or audit may add the same rows: one each, whoever wins.
        PinReplica.objects.bulk_create(new, ignore_conflicts=True)
        rows = list(PinReplica.objects.filter(pin=pin, target__in=names))
    return rows


def pins_short_of_replicas(cutoff: datetime, limit: int) -> list[int]:
    """Pins (ids) with fewer good or pinning replicas than their factor asks, and nothing
    tried on them since ``cutoff``: what the sweeper sends ``replicate_pin`` for again."""
    try:
        names = [target.name for target in get_targets()[1:]]
    except ImproperlyConfigured as exc:  # the system check says so at start; other sweeps go on
        logger.error("replica sweep skipped: %s", exc)
        return []
    if not names:
        return []
    counted = Q(replicas__target__in=names)
    return list(
        Pin.objects.filter(replication__gt=1, created_at__lt=cutoff)
        .annotate(
            good=Count(
                "replicas",
                filter=counted & Q(replicas__status__in=[ReplicaStatus.OK, ReplicaStatus.PINNING]),
            ),
            tried=Max("replicas__changed_at", filter=counted),
        )
        .filter(good__lt=Least(F("replication"), len(names) + 1) - 1)
        .filter(Q(tried__isnull=True) | Q(tried__lt=cutoff))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def pin_replicate_again(pin_id: int) -> None:
    """The sweeper's dispatch: ``replicate_pin`` for a pin found short of replicas."""
    row = Pin.objects.filter(pk=pin_id).values_list("cid", "replication").first()
    if row is not None:
        send(REPLICATE_TASK, *row)


# --- filling copies from a healthy one ------------------------------------------------------


class _Car:
    """A CAR of one DAG, exported once from the first source that has all of it and opened
    again for each copy it fills."""

    def __init__(self, cid: str, sources: list[Target]) -> None:
        self.cid = cid
        self.sources = sources
        self.source = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None

    def open(self) -> BinaryIO:
        if self._path is None:
            self._path = self._export()
        return self._path.open("rb")

    def _export(self) -> Path:
        root = Cid.parse(self.cid)
        self._dir = tempfile.TemporaryDirectory(prefix="replica-")
        path = Path(self._dir.name) / "dag.car"
        problems = []
        for source in self.sources:
            try:
                with path.open("wb") as out:
                    dag.export_car(root, source.get_block, out)
            except (IpfsNotFound, IpfsCorrupt, IpfsUnavailable) as exc:
                problems.append(f"{source.name}: {exc}")
                continue
            self.source = source.name
            return path
        raise IpfsNotFound(f"no replica of {self.cid} is whole: " + "; ".join(problems))

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


@dataclass
class FillOutcome:
    states: dict[str, Check] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    source: str = ""


def _origins(sources: list[Target]) -> list[str]:
    found: list[str] = []
    for source in sources:
        try:
            found.extend(source.origins())
        except IpfsError as exc:  # a hint only: the provider can still find the content
            logger.info("no origins from %s: %s", source.name, exc)
    return found


def _fill(pin: Pin, todo: list[Target], sources: list[Target]) -> FillOutcome:
    """Make each ``todo`` target hold the pin, from the first whole ``sources`` copy."""
    outcome = FillOutcome()
    car = _Car(pin.cid, sources)
    origins: list[str] | None = None
    try:
        for target in todo:
            if origins is None and target.kind == "psa":
                origins = _origins(sources)
            try:
                state = target.fill(pin.cid, car.open, origins=origins or [], label=pin.label)
                outcome.states[target.name] = Check(state)
            except IpfsUnavailable as exc:
                outcome.unavailable.append(target.name)
                outcome.states[target.name] = Check(t.MISSING, f"could not be made: {exc}")
                logger.warning("replica of %s on %s not made: %s", pin.cid, target.name, exc)
            except IpfsError as exc:
                outcome.states[target.name] = Check(t.MISSING, f"could not be made: {exc}")
                logger.error("replica of %s on %s not made: %s", pin.cid, target.name, exc)
        outcome.source = car.source
    finally:
        car.close()
    return outcome


def _save_row(row: PinReplica, check: Check, *, checked: bool) -> None:
    now = timezone.now()
    fields: dict[str, object] = {"status": check.state, "problem": check.problem}
    if checked:
        fields["last_checked_at"] = now
    if row.status != check.state or row.problem != check.problem:
        fields["changed_at"] = now
    PinReplica.objects.filter(pk=row.pk).update(**fields)


def pin_replicate(*, cid: str, replication: int) -> dict[str, object]:
    """Give the pin of ``cid`` at least ``replication`` copies: its factor is raised to that
    (never lowered) and each missing replica is filled from a whole copy, the backend's
    first. Idempotent: replicas already good are left alone, so a repeat does nothing.

    Returns what was done; ``unavailable`` names targets that could not be reached (the task
    retries for them). Raises nothing for a pin that is gone (unpinned meanwhile).
    """
    pin = Pin.objects.filter(cid=cid).first()
    if pin is None:
        return {"skipped": "no such pin"}
    if replication > pin.replication:
        Pin.objects.filter(pk=pin.pk, replication__lt=replication).update(replication=replication)
        pin.replication = replication
    targets = get_targets()
    by_name = {target.name: target for target in targets}
    rows = _rows(pin, targets)
    todo = [row for row in rows if row.status in (ReplicaStatus.PENDING, ReplicaStatus.MISSING)]
    if len(targets) < pin.replication:
        logger.error(
            "pin %s wants %s copies but only %s targets are configured (IPFS_REPLICAS)",
            cid,
            pin.replication,
            len(targets),
        )
    if not todo:
        return {"made": [], "pinning": [], "failed": {}, "unavailable": []}
    good = {row.target for row in rows if row.status == ReplicaStatus.OK}
    sources = [targets[0], *(target for target in targets[1:] if target.name in good)]
    try:
        outcome = _fill(pin, [by_name[row.target] for row in todo], sources)
    except IpfsNotFound as exc:
        # No whole copy anywhere: nothing to copy from. The audit flags the pin.
        logger.error("cannot replicate %s: %s", cid, exc)
        for row in todo:
            _save_row(row, Check(t.MISSING, str(exc)), checked=False)
        return {"made": [], "pinning": [], "failed": {"*": str(exc)}, "unavailable": []}
    for row in todo:
        _save_row(row, outcome.states[row.target], checked=False)
    states = outcome.states
    return {
        "made": [name for name, c in states.items() if c.state == t.OK],
        "pinning": [name for name, c in states.items() if c.state == t.PINNING],
        "failed": {name: c.problem for name, c in states.items() if c.state == t.MISSING},
        "unavailable": outcome.unavailable,
    }


# --- the audit, per pin ---------------------------------------------------------------------


@dataclass
class PinAudit:
    """What the audit of one pin found and did."""

    checked: bool = False
    missing: int = 0
    repaired: int = 0


def _check(target: Target, cid: str, down: set[str]) -> Check | None:
    """The target's verdict, or None when it cannot be reached (``down`` then holds it)."""
    try:
        return target.check(cid)
    except IpfsUnavailable as exc:
        logger.warning("pin audit: %s is unreachable: %s", target.name, exc)
    except (IpfsNotFound, IpfsCorrupt) as exc:
        return Check(t.MISSING, str(exc))
    except IpfsError as exc:
        # Refused rather than answered (a revoked token, a misconfigured endpoint): the
        # copy cannot be judged, which is not the same as lost.
        logger.error("pin audit: %s refused the check: %s", target.name, exc)
    down.add(target.name)
    return None


def pin_audit_copies(pin: Pin, targets: list[Target], down: set[str]) -> PinAudit:
    """Check every copy of ``pin`` by retrieving and hashing its blocks, refill the missing
    ones from a whole copy, and record each copy's state.

    Targets in ``down`` are skipped and left as they were: an outage is not a loss. A copy is
    only counted missing when its target answered that it lacks it (or served bad blocks).
    """
    audit = PinAudit()
    by_name = {target.name: target for target in targets}
    primary = targets[0]
    rows = _rows(pin, targets) if len(targets) > 1 else []
    copies: list[tuple[Target, PinReplica | None]] = [(primary, None)]
    copies += [(by_name[row.target], row) for row in rows]
    found: dict[str, Check] = {}
    for target, _row in copies:
        if target.name in down:
            continue
        check = _check(target, pin.cid, down)
        if check is not None:
            found[target.name] = check
    if not found:
        return audit
    audit.checked = True
    state = {name: check.state for name, check in found.items()}
    healthy = [target for target, _ in copies if state.get(target.name) == t.OK]
    broken = [target for target, _ in copies if state.get(target.name) == t.MISSING]
    was_pending = {row.target for row in rows if row.status == ReplicaStatus.PENDING}
    audit.missing = len([target for target in broken if target.name not in was_pending])
    for target in broken:
        logger.error(
            "pin audit: %s is missing or corrupt on %s: %s",
            pin.cid,
            target.name,
            found[target.name].problem,
        )
    final = dict(found)
    if broken and healthy:
        outcome = _fill(pin, broken, healthy)
        for target in broken:
            after = outcome.states[target.name]
            if after.state != t.MISSING:
                audit.repaired += 1
                logger.warning(
                    "pin audit: repaired %s on %s from %s", pin.cid, target.name, outcome.source
                )
                final[target.name] = after
            else:
                final[target.name] = Check(
                    t.MISSING, f"{found[target.name].problem}; repair failed: {after.problem}"
                )
    now = timezone.now()
    if primary.name in final:
        check = final[primary.name]
        Pin.objects.filter(pk=pin.pk).update(
            status=PinStatus.OK if check.state == t.OK else PinStatus.MISSING,
            problem=check.problem,
            last_checked_at=now,
        )
    else:
        # Only the replicas answered: the pin still moves to the back of the audit's queue.
        Pin.objects.filter(pk=pin.pk).update(last_checked_at=now)
    for target, row in copies:
        if row is not None and target.name in final:
            _save_row(row, final[target.name], checked=True)
    return audit


def pin_unpin_everywhere(*, cid: str) -> None:
    """Unpin ``cid`` from the backend and from every replica target holding a copy.

    Raises IpfsUnavailable when one cannot be reached (retry: unpinning is idempotent). A
    replica on a target no longer configured cannot be reached at all: logged, for the
    operator to remove by hand.
    """
    targets = get_targets()
    by_name = {target.name: target for target in targets}
    # Pending rows too: a fill may have landed before its row was updated.
    names = list(PinReplica.objects.filter(pin__cid=cid).values_list("target", flat=True))
    targets[0].unpin(cid)
    for name in names:
        target = by_name.get(name)
        if target is None:
            logger.error(
                "%s has a replica on %s, which is no longer in IPFS_REPLICAS: unpin it there",
                cid,
                name,
            )
            continue
        target.unpin(cid)
