"""Delete the embedded store's blocks that no pin reaches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from ipfs.services import garbage_collect


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Delete the embedded IPFS store's blocks that no pin reaches and that were "
        "not written or re-used within the grace period (beat runs this daily). A "
        "Kubo node collects its own garbage (ipfs repo gc)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=3600.0,
            help=_("keep blocks written or re-used in the last SECONDS (default 3600)"),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("count, delete nothing"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["grace"] < 0:
            raise CommandError(_("--grace must be 0 seconds or more."))
        report = garbage_collect(grace_seconds=options["grace"], dry_run=options["dry_run"])
        if "skipped" in report:
            self.stdout.write(report["skipped"])
            return
        if report["problems"]:
            raise CommandError(
                _("Nothing deleted: a pinned DAG has a missing or unreadable block: %(problems)s")
                % {"problems": "; ".join(report["problems"][:5])}
            )
        verb = _("would delete") if options["dry_run"] else _("deleted")
        self.stdout.write(
            _(
                "%(pins)s pins; %(verb)s %(deleted)s blocks (%(deleted_bytes)s bytes); kept "
                "%(kept)s reachable and %(too_recent)s too recent to collect."
            )
            % {
                "pins": report["pins"],
                "verb": verb,
                "deleted": report["deleted"],
                "deleted_bytes": report["deleted_bytes"],
                "kept": report["kept"],
                "too_recent": report["too_recent"],
            }
        )
