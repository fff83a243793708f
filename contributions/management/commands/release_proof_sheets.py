"""``manage.py release_proof_sheets [--dataset ID] [--dry-run]``: pin the public proof sheet of
every sealed release published without one (``contributions.release_sheets``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.release_sheets import release_proof_sheet_pin, releases_without_proof_sheet
from contributions.sealed import Unreadable
from datadao.management.language import LocalizedCommand
from ipfs.backends.base import IpfsError


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Pin the public proof sheet of each members-only (sealed) release that has "
        "none, such as those published before releases had proof sheets, and record "
        "its CID on the release: anyone can then check its attestations and reward "
        "roots without a grant ('datadao verify PROOF_SHEET_CID'). Each sheet is "
        "built from the manifest as pinned. Safe to run again: a release that has a "
        "sheet is left alone. One line per release; exit status 1 if a release's "
        "manifest could not be fetched or opened."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dataset", type=int, metavar="ID", help=_("only this dataset's releases")
        )
        parser.add_argument(
            "--dry-run", action="store_true", help=_("list the releases, pin and record nothing")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        releases = list(releases_without_proof_sheet(dataset_id=options["dataset"]))
        if not releases:
            self.stdout.write(_("every sealed release has a proof sheet: nothing to do"))
            return
        failed = 0
        for release in releases:
            name = f"{release.dataset} v{release.version} ({release.cid})"
            if options["dry_run"]:
                self.stdout.write(
                    _("%(name)s: no proof sheet (dry run: nothing pinned)") % {"name": name}
                )
                continue
            try:
                done = release_proof_sheet_pin(release=release)
            except (IpfsError, Unreadable) as exc:
                failed += 1
                self.stderr.write(_("%(name)s: not done: %(exc)s") % {"name": name, "exc": exc})
                continue
            text = (
                _("%(name)s: proof sheet pinned: %(cid)s")
                if done.pinned
                else _("%(name)s: already has a proof sheet: %(cid)s")
            )
            self.stdout.write(text % {"name": name, "cid": done.release.proofs_cid})
        if failed:
            raise CommandError(
                _("%(failed)s of %(count)s releases not done")
                % {"failed": failed, "count": len(releases)},
                returncode=1,
            )
