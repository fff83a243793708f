"""Reads about validator sets and their attestations."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery

from contributions.models import (
    Contribution,
    Status,
    ValidatorAttestation,
    ValidatorDisagreement,
    ValidatorSet,
    ValidatorSetMember,
)

# The most contributions one listing hands a validator.
MAX_WORK_ITEMS = 50


@dataclass(frozen=True)
class CurrentSet:
    """A DAO's validator set in force: its version row, members and threshold."""

    validator_set: ValidatorSet
    members: frozenset[str]

    @property
    def threshold(self) -> int:
        return self.validator_set.threshold


def validator_set_latest(*, dao_id: int) -> ValidatorSet | None:
    """The DAO's latest validator set version, empty or not; None when it never had one."""
    return ValidatorSet.objects.filter(dao_id=dao_id).order_by("-version").first()


def validator_set_current(*, dao_id: int) -> CurrentSet | None:
    """The validator set that attests the DAO's contributions, or None when the platform's
    fleet key does (no set registered, or the latest version is empty)."""
    latest = validator_set_latest(dao_id=dao_id)
    if latest is None or latest.threshold == 0:
        return None
    members = frozenset(latest.members.values_list("address", flat=True))
    return CurrentSet(validator_set=latest, members=members)


def attestation_progress(*, contribution: Contribution) -> dict[str, int] | None:
    """How far the DAO's validators are with a contribution waiting for them (or held): the
    set version it waits for, its threshold k, its n members and how many attested. None for
    a contribution in another status, or when the fleet key attests the DAO's again."""
    if contribution.status not in (Status.ATTESTING, Status.HELD):
        return None
    current = validator_set_current(dao_id=contribution.dataset.dao_id)
    if current is None:
        return None
    return {
        "version": current.validator_set.version,
        "threshold": current.threshold,
        "members": len(current.members),
        "attested": ValidatorAttestation.objects.filter(contribution=contribution).count(),
    }


def validator_dao_ids(*, address: str) -> list[int]:
    """The DAOs whose current (latest, non-empty) validator set lists ``address``."""
    latest_versions = (
        ValidatorSet.objects.filter(dao_id=OuterRef("validator_set__dao_id"))
        .order_by("-version")
        .values("pk")[:1]
    )
    return sorted(
        set(
            ValidatorSetMember.objects.filter(
                address__iexact=address,
                validator_set__threshold__gt=0,
                validator_set_id=Subquery(latest_versions),
            ).values_list("validator_set__dao_id", flat=True)
        )
    )


def contributions_awaiting(*, address: str, limit: int = MAX_WORK_ITEMS) -> QuerySet[Contribution]:
    """Contributions waiting for ``address``'s attestation: in ``attesting``, in a DAO whose
    current set lists it, not attested by it yet; oldest first."""
    mine = ValidatorAttestation.objects.filter(
        contribution_id=OuterRef("pk"), validator__iexact=address
    )
    return (
        Contribution.objects.filter(
            status=Status.ATTESTING,
            dataset__dao_id__in=validator_dao_ids(address=address),
            withdrawn_at=None,
        )
        .exclude(Exists(mine))
        .select_related("dataset__dao", "contributor")
        .order_by("status_changed_at", "pk")[:limit]
    )


def disagreement_counts(*, dao_id: int) -> dict[str, int]:
    """How often each validator of the DAO was out of line, by address."""
    rows = (
        ValidatorDisagreement.objects.filter(dao_id=dao_id)
        .values("validator")
        .annotate(n=Count("pk"))
        .values_list("validator", "n")
    )
    return dict(rows)


def attestations_of(*, contribution_id: int) -> QuerySet[ValidatorAttestation]:
    return ValidatorAttestation.objects.filter(contribution_id=contribution_id).order_by(
        "validator"
    )
