"""Re-wrap every sealed data key under the current key-encryption key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contributions import sealed
from contributions.models import KeyRotation
from contributions.services.keyrotation import key_rotation_start, key_rotation_step
from datadao.dispatch import send


class Command(BaseCommand):
    help = (
        "Re-wrap every sealed data key under the current KEK (the first of DATA_KEK or of the "
        "keystore); the sealed files are not touched. Resumes a rotation that was stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue", action="store_true", help="hand the work to the worker fleet and return"
        )
        parser.add_argument("--status", action="store_true", help="show the latest rotation")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            latest = KeyRotation.objects.first()
            self.stdout.write(_line(latest) if latest else "No key rotation has run yet.")
            return
        try:
            rotation, created = key_rotation_start()
        except sealed.SealingUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{'Started' if created else 'Resuming'} rotation {rotation.pk} toward KEK "
            f"{rotation.kek_id}: {rotation.total} sealed keys."
        )
        if options["queue"]:
            send("contributions.tasks.rotate_data_keys", rotation.pk)
            self.stdout.write("Queued; follow it with --status.")
            return
        step: KeyRotation | None = rotation
        while step is not None and step.state == KeyRotation.State.RUNNING:
            step = key_rotation_step(rotation_id=rotation.pk)
            if step is not None:
                self.stdout.write(_line(step))
        rotation.refresh_from_db()
        if rotation.failed:
            raise CommandError(
                f"{rotation.failed} sealed keys did not open under any KEK of the ring "
                "(see the log); keep every older KEK until they are accounted for."
            )


def _line(rotation: KeyRotation) -> str:
    done = rotation.rewrapped + rotation.already_current + rotation.failed
    return (
        f"rotation {rotation.pk} ({rotation.state}) toward {rotation.kek_id}: {done}/"
        f"{rotation.total} ({rotation.rewrapped} re-wrapped, {rotation.already_current} already "
        f"current, {rotation.failed} failed)"
    )
