"""Reads of disputes: who sees which challenges, what is stuck, what credits wait."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from datadao.models import DAO, User
from disputes.models import UNRESOLVED, Challenge, ChallengeStatus
from labeling.models import Label

MAX_LISTED = 200


def _base() -> QuerySet[Challenge]:
    return Challenge.objects.select_related(
        "dao", "dataset", "challenger", "resolved_by", "contribution", "label_task"
    )


def challenges_visible(*, user: User, dao: DAO) -> QuerySet[Challenge]:
    """A DAO's challenges, newest first: all of them to its members (and superusers); to
    anyone else signed in, those they filed and those of their own work."""
    challenges = _base().filter(dao=dao)
    if user.is_superuser or dao.memberships.filter(user=user).exists():
        return challenges
    return challenges.filter(
        Q(challenger=user) | Q(contribution__contributor=user) | Q(label_task__labels__labeler=user)
    ).distinct()


def challenge_visible(*, user: User, challenge_id: int) -> Challenge | None:
    challenge = _base().filter(pk=challenge_id).first()
    if challenge is None:
        return None
    if challenges_visible(user=user, dao=challenge.dao).filter(pk=challenge_id).exists():
        return challenge
    return None


def challenges_stuck(cutoff: datetime, limit: int) -> list[int]:
    """Open challenges whose replay has not moved since ``cutoff`` (a lost message)."""
    return list(
        Challenge.objects.filter(status=ChallengeStatus.OPEN, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )


def held_sources(dao_id: int) -> Iterable[tuple[str, str]]:
    """The credit sources under an unresolved challenge in ``dao_id`` (``rewards.holds``)."""
    open_ = Challenge.objects.filter(dao_id=dao_id, status__in=UNRESOLVED)
    for pk in open_.filter(contribution__isnull=False).values_list("contribution_id", flat=True):
        yield ("contributions.contribution", str(pk))
    tasks = open_.filter(label_task__isnull=False).values_list("label_task_id", flat=True)
    for pk in Label.objects.filter(task_id__in=tasks).values_list("pk", flat=True):
        yield ("labeling.label", str(pk))
