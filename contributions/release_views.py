"""A release's page and downloads: the manifest, a CAR of everything, the merged data.

Thin: find the release the user may see, then stream. A release of a members-only dataset is
answered 404 to anyone else, exactly like a CID that is no release, so it does not leak.
Exports are streamed (CSV) or built in a temporary file and then streamed (Parquet, CAR), so
no export is ever held in memory. Refusals are ``{"error", "detail"}`` as in the JSON API.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_GET

from contributions import extras, selectors
from contributions.api import _user
from contributions.export import TabularSource, iter_csv, write_parquet
from contributions.models import Release
from contributions.sealed import private_dir
from datadao.blobs import StoreUnavailable
from datadao.errors import Detail
from datadao.http import json_error
from datadao.models import DatasetKind
from datadao.paging import page_request
from datadao.tokenscopes import TokenScope, token_scope
from ipfs.backends.base import IpfsCorrupt, IpfsNotFound, IpfsUnavailable
from ipfs.conf import get_backend
from ipfs.reads import record
from ipfs.services import content_open_verified
from ipfs.unseal import Unopenable

PARQUET_TYPE = "application/vnd.apache.parquet"
CAR_TYPE = "application/vnd.ipld.car"


def _release(request: HttpRequest, cid: str) -> Release | JsonResponse:
    release = selectors.release_for_user(cid=cid, user=_user(request))
    if release is None:
        return json_error(
            "not_found", Detail("There is no release %(cid)s you can see.", cid=cid[:80]), 404
        )
    return release


def _log_read(request: HttpRequest, release: Release) -> None:
    """Tell the read log (``ipfs.reads``) that this release is about to be downloaded, as
    ``/ipfs/<cid>`` does for its manifest; a log that cannot be written refuses (503)."""
    record(
        user=request.user, label=f"release:{release.dataset}@v{release.version}", cid=release.cid
    )


def _filename(release: Release, suffix: str) -> str:
    dataset = release.dataset
    return f"{dataset.dao.slug}-{dataset.slug}-v{release.version}{suffix}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _file(handle: IO[bytes], release: Release, suffix: str, content_type: str) -> HttpResponse:
    response = FileResponse(handle, content_type=content_type)
    return _attachment(response, _filename(release, suffix))


def _ipfs_error(exc: Exception) -> JsonResponse:
    if isinstance(exc, IpfsUnavailable):
        response = json_error(
            "ipfs_unavailable", Detail("The IPFS backend is unreachable; try again."), 503
        )
        response["Retry-After"] = "30"
        return response
    if isinstance(exc, IpfsNotFound):
        return json_error(
            "ipfs_missing", Detail("Content of this release is missing: %(exc)s", exc=exc), 502
        )
    return json_error(
        "ipfs_corrupt", Detail("Stored content does not match its CID: %(exc)s", exc=exc), 502
    )


def release_summary(release: Release) -> dict[str, Any]:
    """A release as a dataset's list shows it: its CID (the id every download takes), what
    it holds, and where its manifest and CAR are."""
    return {
        "cid": release.cid,
        "version": release.version,
        "created_at": release.created_at.isoformat(),
        "contributions": release.contributions_count,
        "bytes": release.total_bytes,
        "sealed": bool(release.sealed_key),
        "proofs_cid": release.proofs_cid or None,
        "manifest_url": f"/api/releases/{release.cid}/manifest.json",
        "car_url": f"/api/releases/{release.cid}/release.car",
    }


@token_scope(TokenScope.READ)
@require_GET
def dataset_releases(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """``GET /api/datasets/<id>/releases?after=&limit=``: the dataset's releases, newest
    version first, a keyset page at a time. A public dataset's are everyone's; a members-only
    dataset's are its DAO's members' (and superusers'), and to anyone else the dataset is
    answered 404 as one that does not exist."""
    dataset = selectors.dataset_for_user(dataset_id=dataset_id, user=_user(request))
    if dataset is None:
        return json_error(
            "not_found",
            Detail("There is no dataset %(dataset_id)s you can see.", dataset_id=dataset_id),
            404,
        )
    page = selectors.release_page(dataset=dataset, page=page_request(request.GET))
    return JsonResponse(
        {
            "dataset": dataset.pk,
            "releases": [release_summary(r) for r in page.items],
            "next": page.next,
        }
    )


@require_GET
def release_page(request: HttpRequest, cid: str) -> HttpResponse:
    """``/releases/<cid>/``: what the release holds and its download links."""
    # The manifest lists every contribution (and reading any key of it reads all of it): the
    # page shows the parts kept apart at publish, or, for a release without them, those keys.
    release = selectors.release_for_user(cid=cid, user=_user(request), manifest=False)
    if release is None:
        raise Http404("No such release.")
    shown = [extra for extra in extras.extras() if extra.release_template]
    parts = release.summary or selectors.release_manifest_parts(
        release=release, keys=["totals", "labels", *(extra.name for extra in shown)]
    )
    context = {
        "release": release,
        "dataset": release.dataset,
        "dao": release.dataset.dao,
        "totals": parts.get("totals") or {},
        "tabular": release.dataset.kind == DatasetKind.TABULAR,
        "labels": parts.get("labels") or {},
        # Only the extras this release lists (one made before an app published anything has
        # none), each rendered by its app's template.
        "extras": [
            {"template": extra.release_template, "entries": parts[extra.name]}
            for extra in shown
            if parts.get(extra.name)
        ],
    }
    return render(request, "contributions/release.html", context)


@token_scope(TokenScope.READ)
@require_GET
def release_manifest(request: HttpRequest, cid: str) -> HttpResponse:
    """``GET /api/releases/<cid>/manifest.json``: the pinned manifest, byte for byte, checked
    against its CID before it is sent."""
    release = _release(request, cid)
    if isinstance(release, HttpResponse):
        return release
    _log_read(request, release)
    try:
        handle = content_open_verified(cid=release.cid)
    except (IpfsUnavailable, IpfsNotFound, IpfsCorrupt) as exc:
        return _ipfs_error(exc)
    try:
        handle = selectors.unseal_release_pin("", release.cid, handle)
    except Unopenable as exc:
        return json_error(
            "unopenable",
            Detail("The stored manifest does not open (%(exc)s); it is not served.", exc=exc),
            502,
        )
    return _file(handle, release, "-manifest.json", "application/json")


@token_scope(TokenScope.READ)
@require_GET
def release_car(request: HttpRequest, cid: str) -> HttpResponse:
    """``GET /api/releases/<cid>/release.car``: a CARv1 whose roots are the manifest, every
    contribution and every file of the extras it lists (synthetic sets), holding all their
    blocks (``ipfs dag import`` it into any node)."""
    release = _release(request, cid)
    if isinstance(release, HttpResponse):
        return release
    export_car = getattr(get_backend(), "export_car", None)
    if export_car is None:
        return json_error(
            "not_implemented",
            Detail(
                "This server stores content on an IPFS node; export the "
                "release there with `ipfs dag export %(cid)s` and the same "
                "for each contribution CID listed in the manifest.",
                cid=release.cid,
            ),
            501,
        )
    listed = [entry["cid"] for entry in release.manifest.get("contributions", [])]
    # A withdrawn contribution's bytes are left out (its unpinned blocks may stay in the store
    # until they are collected).
    withdrawn = selectors.withdrawn_cids(listed)
    roots = [release.cid] + [cid for cid in listed if cid not in withdrawn]
    # What other apps published with it (synthetic sets: rows, model, report), each its roots.
    for extra in extras.extras():
        for entry in release.manifest.get(extra.name) or []:
            roots.extend(cid for cid in extra.entry_cids(entry) if cid not in roots)
    _log_read(request, release)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
    try:
        export_car(roots, handle)
    except (IpfsUnavailable, IpfsNotFound, IpfsCorrupt) as exc:
        handle.close()
        return _ipfs_error(exc)
    handle.seek(0)
    return _file(handle, release, ".car", CAR_TYPE)


def _tabular_sources(release: Release) -> list[TabularSource] | JsonResponse:
    dataset = release.dataset
    if dataset.kind != DatasetKind.TABULAR:
        return json_error(
            "not_tabular",
            Detail(
                "'%(name)s' is a %(kind)s dataset; merged CSV and Parquet "
                "exist only for tabular datasets. Download release.car for "
                "its files.",
                name=dataset.name,
                kind=dataset.kind,
            ),
            404,
        )
    sources = selectors.release_tabular_sources(release)
    try:
        missing = [source.contribution for source in sources if not source.path.exists()]
    except StoreUnavailable as exc:
        return json_error(
            "data_unavailable",
            Detail("The stored files cannot be read now: %(exc)s.", exc=exc),
            503,
        )
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        return json_error(
            "data_unavailable",
            Detail(
                "The stored files of contributions %(shown)s are not on this "
                "server; download release.car instead.",
                shown=shown,
            ),
            503,
        )
    return sources


@token_scope(TokenScope.READ)
@require_GET
def release_csv(request: HttpRequest, cid: str) -> HttpResponse:
    """``GET /api/releases/<cid>/data.csv``: every row of the release in one CSV, schema
    columns then ``_contribution`` and ``_contributor``; cells that a spreadsheet would run as
    formulas are prefixed with ``'``."""
    release = _release(request, cid)
    if isinstance(release, HttpResponse):
        return release
    sources = _tabular_sources(release)
    if isinstance(sources, HttpResponse):
        return sources
    columns = release.manifest["dataset"]["schema"]["columns"]
    _log_read(request, release)
    response = StreamingHttpResponse(
        iter_csv(sources, columns), content_type="text/csv; charset=utf-8"
    )
    return _attachment(response, _filename(release, ".csv"))


@token_scope(TokenScope.READ)
@require_GET
def release_parquet(request: HttpRequest, cid: str) -> HttpResponse:
    """``GET /api/releases/<cid>/data.parquet``: the same rows as data.csv, typed, as Parquet."""
    release = _release(request, cid)
    if isinstance(release, HttpResponse):
        return release
    sources = _tabular_sources(release)
    if isinstance(sources, HttpResponse):
        return sources
    columns = release.manifest["dataset"]["schema"]["columns"]
    _log_read(request, release)
    handle = tempfile.TemporaryFile(dir=private_dir())  # noqa: SIM115 - closed by the response
    try:
        write_parquet(
            sources,
            columns,
            handle,
            metadata={"datadao.release": release.cid, "datadao.version": str(release.version)},
        )
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return _file(handle, release, ".parquet", PARQUET_TYPE)
