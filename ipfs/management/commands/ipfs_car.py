"""Export CIDs from the embedded store as a CARv1 file that any IPFS node can `dag import`."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from ipfs.backends.base import IpfsError
from ipfs.cid import Cid
from ipfs.conf import get_backend


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Write every block of the given CIDs (roots) from the embedded store to a "
        "CARv1 file, for `ipfs dag import` on any node or for archiving a dataset "
        "release."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("cids", nargs="+", metavar="CID")
        parser.add_argument("--output", "-o", required=True, metavar="FILE.car")

    def handle(self, *args: object, **options: object) -> None:
        backend = get_backend()
        export = getattr(backend, "export_car", None)
        if export is None:
            raise CommandError(
                _(
                    "CAR export reads blocks from the embedded store; with IPFS_BACKEND=kubo use "
                    "the node's own `ipfs dag export`."
                )
            )
        cids = [str(c) for c in options["cids"]]  # type: ignore[attr-defined]
        for cid in cids:
            try:
                Cid.parse(cid)
            except ValueError as exc:
                raise CommandError(
                    _("%(cid)s: not a valid CID (%(exc)s)") % {"cid": cid, "exc": exc}
                ) from exc
        output = Path(str(options["output"]))
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as out:
                export(cids, out)
        except IpfsError as exc:  # missing or corrupt blocks, an invalid CID
            partial.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        # Rename only when complete: a half-written CAR never looks like a finished one.
        partial.replace(output)
        self.stdout.write(
            _("wrote %(output)s (%(st_size)s bytes, %(count)s root(s))")
            % {"output": output, "st_size": output.stat().st_size, "count": len(cids)}
        )
