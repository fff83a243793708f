"""Build the Merkle tree of an allocation list and print its root (no database needed)."""

from __future__ import annotations

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from rewards.allocations import AllocationError, parse_allocations_csv
from rewards.merkle import StandardMerkleTree


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Build the reward Merkle tree of an allocation CSV (columns address,amount; "
        "amounts in base units; a repeated address is refused) exactly as "
        "OpenZeppelin's StandardMerkleTree.of(values, ['address', 'uint256']) does, "
        "and print its root, the number of allocations and their total. With "
        "--output, also write the tree dump, byte for byte what "
        "JSON.stringify(tree.dump()) writes, for auditors and claim front-ends. "
        "Reads no database."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("allocations", type=Path, metavar="ALLOCATIONS.csv")
        parser.add_argument("--output", type=Path, metavar="DUMP.json", help=_("write the dump"))

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["allocations"]
        try:
            with path.open(encoding="utf-8-sig", newline="") as stream:
                allocations = parse_allocations_csv(stream)
        except OSError as exc:
            raise CommandError(
                _("%(path)s: cannot read: %(strerror)s") % {"path": path, "strerror": exc.strerror}
            ) from None
        except UnicodeDecodeError:
            raise CommandError(_("%(path)s: not UTF-8 text") % {"path": path}) from None
        except AllocationError as exc:
            raise CommandError(f"{path}: {exc}") from None

        tree = StandardMerkleTree.of(allocations)
        if options["output"] is not None:
            _write_atomically(options["output"], tree.dump_json())
        self.stdout.write(_("root %(root)s") % {"root": tree.root})
        self.stdout.write(_("allocations %(count)s") % {"count": len(tree)})
        self.stdout.write(_("total %(sum)s") % {"sum": sum(amount for _, amount in allocations)})


def _write_atomically(path: Path, text: str) -> None:
    # A half-written dump next to a published root would be worse than none.
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
