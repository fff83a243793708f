"""``manage.py release_proof_sheets`` (#24 gap 4): a members-only release published without
a proof sheet gets one, built from the manifest as pinned, the same CID a publish pins, which
``datadao verify`` checks clean; a dry run and a second run change nothing, and a public
release is never touched."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from contributions.models import Release
from contributions.release_proofs import SHEET_KEY
from contributions.release_sheets import release_proof_sheet_pin
from contributions.releases import release_publish
from datadao.models import AuditEvent, DatasetStatus, Visibility
from datadao.services import dataset_set_status
from ipfs.backends.embedded import EmbeddedBackend
from tests.contributions.conftest import CSV_SCHEMA, good_csv
from tests.factories import DatasetFactory
from tests.verify.conftest import pinned
from tests.verify.test_replay import discrepancies, verify

pytestmark = pytest.mark.django_db


def _dataset(dao, visibility: str, name: str):  # type: ignore[no-untyped-def]
    return dataset_set_status(
        dataset=DatasetFactory(
            dao=dao, kind="tabular", schema=CSV_SCHEMA, name=name, visibility=visibility
        ),
        actor=None,
        status=DatasetStatus.OPEN,
    )


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("release_proof_sheets", *args, stdout=out)
    return out.getvalue()


def test_an_old_sealed_release_gets_its_proof_sheet(  # type: ignore[no-untyped-def]
    dao, member_client: Client, embedded: Path, tmp_path: Path
) -> None:
    members = _dataset(dao, Visibility.MEMBERS, "Private")
    public = _dataset(dao, Visibility.PUBLIC, "Open")
    pinned(member_client, members, good_csv(5, start=0), "a.csv")
    pinned(member_client, public, good_csv(5, start=50), "b.csv")
    sealed = release_publish(dataset=members, actor=None)
    open_release = release_publish(dataset=public, actor=None)
    published_sheet = sealed.proofs_cid
    assert published_sheet and not open_release.proofs_cid
    # As published before releases had proof sheets: no sheet recorded, none on the node.
    Release.objects.filter(pk=sealed.pk).update(proofs_cid="")
    EmbeddedBackend(embedded).unpin(published_sheet)
    assert not EmbeddedBackend(embedded).is_pinned(published_sheet)

    assert _command("--dry-run") == (
        f"{members} v1 ({sealed.cid}): no proof sheet (dry run: nothing pinned)\n"
    )
    assert Release.objects.get(pk=sealed.pk).proofs_cid == ""
    assert _command("--dataset", str(public.pk)) == (
        "every sealed release has a proof sheet: nothing to do\n"
    )

    assert _command() == f"{members} v1 ({sealed.cid}): proof sheet pinned: {published_sheet}\n"
    release = Release.objects.get(pk=sealed.pk)
    # Built from the pinned manifest: byte for byte the sheet the publish had pinned.
    assert release.proofs_cid == published_sheet
    assert EmbeddedBackend(embedded).is_pinned(published_sheet)
    assert Release.objects.get(pk=open_release.pk).proofs_cid == ""
    [event] = AuditEvent.objects.filter(verb="release.proof_sheet_pinned")
    assert event.details == {"cid": sealed.cid, "version": 1, "proofs_cid": published_sheet}
    sheet = json.loads(b"".join(EmbeddedBackend(embedded).cat(published_sheet)))
    assert sheet[SHEET_KEY] == 1 and sheet["sealed_manifest"]["cid"] == sealed.cid
    status, lines, report = verify(published_sheet, str(embedded), tmp_path)
    assert status == 0, discrepancies(lines)
    assert report["signatures_checked"] == 1

    # Again: nothing to do, nothing pinned or audited twice.
    assert _command() == "every sealed release has a proof sheet: nothing to do\n"
    again = release_proof_sheet_pin(release=release)
    assert not again.pinned and again.release.proofs_cid == published_sheet
    assert AuditEvent.objects.filter(verb="release.proof_sheet_pinned").count() == 1
    with pytest.raises(ValidationError, match="is not sealed: its manifest is public"):
        release_proof_sheet_pin(release=open_release)
