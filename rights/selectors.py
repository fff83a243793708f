"""Reads for data rights: which grant covers a read, what a consumer may use, the read log.

Every check of a grant reads its row: a revoked or expired grant stops working at the next
request, with nothing cached anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Count, QuerySet
from django.utils import timezone

from contributions.models import Contribution, Release
from datadao.models import MANAGER_ROLES, Dataset, Membership, User, Visibility
from rights.models import AccessGrant, DatasetOffer, Purchase, ReadEvent, Scope

# The read log is shown a page at a time; a page is at most this long.
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Target:
    """What a pin label names, as far as rights care: its DAO and dataset, and either the
    contribution or the release it is."""

    dao_id: int
    dataset_id: int
    visibility: str
    cid: str
    contribution_id: int | None = None
    release_id: int | None = None


def contribution_target(rest: str) -> Target | None:
    """The target of a ``contribution:<id>`` label, or None where there is no such row."""
    if not rest.isascii() or not rest.isdigit():
        return None
    row = (
        Contribution.objects.filter(pk=int(rest))
        .values("pk", "cid", "dataset_id", "dataset__dao_id", "dataset__visibility")
        .first()
    )
    if row is None:
        return None
    return Target(
        dao_id=row["dataset__dao_id"],
        dataset_id=row["dataset_id"],
        visibility=row["dataset__visibility"],
        cid=row["cid"],
        contribution_id=row["pk"],
    )


def release_target(rest: str) -> Target | None:
    """The target of a ``release:<dao>/<dataset>@v<n>`` label, or None."""
    path, _, version = rest.rpartition("@v")
    dao_slug, _, dataset_slug = path.partition("/")
    if not version.isascii() or not version.isdigit() or len(version) > 9:
        return None
    row = (
        Release.objects.filter(
            dataset__dao__slug=dao_slug, dataset__slug=dataset_slug, version=int(version)
        )
        .values("pk", "cid", "dataset_id", "dataset__dao_id", "dataset__visibility")
        .first()
    )
    if row is None:
        return None
    return Target(
        dao_id=row["dataset__dao_id"],
        dataset_id=row["dataset_id"],
        visibility=row["dataset__visibility"],
        cid=row["cid"],
        release_id=row["pk"],
    )


def label_target(label: str) -> Target | None:
    if label.startswith("contribution:"):
        return contribution_target(label[len("contribution:") :])
    if label.startswith("release:"):
        return release_target(label[len("release:") :])
    return None


def active_grants(*, address: str, scope: str | None = None) -> QuerySet[AccessGrant]:
    """Grants of ``address`` that work now: not revoked, not expired."""
    grants = AccessGrant.objects.filter(
        grantee=address, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return grants if scope is None else grants.filter(scope=scope)


def grant_covering(*, user: Any, target: Target, scope: str = Scope.DOWNLOAD) -> AccessGrant | None:
    """The user's working grant of ``scope`` that covers ``target``: a grant of its dataset,
    or of a release that is the target or lists the target contribution. One query (two when
    a release grant must be matched against its manifest)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    grants = active_grants(address=user.address, scope=scope).filter(dataset_id=target.dataset_id)
    for grant in grants.order_by("expires_at", "pk"):
        if grant.release_id is None or grant.release_id == target.release_id:
            return grant
        if target.contribution_id is not None and target.cid:
            manifest = Release.objects.filter(pk=grant.release_id).values("manifest").first()
            listed = (manifest or {}).get("manifest", {}).get("contributions", [])
            if any(entry.get("cid") == target.cid for entry in listed):
                return grant
    return None


def grant_allows_contribution_pin(user: Any, rest: str) -> bool:
    """``/ipfs/<cid>`` policy: a contribution's bytes for a grantee with a download grant."""
    if user is None or not user.is_authenticated:
        return False
    target = contribution_target(rest)
    return target is not None and grant_covering(user=user, target=target) is not None


def grant_allows_release_pin(user: Any, rest: str) -> bool:
    """``/ipfs/<cid>`` policy: a release manifest for a grantee with a download grant."""
    if user is None or not user.is_authenticated:
        return False
    target = release_target(rest)
    return target is not None and grant_covering(user=user, target=target) is not None


def query_policy(user: Any, release: Release) -> str | None:
    """``contributions.query_access`` policy: a working grant of the release's dataset, or of
    this release, lets its grantee run aggregate queries on it. A download grant includes the
    query scope (its holder could compute any aggregate from the files); a query grant never
    includes download (``grant_covering`` asks for download)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    grant = (
        active_grants(address=user.address)
        .filter(dataset_id=release.dataset_id)
        .filter(models.Q(release__isnull=True) | models.Q(release_id=release.pk))
        .order_by("expires_at", "pk")
        .first()
    )
    return f"grant:{grant.pk}" if grant is not None else None


def is_manager(*, user: Any, dao_id: int) -> bool:
    """Creator or admin of the DAO (or a superuser): who manages its grants and sales."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, dao_id=dao_id, role__in=MANAGER_ROLES).exists()


