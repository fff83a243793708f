"""Delete the embedded store's blocks that no pin reaches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipfs.services import garbage_collect


class Command(BaseCommand):
    help = (
        "Delete the embedded IPFS store's blocks that no pin reaches and that were not written "
        "or re-used within the grace period (beat runs this daily). A Kubo node collects its "
        "own garbage (ipfs repo gc)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=3600.0,
            help="keep blocks written or re-used in the last SECONDS (default 3600)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["grace"] < 0:
            raise CommandError("--grace must be 0 seconds or more.")
        report = garbage_collect(grace_seconds=options["grace"], dry_run=options["dry_run"])
        if "skipped" in report:
            self.stdout.write(report["skipped"])
            return
        if report["problems"]:
            raise CommandError(
                "Nothing deleted: a pinned DAG has a missing or unreadable block: "
                + "; ".join(report["problems"][:5])
            )
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            f"{report['pins']} pins; {verb} {report['deleted']} blocks "
            f"({report['deleted_bytes']} bytes); kept {report['kept']} reachable and "
            f"{report['too_recent']} too recent to collect."
        )
