"""Reads for contributions: bounded and scoped to what the user may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils.functional import cached_property

from contributions import sealed, tally
from contributions.export import TabularSource
from contributions.models import Contribution, Release, SealedPin, Status
from contributions.services import contribution_stored_open, upload_key
from datadao import blobs
from datadao.models import MANAGER_ROLES, Dataset, Membership, User, Visibility
from datadao.paging import Page, PageRequest, keyset_page
from ipfs import access
from ipfs.cid import Cid
from ipfs.unseal import Unopenable


def dataset_for_user(*, dataset_id: int, user: User | None) -> Dataset | None:
    """The dataset if this user may see it (``dataset_visible_to``), else None: members-only
    datasets stay invisible to others, answered as ones that do not exist, so their existence
    does not leak."""
    dataset = Dataset.objects.select_related("dao").filter(pk=dataset_id).first()
    return dataset if dataset is not None and dataset_visible_to(user, dataset) else None


def dataset_for_upload(*, dataset_id: int, user: User | None) -> Dataset | None:
    """The dataset an upload names, if this user may see it; refusals about membership come
    later, with a message."""
    return dataset_for_user(dataset_id=dataset_id, user=user)


def dataset_visible_to(user: User | None, dataset: Dataset) -> bool:
    """The one visibility rule: public datasets for everyone, members-only ones for the DAO's
    members and superusers."""
    if dataset.visibility == Visibility.PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists()


def status_counts(dataset_ids: list[int]) -> dict[str, int]:
    """Contributions of these datasets per status: from the tallies, exact, no row scan."""
    return {row.key[0]: row.n for row in tally.tally(dataset_ids, by=("status",))}


def pinned_counts(dataset_ids: list[int]) -> dict[int, int]:
    """Pinned contributions per dataset, from the tallies."""
    rows = tally.tally(dataset_ids, by=("dataset_id",), statuses=[Status.PINNED])
    return {row.key[0]: row.n for row in rows}


def contributor_counts(contributor_id: int) -> dict[tuple[int, str], int]:
    """A contributor's contributions per (dataset id, status), from the tallies."""
    return tally.contributor_counts(contributor_id)


def counted(
    counts: dict[tuple[int, str], int], *, dataset_id: int | None, status: str | None
) -> int:
    """How many of ``contributor_counts`` match the filters (None or "": any)."""
    return sum(
        n
        for (row_dataset, row_status), n in counts.items()
        if dataset_id in (None, row_dataset) and status in (None, "", row_status)
    )


class CountedPaginator(Paginator):
    """A paginator told its count (from the tallies) instead of counting the rows."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def contributions_of(
    *, user: User, dataset_id: int | None, status: str | None, offset: int, limit: int
) -> tuple[list[Contribution], int]:
    queryset = Contribution.objects.filter(contributor=user)
    if dataset_id is not None:
        queryset = queryset.filter(dataset_id=dataset_id)
    if status:
        queryset = queryset.filter(status=status)
    # The total from the tallies: no count of the contributor's rows on every page.
    total = counted(contributor_counts(user.pk), dataset_id=dataset_id, status=status)
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


# --- releases -------------------------------------------------------------------------------------


def releases_of(dataset: Dataset) -> QuerySet[Release]:
    """A dataset's releases, newest first."""
    return (
        Release.objects.filter(dataset=dataset)
        .select_related("created_by")
        .order_by("-version")
        .defer("manifest")
    )


def release_by_cid(cid: str, *, manifest: bool = True) -> Release | None:
    """The release whose manifest has this CID (either spelling of a CIDv1/v0), unscoped;
    without its manifest (``release_manifest_parts`` reads parts of it) unless ``manifest``."""
    try:
        canonical = str(Cid.parse(cid))
    except ValueError:
        return None
    releases = Release.objects.select_related("dataset__dao", "created_by")
    if not manifest:
        releases = releases.defer("manifest")
    return releases.filter(cid__in={cid, canonical}).first()


def release_manifest_parts(*, release: Release, keys: Iterable[str]) -> dict[str, Any]:
    """These top-level keys of the release's manifest (those it lacks are left out), read in
    the database: a manifest lists every contribution, megabytes at a million."""
    names = list(keys)
    row = Release.objects.filter(pk=release.pk).values(
        **{f"part_{i}": F(f"manifest__{name}") for i, name in enumerate(names)}
    )[0]
    return {name: row[f"part_{i}"] for i, name in enumerate(names) if row[f"part_{i}"] is not None}


