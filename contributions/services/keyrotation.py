"""Key rotation: re-wrap every sealed data key under the current key-encryption key.

Rotating a KEK means putting a new one first in the ring (``manage.py kek_keystore rotate``,
or ``DATA_KEK``), keeping the old ones so existing keys still open, and running this sweep.
Only the wrapped keys change; the sealed files, their CIDs and every signed proof stay as they
are. When the sweep is done and reports no failures, the old KEK can leave the ring.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from contributions import sealed
from contributions.models import Contribution, KeyRotation, Release, SealedPin
from datadao.sealing import SealError, WrappedKey, rewrap

logger = logging.getLogger(__name__)

BATCH = 500
# Every model holding sealed keys, in the order a sweep walks them.
PHASES = (("contributions", Contribution), ("releases", Release), ("sealed pins", SealedPin))


def _sealed_count() -> int:
    return sum(model.objects.exclude(sealed_key="").count() for _, model in PHASES)


def key_rotation_start() -> tuple[KeyRotation, bool]:
    """The running rotation, or a new one toward the ring's current KEK; and whether it is new.
    Raises ``sealed.SealingUnavailable`` when no KEK is configured."""
    current = sealed.ring().current.kek_id
    running = KeyRotation.objects.filter(state=KeyRotation.State.RUNNING).first()
    if running is not None:
        return running, False
    try:
        with transaction.atomic():
            rotation = KeyRotation.objects.create(kek_id=current, total=_sealed_count())
    except IntegrityError:  # another start won the race (one running at a time)
        return KeyRotation.objects.get(state=KeyRotation.State.RUNNING), False
    return rotation, True


@transaction.atomic
def key_rotation_step(*, rotation_id: int, batch: int = BATCH) -> KeyRotation | None:
    """Re-wrap the next ``batch`` sealed keys and record the progress; None when the rotation
    is gone or done. Idempotent: a key already under the current KEK is left as it is."""
    rotation = (
        KeyRotation.objects.select_for_update()
        .filter(pk=rotation_id, state=KeyRotation.State.RUNNING)
        .first()
    )
    if rotation is None:
        return None
    ring = sealed.ring()
    if ring.current.kek_id != rotation.kek_id:
        # A KEK put first while the sweep ran: start over toward it, so that "done" means
        # every key is under the current KEK.
        rotation.kek_id = ring.current.kek_id
        rotation.phase, rotation.after = PHASES[0][0], 0
    model: type[Model] = dict(PHASES)[rotation.phase]
    rows = list(
        model.objects.select_for_update(of=("self",))
        .filter(pk__gt=rotation.after)
        .exclude(sealed_key="")
        .select_related("dataset__dao")
        .order_by("pk")[:batch]
    )
    changed = []
    for row in rows:
        dao_id = row.dataset.dao.onchain_id
        try:
            wrapped = WrappedKey.from_text(row.sealed_key)
            moved = rewrap(wrapped, ring, dao=dao_id)
        except SealError as exc:
            # Counted and logged (never the key); the sweep goes on and reports it.
            rotation.failed += 1
            logger.error("key rotation: %s %s: %s", rotation.phase, row.pk, exc)
            continue
        if moved is wrapped:
            rotation.already_current += 1
        else:
            row.sealed_key = moved.to_text()
            changed.append(row)
            rotation.rewrapped += 1
    if changed:
        model.objects.bulk_update(changed, ["sealed_key"])
    phases = [name for name, _ in PHASES]
    if len(rows) == batch:
        rotation.after = rows[-1].pk
    elif rotation.phase != phases[-1]:
        rotation.phase, rotation.after = phases[phases.index(rotation.phase) + 1], 0
    else:
        rotation.state = KeyRotation.State.DONE
        rotation.finished_at = timezone.now()
    rotation.updated_at = timezone.now()
    rotation.save()
    return rotation


def key_rotations_stuck(cutoff: object, limit: int) -> list[int]:
    """Running rotations untouched since ``cutoff``, for the sweeper."""
    return list(
        KeyRotation.objects.filter(state=KeyRotation.State.RUNNING, updated_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
