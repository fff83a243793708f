"""Proof sheets for sealed releases published before releases had them.

A members-only release pins its public proof sheet (``release_proofs``) when it is
published. A release published before then has none, so nobody without a grant can check its
proofs and roots. ``release_proof_sheet_pin`` adds it: the sheet is the projection of the
manifest as pinned (opened from IPFS with the release's key, never rebuilt from the
database's copy), so it is exactly the sheet a publish would have pinned, and its CID is the
same whenever it is made. ``manage.py release_proof_sheets`` runs it over every such release.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from contributions import sealed
from contributions.models import Release
from contributions.release_proofs import proof_sheet, sheet_bytes
from datadao.models import User
from datadao.services import audit_record
from ipfs.services import content_add, content_open_verified


def releases_without_proof_sheet(*, dataset_id: int | None = None) -> QuerySet[Release]:
    """Sealed (members-only) releases with no proof sheet, oldest first; of one dataset when
    ``dataset_id`` is given."""
    releases = Release.objects.exclude(sealed_key="").filter(proofs_cid="")
    if dataset_id is not None:
        releases = releases.filter(dataset_id=dataset_id)
    return releases.select_related("dataset__dao").order_by("dataset_id", "version")


@dataclass(frozen=True)
class SheetPinned:
    """The release and whether this call pinned its sheet (False: it already had one)."""

    release: Release
    pinned: bool


def _pinned_manifest(release: Release) -> dict[str, Any]:
    """The release's manifest as pinned: fetched by its CID (re-hashed) and opened with its
    key. The sheet lists this plaintext's SHA-256, which a grantee checks."""
    with (
        content_open_verified(cid=release.cid) as stored,
        sealed.unsealed_file(
            stored, release.sealed_key, dao_id=release.dataset.dao.onchain_id
        ) as plain,
    ):
        return json.loads(plain.read())


@transaction.atomic
def release_proof_sheet_pin(*, release: Release, actor: User | None = None) -> SheetPinned:
    """Pin the public proof sheet of a sealed release that has none and record its CID on
    the release (audited). Idempotent: a release that has one is returned as it is, and the
    sheet's bytes depend on the pinned manifest only, so a second run could only pin the
    same CID. The release row is locked: two runs never pin twice.

    Refused (ValidationError) for a release that is not sealed: its manifest is public and is
    its own proof sheet. Raises ``IpfsUnavailable``/``IpfsNotFound``/``IpfsCorrupt`` when
    the manifest cannot be fetched and ``sealed.Unreadable`` when it does not open; nothing
    is recorded then."""
    release = (
        Release.objects.select_for_update(of=("self",))
        .select_related("dataset__dao")
        .get(pk=release.pk)
    )
    if not release.sealed_key:
        raise ValidationError(
            f"Release {release.cid} of {release.dataset} is not sealed: its manifest is "
            "public, so it needs no proof sheet."
        )
    if release.proofs_cid:
        return SheetPinned(release, False)
    manifest = _pinned_manifest(release)
    dataset = release.dataset
    pin = content_add(
        stream=io.BytesIO(sheet_bytes(proof_sheet(manifest, sealed_cid=release.cid))),
        label=f"release-proofs:{dataset}@v{release.version}",
        content_type="application/json",
        replication=dataset.dao.replication_factor,
    )
    release.proofs_cid = pin.cid
    release.save(update_fields=["proofs_cid"])
    audit_record(
        actor=actor,
        dao=dataset.dao,
        verb="release.proof_sheet_pinned",
        obj=release,
        details={"cid": release.cid, "version": release.version, "proofs_cid": pin.cid},
    )
    return SheetPinned(release, True)