def is_manager_address(*, address: str, dao_id: int) -> bool:
    """Whether the wallet ``address`` is a creator or admin of the DAO (a grant's signer)."""
    return Membership.objects.filter(
        user__address=address, dao_id=dao_id, role__in=MANAGER_ROLES
    ).exists()


# --- what a consumer may use ---------------------------------------------------------------


def grants_of(*, user: User) -> list[AccessGrant]:
    """Every grant naming the user's wallet, newest first (bounded)."""
    return list(
        AccessGrant.objects.filter(grantee=user.address)
        .select_related("dao", "dataset", "release")
        .order_by("-created_at", "-pk")[:200]
    )


def purchases_of(*, user: User) -> list[Purchase]:
    return list(
        Purchase.objects.filter(consumer=user)
        .select_related("dataset__dao", "grant")
        .order_by("-created_at", "-pk")[:200]
    )


def offers_for_sale() -> list[DatasetOffer]:
    """Datasets a consumer can buy: members-only datasets with a price."""
    return list(
        DatasetOffer.objects.filter(dataset__visibility=Visibility.MEMBERS)
        .select_related("dataset__dao")
        .order_by("dataset__dao__name", "dataset__name")[:200]
    )


def grant_status(grant: AccessGrant) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at <= timezone.now():
        return "expired"
    return "active"


# --- a DAO's view ---------------------------------------------------------------------------


def dao_grants(*, dao_id: int) -> list[AccessGrant]:
    return list(
        AccessGrant.objects.filter(dao_id=dao_id)
        .select_related("dataset", "release")
        .order_by("-created_at", "-pk")[:200]
    )


def dao_purchases(*, dao_id: int) -> list[Purchase]:
    return list(
        Purchase.objects.filter(dataset__dao_id=dao_id)
        .select_related("dataset", "consumer", "grant")
        .order_by("-created_at", "-pk")[:200]
    )


def dao_offers(*, dao_id: int) -> list[DatasetOffer]:
    return list(DatasetOffer.objects.filter(dataset__dao_id=dao_id).select_related("dataset"))


def dao_datasets(*, dao_id: int) -> list[Dataset]:
    return list(Dataset.objects.filter(dao_id=dao_id).order_by("name"))


def dao_reads(*, dao_id: int, offset: int, limit: int) -> tuple[list[ReadEvent], int]:
    """A page of the DAO's read log, newest first, and the total (index ``dao, -created_at``)."""
    reads = ReadEvent.objects.filter(dao_id=dao_id)
    page = list(
        reads.select_related("reader", "dataset", "contribution", "release", "grant").order_by(
            "-created_at", "-pk"
        )[offset : offset + limit]
    )
    return page, reads.count()


def contributor_read_counts(*, user: User) -> list[dict[str, Any]]:
    """How often each of the user's contributions was read, and by how many readers, most
    read first (contributions never read are left out)."""
    rows = (
        ReadEvent.objects.filter(contribution__contributor=user)
        .values("contribution_id", "cid", "dataset__name", "dataset__dao__name")
        .annotate(reads=Count("pk"), readers=Count("reader", distinct=True))
        .order_by("-reads", "contribution_id")[:500]
    )
    return [
        {
            "contribution": row["contribution_id"],
            "cid": row["cid"],
            "dataset": row["dataset__name"],
            "dao": row["dataset__dao__name"],
            "reads": row["reads"],
            "readers": row["readers"],
        }
        for row in rows
    ]


# Releases whose reads a contributor's page weighs against its manifest, most recent first:
# each manifest is read whole, so the page stays bounded.
MAX_RELEASES_SHOWN = 50


def contributor_release_reads(*, user: User) -> list[dict[str, Any]]:
    """Reads of releases (manifest and downloads) that list some of the user's contributions:
    per release, how many of theirs it lists, its reads and readers. A release download
    carries every contribution it lists, so each such read used the contributor's data."""
    datasets = Contribution.objects.filter(contributor=user).values("dataset_id")
    rows = list(
        ReadEvent.objects.filter(release__isnull=False, dataset_id__in=datasets)
        .values("release_id")
        .annotate(reads=Count("pk"), readers=Count("reader", distinct=True))
        .order_by("-release_id")[:MAX_RELEASES_SHOWN]
    )
    releases = Release.objects.select_related("dataset__dao").in_bulk(
        [row["release_id"] for row in rows]
    )
    results = []
    for row in rows:
        release = releases[row["release_id"]]
        listed = release.manifest.get("contributions") or []
        yours = sum(1 for entry in listed if entry.get("contributor") == user.address)
        if yours:
            results.append(
                {
                    "release": release.cid,
                    "version": release.version,
                    "dataset": release.dataset.name,
                    "dao": release.dataset.dao.name,
                    "yours": yours,
                    "reads": row["reads"],
                    "readers": row["readers"],
                }
            )
    return results
