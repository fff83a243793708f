"""Who may label what: the checks every labeling service starts with."""

from __future__ import annotations

from datadao.models import MANAGER_ROLES, Dataset, DatasetKind, DatasetStatus, Membership, User
from labeling import errors
from labeling.models import LabelerStats


def labeling_dataset(dataset_id: int) -> Dataset:
    dataset = (
        Dataset.objects.select_related("dao")
        .filter(pk=dataset_id, kind=DatasetKind.LABELING)
        .first()
    )
    if dataset is None:
        raise errors.NotFound(f"There is no labeling dataset {dataset_id}.")
    return dataset


def require_labeler(dataset: Dataset, user: User, *, for_work: bool) -> None:
    """Refuse a closed dataset, a non-member and (for new work) a paused labeler."""
    if not Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists():
        raise errors.NotAllowed(f"Only members of {dataset.dao.name} can label its data.")
    if dataset.status != DatasetStatus.OPEN:
        raise errors.Conflict(f"The dataset '{dataset.name}' is not open for labeling.")
    if for_work:
        stats = LabelerStats.objects.filter(dataset=dataset, labeler=user).first()
        if stats is not None and stats.paused_at is not None:
            raise errors.Paused(f"You are paused on this dataset: {stats.paused_reason}")


def require_manager(dataset: Dataset, user: User) -> None:
    if user.is_superuser:
        return
    if not Membership.objects.filter(
        dao_id=dataset.dao_id, user=user, role__in=MANAGER_ROLES
    ).exists():
        raise errors.NotAllowed(f"Only the creator or an admin of {dataset.dao.name} may do this.")
