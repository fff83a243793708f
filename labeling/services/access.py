"""Who may label what: the checks every labeling service starts with."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from datadao.errors import Detail
from datadao.models import (
    MANAGER_ROLES,
    Dataset,
    DatasetKind,
    DatasetStatus,
    Membership,
    Role,
    User,
)
from labeling import errors
from labeling.models import LabelerStats


def _first_labeling_dataset(dataset_id: int, query: QuerySet[Dataset] | None = None) -> Dataset:
    """The labeling dataset ``dataset_id`` from ``query`` (any dataset, with its DAO, by
    default), or NotFound."""
    base = query if query is not None else Dataset.objects.all()
    dataset = base.select_related("dao").filter(pk=dataset_id, kind=DatasetKind.LABELING).first()
    if dataset is None:
        raise errors.NotFound(
            Detail("There is no labeling dataset %(dataset_id)s.", dataset_id=dataset_id)
        )
    return dataset


def labeling_dataset(dataset_id: int) -> Dataset:
    return _first_labeling_dataset(dataset_id)


def labeler_dataset(dataset_id: int, labeler: User, *, for_work: bool) -> Dataset:
    """The labeling dataset, once ``labeler`` may work on it: refuses a missing dataset, a
    non-member, a closed dataset and (for new work) a paused labeler.

    One query, the dataset with the labeler's membership and pause as subqueries: every
    ``next`` and submit starts here, and three round trips were a third of ``next``.
    """
    dataset = _first_labeling_dataset(
        dataset_id,
        Dataset.objects.annotate(
            labeler_is_member=Exists(
                Membership.objects.filter(dao_id=OuterRef("dao_id"), user_id=labeler.pk)
            ),
            # NULL when not paused; the reason ("" at least) when paused.
            labeler_paused_reason=Subquery(
                LabelerStats.objects.filter(
                    dataset_id=OuterRef("pk"), labeler_id=labeler.pk, paused_at__isnull=False
                ).values("paused_reason")[:1]
            ),
        ),
    )
    if not dataset.labeler_is_member:
        raise errors.NotAllowed(
            Detail("Only members of %(name)s can label its data.", name=dataset.dao.name)
        )
    if dataset.status != DatasetStatus.OPEN:
        raise errors.Conflict(
            Detail("The dataset '%(name)s' is not open for labeling.", name=dataset.name)
        )
    if for_work and dataset.labeler_paused_reason is not None:
        raise errors.Paused(
            Detail(
                "You are paused on this dataset: %(labeler_paused_reason)s",
                labeler_paused_reason=dataset.labeler_paused_reason,
            )
        )
    return dataset


def is_manager(dataset: Dataset, user: User | None) -> bool:
    """Whether ``user`` is a superuser, or the creator or an admin of the dataset's DAO."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or (
        Membership.objects.filter(dao_id=dataset.dao_id, user=user, role__in=MANAGER_ROLES).exists()
    )


def require_manager(dataset: Dataset, user: User) -> None:
    if not is_manager(dataset, user):
        raise errors.NotAllowed(
            Detail("Only the creator or an admin of %(name)s may do this.", name=dataset.dao.name)
        )


# Who reviews settled items: the reviewer role and the DAO's managers.
REVIEW_ROLES = (Role.REVIEWER, *MANAGER_ROLES)


def is_reviewer(dataset: Dataset, user: User | None) -> bool:
    """Whether ``user`` may review the dataset's settled items: a superuser, or a reviewer,
    an admin or the creator of its DAO."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or (
        Membership.objects.filter(dao_id=dataset.dao_id, user=user, role__in=REVIEW_ROLES).exists()
    )


def require_reviewer(dataset: Dataset, user: User) -> None:
    if not is_reviewer(dataset, user):
        raise errors.NotAllowed(
            Detail(
                "Only reviewers, admins and the creator of %(name)s may review its labels.",
                name=dataset.dao.name,
            )
        )
