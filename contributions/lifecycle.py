"""A contribution's life: the stage each status waits for, and moving it to a new status.

The one copy of the state machine. ``stage_of`` answers "what does this contribution wait
for?" for every caller: the stage guard (``services.common.lock_at``), the express lane's
next step, the recorder's next message, a console retry and the sweeper. ``move`` changes a
Contribution in memory and says which fields changed; writing them is the recorder's job
(``services.record.Recorder``), the same for every lane.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from contributions.models import Contribution, Status

STAGES = ("validate", "score", "attest", "pin")


def stage_of(contribution: Contribution) -> str | None:
    """The stage an active contribution waits for; None when it is final.

    ``validating`` covers two stages: validation not yet recorded (``validate``), or recorded
    and waiting for its scores (``score``): the stage lane records the validation report
    without changing the status, so a redelivery resumes at scoring."""
    if contribution.status == Status.RECEIVED:
        return "validate"
    if contribution.status == Status.VALIDATING:
        return "score" if "validation" in contribution.report else "validate"
    if contribution.status == Status.ACCEPTED:
        return "attest"
    if contribution.status == Status.PINNING:
        return "pin"
    return None


def move(contribution: Contribution, status: Status, **fields: Any) -> set[str]:
    """Move ``contribution`` to ``status`` in memory, with ``fields`` (a new stage: its
    delivery count starts over); returns the names of the model fields changed."""
    contribution.status = status
    contribution.status_changed_at = timezone.now()
    contribution.attempts = 0
    return {"status", "status_changed_at", "attempts", *set_fields(contribution, **fields)}


def set_fields(contribution: Contribution, **fields: Any) -> set[str]:
    """Set ``fields`` on ``contribution`` in memory; returns the model field names (a foreign
    key given as ``x_id`` is field ``x``)."""
    for key, value in fields.items():
        setattr(contribution, key, value)
    return {key.removesuffix("_id") for key in fields}