def release_page(*, dataset: Dataset, page: PageRequest) -> Page[Release]:
    """One keyset page of a dataset's releases, newest version first (the manifests left
    unread). The caller has checked that the user may see the dataset (``dataset_for_user``)."""
    rows = Release.objects.filter(dataset=dataset).defer("manifest")
    return keyset_page(rows, key="version", request=page)


def release_for_user(*, cid: str, user: User | None, manifest: bool = True) -> Release | None:
    """The release if ``user`` may see its dataset: a public dataset's releases are public,
    a members-only dataset's are for members (and superusers) and for those a grant covers
    (``ipfs.access``). None otherwise, exactly as for a CID that is not a release, so
    members-only releases do not leak."""
    release = release_by_cid(cid, manifest=manifest)
    if release is None:
        return None
    if dataset_visible_to(user, release.dataset):
        return release
    # Whoever else /ipfs/<cid> lets read the manifest (a grantee, through the policies other
    # apps register) may see the release and download it.
    if user is not None and user.is_authenticated:
        label = f"release:{release.dataset}@v{release.version}"
        return release if access.may_read(user, label) else None
    return None


# Contributions are fetched in batches of ids so the IN lists stay small.
_SOURCE_BATCH = 5000


def tabular_source(
    contribution: Contribution, *, dao_id: str, contributor: str | None = None
) -> TabularSource:
    """What the export code reads of one tabular contribution; a sealed file's data key is
    unwrapped here (``dao_id``: its DAO's ``onchain_id``)."""
    tabular = contribution.report.get("validation", {}).get("tabular", {})
    return TabularSource(
        path=blobs.Blob(upload_key(contribution)),
        media_type=contribution.media_type,
        contribution=contribution.pk,
        contributor=contribution.contributor.address if contributor is None else contributor,
        delimiter=tabular.get("delimiter"),
        key=(
            sealed.data_key(contribution.sealed_key, dao_id=dao_id)
            if contribution.sealed_key
            else None
        ),
        scratch=str(sealed.private_dir()) if contribution.sealed_key else None,
    )


def release_tabular_sources(release: Release) -> list[TabularSource]:
    """The release's tabular files, in manifest order, with the delimiter validation found."""
    ids = [entry["id"] for entry in release.manifest.get("contributions", [])]
    sources: list[TabularSource] = []
    for start in range(0, len(ids), _SOURCE_BATCH):
        rows = (
            # A withdrawn contribution's file is gone: an older release's download leaves it out.
            Contribution.objects.filter(
                pk__in=ids[start : start + _SOURCE_BATCH], withdrawn_at=None
            )
            .select_related("contributor")
            .only(
                "pk", "storage_name", "sealed_key", "media_type", "report", "contributor__address"
            )
            .order_by("pk")
        )
        for contribution in rows:
            sources.append(tabular_source(contribution, dao_id=release.dataset.dao.onchain_id))
    return sources


def _may_read_dataset(user: User, dataset: Dataset | None) -> bool:
    # A pin whose dataset is gone has nothing left to protect.
    return dataset is None or dataset_visible_to(user, dataset)


def may_read_contribution_pin(user: User, contribution_id: str) -> bool:
    """Pinned bytes of a members-only dataset's contribution: members only."""
    contribution = (
        Contribution.objects.select_related("dataset").filter(pk=int(contribution_id)).first()
        if contribution_id.isdigit()
        else None
    )
    return _may_read_dataset(user, contribution.dataset if contribution else None)


def may_read_release_pin(user: User, rest: str) -> bool:
    """A release manifest (label ``release:<dao>/<dataset>@v<n>``): as its dataset."""
    path = rest.rsplit("@v", 1)[0]
    dao_slug, _, dataset_slug = path.partition("/")
    dataset = Dataset.objects.filter(dao__slug=dao_slug, slug=dataset_slug).first()
    return _may_read_dataset(user, dataset)


def unseal_contribution_pin(contribution_id: str, cid: str, stored: IO[bytes]) -> IO[bytes]:
    """A contribution's pinned bytes as its reader receives them: a sealed file's plaintext."""
    row = (
        Contribution.objects.filter(pk=int(contribution_id), cid=cid)
        .values_list("sealed_key", "dataset__dao__onchain_id")
        .first()
        if contribution_id.isdigit()
        else None
    )
    return _unsealed(stored, row)


