"""Write and rotate the keystore of data key-encryption keys (``DATA_KEK_KEYSTORE``).

The password is read from an environment variable (``DATA_KEK_PASSWORD`` unless
``--password-env`` names another), never from the command line, where it would show in the
process list and the shell's history.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions.services.keyrotation import PHASES
from datadao.keys import kek_keystore_write, new_kek_id
from datadao.management.language import LocalizedCommand
from datadao.sealing import Kek, KekConfigError, KekRing, open_keystore


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Create a keystore of data key-encryption keys, put a new KEK first in it "
        "(rotate), drop a KEK no sealed key uses any more (retire), or list its KEK "
        "ids (show)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "rotate", "retire", "show"])
        parser.add_argument("path", type=Path, help=_("the keystore file"))
        parser.add_argument("kek_id", nargs="?", help=_("retire: the KEK to drop"))
        parser.add_argument(
            "--password-env",
            default="DATA_KEK_PASSWORD",
            help=_("the environment variable holding the keystore's password"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get(options["password_env"], "")
        if not password:
            raise CommandError(
                _("Set %(password_env)s to the keystore's password.")
                % {"password_env": options["password_env"]}
            )
        path: Path = options["path"]
        action = options["action"]
        if action == "create":
            if path.exists():
                raise CommandError(
                    _("%(path)s exists; use rotate to add a key to it.") % {"path": path}
                )
            ring = KekRing([Kek.generate(new_kek_id([]))])
            kek_keystore_write(path, ring, password, replace=False)
            self.stdout.write(
                _("Created %(path)s with KEK %(kek_id)s.")
                % {"path": path, "kek_id": ring.current.kek_id}
            )
            return
        ring = _open(path, password)
        if action == "show":
            others = [kek_id for kek_id in ring.ids if kek_id != ring.current.kek_id]
            self.stdout.write(_("current: %(kek_id)s") % {"kek_id": ring.current.kek_id})
            for kek_id in others:
                self.stdout.write(
                    _("older:   %(kek_id)s (%(uses)s sealed keys under it)")
                    % {"kek_id": kek_id, "uses": _uses(kek_id)}
                )
            return
        if action == "rotate":
            fresh = Kek.generate(new_kek_id(ring.ids))
            rotated = KekRing([fresh, *(ring.get(kek_id) for kek_id in ring.ids)])
            kek_keystore_write(path, rotated, password, replace=True)
            self.stdout.write(
                _(
                    "KEK %(kek_id)s now wraps new keys; %(previous)s and older still open "
                    "existing ones. Restart the web and worker processes, then run `manage.py "
                    "rotate_data_keys` to re-wrap existing keys under it."
                )
                % {"kek_id": fresh.kek_id, "previous": ring.current.kek_id}
            )
            return
        self._retire(path, ring, password, options["kek_id"])

    def _retire(self, path: Path, ring: KekRing, password: str, kek_id: str | None) -> None:
        if not kek_id:
            raise CommandError(_("Name the KEK to retire: kek_keystore retire PATH KEK_ID."))
        if kek_id not in ring.ids:
            raise CommandError(
                _("There is no KEK %(kek_id)r in %(path)s.") % {"kek_id": kek_id, "path": path}
            )
        if kek_id == ring.current.kek_id:
            raise CommandError(
                _("%(kek_id)s is the current KEK; rotate before retiring it.") % {"kek_id": kek_id}
            )
        uses = _uses(kek_id)
        if uses:
            raise CommandError(
                _(
                    "%(uses)s sealed keys are still wrapped by %(kek_id)s; run `manage.py "
                    "rotate_data_keys` first, or they could never be opened again."
                )
                % {"uses": uses, "kek_id": kek_id}
            )
        kept = KekRing([ring.get(k) for k in ring.ids if k != kek_id], current=ring.current.kek_id)
        kek_keystore_write(path, kept, password, replace=True)
        self.stdout.write(
            _("Retired %(kek_id)s; %(path)s holds %(join)s.")
            % {"kek_id": kek_id, "path": path, "join": ", ".join(kept.ids)}
        )


def _open(path: Path, password: str) -> KekRing:
    try:
        document = path.read_text()
    except OSError as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(strerror)s.") % {"path": path, "strerror": exc.strerror}
        ) from None
    try:
        return open_keystore(document, password)
    except KekConfigError as exc:
        raise CommandError(f"{path}: {exc}.") from None


def _uses(kek_id: str) -> int:
    prefix = f"v1.{kek_id}."
    return sum(model.objects.filter(sealed_key__startswith=prefix).count() for _, model in PHASES)
