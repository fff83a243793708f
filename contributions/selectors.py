"""Reads for contributions: bounded and scoped to what the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from contributions.models import Contribution
from datadao.models import MANAGER_ROLES, Dataset, Membership, User, Visibility


def dataset_for_upload(*, dataset_id: int, user: User | None) -> Dataset | None:
    """The dataset if this user may see it (members-only datasets stay invisible to others,
    so their existence does not leak); refusals about membership come later, with a message."""
    dataset = Dataset.objects.select_related("dao").filter(pk=dataset_id).first()
    if dataset is None:
        return None
    if dataset.visibility == Visibility.PUBLIC:
        return dataset
    if user is not None and Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists():
        return dataset
    return None


def contributions_of(
    *, user: User, dataset_id: int | None, status: str | None, offset: int, limit: int
) -> tuple[list[Contribution], int]:
    queryset = Contribution.objects.filter(contributor=user)
    if dataset_id is not None:
        queryset = queryset.filter(dataset_id=dataset_id)
    if status:
        queryset = queryset.filter(status=status)
    total = queryset.count()
    items = list(
        queryset.select_related("contributor", "proof").order_by("-created_at", "-id")[
            offset : offset + limit
        ]
    )
    return items, total


def contribution_for_user(*, contribution_id: int, user: User) -> Contribution:
    """The contribution if ``user`` made it or manages its DAO; else PermissionDenied."""
    contribution = (
        Contribution.objects.select_related("contributor", "dataset", "proof")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None:
        raise PermissionDenied
    if contribution.contributor_id == user.pk or user.is_superuser:
        return contribution
    manages = Membership.objects.filter(
        dao_id=contribution.dataset.dao_id, user=user, role__in=MANAGER_ROLES
    ).exists()
    if not manages:
        raise PermissionDenied
    return contribution