def unseal_release_pin(_: str, cid: str, stored: IO[bytes]) -> IO[bytes]:
    """A release manifest, or a file pinned with it (settled labels), as its reader receives
    it: a members-only one's plaintext."""
    row = Release.objects.filter(cid=cid).values_list("sealed_key", "dataset__dao__onchain_id")
    return _unsealed(stored, row.first() or _sealed_pin_row(cid))


def unseal_sealed_pin(_: str, cid: str, stored: IO[bytes]) -> IO[bytes]:
    """Content an app pinned for a members-only dataset (``services.sealed_pins``), opened."""
    return _unsealed(stored, _sealed_pin_row(cid))


def _sealed_pin_row(cid: str) -> tuple[str, str] | None:
    return (
        SealedPin.objects.filter(cid=cid)
        .values_list("sealed_key", "dataset__dao__onchain_id")
        .first()
    )


def _unsealed(stored: IO[bytes], row: tuple[str, str] | None) -> IO[bytes]:
    if row is None or not row[0]:
        return stored
    sealed_key, dao_id = row
    try:
        with stored:
            return sealed.unsealed_file(stored, sealed_key, dao_id=dao_id)
    except sealed.Unreadable as exc:
        raise Unopenable(str(exc)) from None


# --- the dataset's card on its DAO's page (``datadao.cards``) ------------------------------------


def card_with_latest_release(datasets: QuerySet[Any]) -> QuerySet[Any]:
    """Each listed dataset's latest release: ``latest_cid``, ``latest_version``."""
    latest = Release.objects.filter(dataset=OuterRef("pk")).order_by("-version")
    return datasets.annotate(
        latest_cid=Subquery(latest.values("cid")[:1]),
        latest_version=Subquery(latest.values("version")[:1]),
    )


def card_fill_pinned(datasets: list[Any]) -> None:
    """Each listed dataset's pinned contributions (``pinned``), from the tallies."""
    pinned = pinned_counts([dataset.pk for dataset in datasets])
    for dataset in datasets:
        dataset.pinned = pinned.get(dataset.pk, 0)


# --- previews for the console's review page -----------------------------------------------------


# Raster images only: an SVG is a document that can carry script, so it is never previewed.
PREVIEW_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_TYPES = frozenset({"application/json", "application/x-ndjson", "application/jsonl"})
EXCERPT_BYTES = 4096


def contribution_preview_kind(contribution: Contribution) -> str:
    """How the console previews a contribution's file: "image", "text" or "" (none)."""
    media_type = (contribution.media_type or "").split(";")[0].strip().lower()
    if media_type in PREVIEW_IMAGE_TYPES:
        return "image"
    if media_type.startswith("text/") or media_type in TEXT_TYPES:
        return "text"
    return ""


def contribution_excerpt(contribution: Contribution, limit: int = EXCERPT_BYTES) -> str | None:
    """The first ``limit`` bytes of the stored file as text (undecodable bytes replaced), or
    None when the file is not stored on this server."""
    try:
        with contribution_stored_open(contribution) as stream:
            head = sealed.read_head(
                stream,
                contribution.sealed_key,
                dao_id=contribution.dataset.dao.onchain_id if contribution.sealed_key else "",
                size=limit + 1,
            )
    except (FileNotFoundError, sealed.Unreadable, blobs.StoreUnavailable):
        return None
    text = head[:limit].decode("utf-8", errors="replace")
    return text + ("\n…" if len(head) > limit else "")


def release_query_table(release: Release) -> Any:
    """The release's rows as an Arrow table for aggregate queries, the provenance columns
    (contribution, contributor) left out: a query is over the data, never over who sent it."""
    import tempfile

    import pyarrow.parquet as pq

    from contributions.export import provenance_names, write_parquet

    sources = release_tabular_sources(release)
    columns = release.manifest["dataset"]["schema"]["columns"]
    with tempfile.TemporaryFile(dir=sealed.private_dir()) as handle:
        write_parquet(sources, columns, handle)
        handle.seek(0)
        table = pq.read_table(handle)
    return table.drop_columns(list(provenance_names(columns)))


def withdrawn_cids(cids: list[str]) -> set[str]:
    """Of ``cids``, those held only by contributions whose consent was withdrawn."""
    gone = set(
        Contribution.objects.filter(cid__in=cids, withdrawn_at__isnull=False).values_list(
            "cid", flat=True
        )
    )
    kept = set(
        Contribution.objects.filter(cid__in=gone, withdrawn_at=None).values_list("cid", flat=True)
    )
    return gone - kept
