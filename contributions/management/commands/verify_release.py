"""``manage.py verify_release CID``: replay a release from IPFS alone (``datadao verify``).

The same verifier (``datadao_verify``); only the default source differs: this platform's
configured store (the embedded store, or the Kubo node of ``IPFS_API_URL``). It reads no
database: what it checks comes by CID, each block checked against its CID.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from datadao_verify import cli


def platform_store() -> str:
    """This platform's store as an ``--ipfs`` value."""
    if settings.IPFS_BACKEND == "kubo":
        return str(settings.IPFS_API_URL)
    return str(Path(settings.IPFS_EMBEDDED_ROOT))


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Check a dataset release without trusting this platform: fetch its manifest "
        "and every contribution by CID (each block checked against its CID), re-run "
        "validation and scoring with the recorded validator version, recover each "
        "attestation's signer against the DAO's validator set, and recompute each "
        "reward epoch's Merkle root (with --rpc, also against the root on chain). "
        "One line per discrepancy, a summary, exit status 1 on any discrepancy. The "
        "same as 'datadao verify'. Example: manage.py verify_release bafkrei… --json "
        "report.json"
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # The verifier prints whole lines itself.
        self.stdout.ending = self.stderr.ending = ""
        status = cli.run(
            cid=options["cid"],
            ipfs=options["ipfs"] or platform_store(),
            rpc=options["rpc"],
            json_path=options["json"],
            jobs=options["jobs"],
            timeout=options["timeout"],
            grant_path=options["grant"],
            require_quorum=options["require_quorum"],
            set_signers=options["set_signer"],
            out=self.stdout,
            err=self.stderr,
        )
        if status:
            raise CommandError(
                _("verify_release exited with status %(status)s") % {"status": status},
                returncode=status,
            )
