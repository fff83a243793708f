"""Print the CID of each file, computed locally in constant memory (like ipfs add --only-hash)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from ipfs.unixfs import import_stream


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Print one CID per file, identical to `ipfs add --only-hash` with the same "
        "--cid-version (v1 implies raw leaves). Streams: constant memory for any "
        "size."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--cid-version", type=int, choices=(0, 1), default=1)

    def handle(self, *args: object, **options: object) -> None:
        for raw in options["paths"]:  # type: ignore[attr-defined]
            path = Path(str(raw))
            if not path.is_file():
                raise CommandError(_("%(path)s: not a readable file") % {"path": path})
            with path.open("rb") as stream:
                result = import_stream(stream, cid_version=int(options["cid_version"]))  # type: ignore[arg-type]
            self.stdout.write(str(result.cid))
