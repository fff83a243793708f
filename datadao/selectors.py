"""Reads for DAOs, memberships and datasets. Every query here is bounded or paginated by callers."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from datadao.models import DAO, MANAGER_ROLES, Dataset, Membership, User, Visibility


def managed_dao_ids(*, user: User) -> set[int]:
    """IDs of the DAOs this user may manage in the console (creator or admin)."""
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, role__in=MANAGER_ROLES).values_list(
            "dao_id", flat=True
        )
    )


def user_has_console_access(*, user: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, role__in=MANAGER_ROLES).exists()


def dao_list(*, user: User | None = None) -> QuerySet[DAO]:
    """All DAOs with counts of their visible datasets and members, for the directory."""
    return DAO.objects.annotate(
        dataset_count=Count("datasets", distinct=True),
        member_count=Count("memberships", distinct=True),
    ).order_by("name")


def dataset_list_visible(*, dao: DAO, user: User) -> QuerySet[Dataset]:
    """Datasets of ``dao`` this user may see: public ones, and members-only ones for members."""
    datasets = Dataset.objects.filter(dao=dao)
    if user.is_authenticated and (
        user.is_superuser or Membership.objects.filter(dao=dao, user=user).exists()
    ):
        return datasets
    return datasets.filter(Q(visibility=Visibility.PUBLIC))
