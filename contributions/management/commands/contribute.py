"""``manage.py contribute``: the contributor's client (``datadao contribute``) for operators.

``manage.py contribute …`` runs the client before Django starts (see manage.py), so it needs no
server settings; this command is what ``call_command`` and ``manage.py help`` see.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from datadao_cli.main import main as client


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Sign in with your wallet key (an encrypted keystore) and upload files to a "
        "dataset, each with an ownership signature; the same as 'datadao contribute' "
        "(its --help lists the options). Example: manage.py contribute 3 a.csv b.csv "
        "--key-file my-key.json --url http://127.0.0.1:8000 --wait"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("client_args", nargs=argparse.REMAINDER, metavar="ARGS")

    def handle(self, *args: Any, **options: Any) -> None:
        status = client(["contribute", *options["client_args"]])
        if status:
            raise CommandError(
                _("datadao contribute exited with status %(status)s") % {"status": status},
                returncode=status,
            )
