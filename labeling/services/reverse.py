"""An upheld challenge of a settled item (the disputes app): its settlement is reversed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from datadao.errors import Detail
from labeling.errors import Conflict, NotFound
from labeling.models import Label, LabelTask, TaskStatus


@transaction.atomic
def task_settlement_reverse(*, task_id: int) -> list[int]:
    """Reverse a settled item's settlement: its consensus is withdrawn (exports give it no
    answer, and no later consensus run gives it one) and it is not handed out again. Returns
    its labels' ids, whose credits the caller reverses. Refuses an item that is not settled
    or already reversed, under the item's row lock, so it is reversed once."""
    task = LabelTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise NotFound(Detail("There is no labeling item %(task_id)s.", task_id=task_id))
    if task.status != TaskStatus.COMPLETE or task.reversed_at is not None:
        raise Conflict(
            Detail(
                "Labeling item %(task_id)s is not a settled item, or is already reversed.",
                task_id=task_id,
            )
        )
    task.consensus = None
    task.posterior = None
    task.reversed_at = timezone.now()
    task.save(update_fields=["consensus", "posterior", "reversed_at"])
    return list(Label.objects.filter(task_id=task_id).order_by("pk").values_list("pk", flat=True))
