"""``manage.py grant_replay_file GRANT_ID RELEASE_CID --out FILE``: the file a grantee replays
a sealed release with (``datadao verify CID --grant FILE``; format in ``rights.replay_keys``).

For the DAO's operators, who hand the file to the grantee. It holds data keys: it is written
with mode 0600 and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.management.language import LocalizedCommand
from rights.replay_keys import NoReplayKeys, grant_replay_file


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Write the file a grantee replays a sealed (members-only) release with: the "
        "signed access grant and the data keys of the manifest and of every "
        "contribution it lists. The grant must work now, be of download scope and "
        "cover the release. Example: manage.py grant_replay_file 12 bafkrei… --out "
        "grant.json"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("grant_id", type=int)
        parser.add_argument("release_cid")
        parser.add_argument("--out", type=Path, required=True, help=_("the file to write (0600)"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = grant_replay_file(
                grant_id=options["grant_id"], release_cid=options["release_cid"]
            )
        except NoReplayKeys as exc:
            raise CommandError(exc.message) from None
        path: Path = options["out"]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=2, sort_keys=True)
            out.write("\n")
        self.stdout.write(
            _("wrote %(path)s: the grant and %(count)s contribution keys")
            % {"path": path, "count": len(document["keys"]["contributions"])}
        )
