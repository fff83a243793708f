"""Write and rotate the keystore of data key-encryption keys (``DATA_KEK_KEYSTORE``).

The password is read from an environment variable (``DATA_KEK_PASSWORD`` unless
``--password-env`` names another), never from the command line, where it would show in the
process list and the shell's history.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contributions.services.keyrotation import PHASES
from datadao.keys import kek_keystore_write, new_kek_id
from datadao.sealing import Kek, KekConfigError, KekRing, open_keystore


class Command(BaseCommand):
    help = (
        "Create a keystore of data key-encryption keys, put a new KEK first in it (rotate), "
        "drop a KEK no sealed key uses any more (retire), or list its KEK ids (show)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "rotate", "retire", "show"])
        parser.add_argument("path", type=Path, help="the keystore file")
        parser.add_argument("kek_id", nargs="?", help="retire: the KEK to drop")
        parser.add_argument(
            "--password-env",
            default="DATA_KEK_PASSWORD",
            help="the environment variable holding the keystore's password",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get(options["password_env"], "")
        if not password:
            raise CommandError(f"Set {options['password_env']} to the keystore's password.")
        path: Path = options["path"]
        action = options["action"]
        if action == "create":
            if path.exists():
                raise CommandError(f"{path} exists; use rotate to add a key to it.")
            ring = KekRing([Kek.generate(new_kek_id([]))])
            kek_keystore_write(path, ring, password, replace=False)
            self.stdout.write(f"Created {path} with KEK {ring.current.kek_id}.")
            return
        ring = _open(path, password)
        if action == "show":
            others = [kek_id for kek_id in ring.ids if kek_id != ring.current.kek_id]
            self.stdout.write(f"current: {ring.current.kek_id}")
            for kek_id in others:
                self.stdout.write(f"older:   {kek_id} ({_uses(kek_id)} sealed keys under it)")
            return
        if action == "rotate":
            fresh = Kek.generate(new_kek_id(ring.ids))
            rotated = KekRing([fresh, *(ring.get(kek_id) for kek_id in ring.ids)])
            kek_keystore_write(path, rotated, password, replace=True)
            self.stdout.write(
                f"KEK {fresh.kek_id} now wraps new keys; {ring.current.kek_id} and older still "
                "open existing ones. Restart the web and worker processes, then run "
                "`manage.py rotate_data_keys` to re-wrap existing keys under it."
            )
            return
        self._retire(path, ring, password, options["kek_id"])

    def _retire(self, path: Path, ring: KekRing, password: str, kek_id: str | None) -> None:
        if not kek_id:
            raise CommandError("Name the KEK to retire: kek_keystore retire PATH KEK_ID.")
        if kek_id not in ring.ids:
            raise CommandError(f"There is no KEK {kek_id!r} in {path}.")
        if kek_id == ring.current.kek_id:
            raise CommandError(f"{kek_id} is the current KEK; rotate before retiring it.")
        uses = _uses(kek_id)
        if uses:
            raise CommandError(
                f"{uses} sealed keys are still wrapped by {kek_id}; run "
                "`manage.py rotate_data_keys` first, or they could never be opened again."
            )
        kept = KekRing([ring.get(k) for k in ring.ids if k != kek_id], current=ring.current.kek_id)
        kek_keystore_write(path, kept, password, replace=True)
        self.stdout.write(f"Retired {kek_id}; {path} holds {', '.join(kept.ids)}.")


def _open(path: Path, password: str) -> KekRing:
    try:
        document = path.read_text()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        return open_keystore(document, password)
    except KekConfigError as exc:
        raise CommandError(f"{path}: {exc}.") from None


def _uses(kek_id: str) -> int:
    prefix = f"v1.{kek_id}."
    return sum(model.objects.filter(sealed_key__startswith=prefix).count() for _, model in PHASES)
