"""Re-wrap every sealed data key under the current key-encryption key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributions import sealed
from contributions.models import KeyRotation
from contributions.services.keyrotation import key_rotation_start, key_rotation_step
from datadao.dispatch import send
from datadao.management.language import LocalizedCommand


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Re-wrap every sealed data key under the current KEK (the first of DATA_KEK "
        "or of the keystore); the sealed files are not touched. Resumes a rotation "
        "that was stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue", action="store_true", help=_("hand the work to the worker fleet and return")
        )
        parser.add_argument("--status", action="store_true", help=_("show the latest rotation"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            latest = KeyRotation.objects.first()
            self.stdout.write(_line(latest) if latest else _("No key rotation has run yet."))
            return
        try:
            rotation, created = key_rotation_start()
        except sealed.SealingUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            (
                _("Started rotation %(pk)s toward KEK %(kek_id)s: %(total)s sealed keys.")
                if created
                else _("Resuming rotation %(pk)s toward KEK %(kek_id)s: %(total)s sealed keys.")
            )
            % {
                "pk": rotation.pk,
                "kek_id": rotation.kek_id,
                "total": rotation.total,
            }
        )
        if options["queue"]:
            send("contributions.tasks.rotate_data_keys", rotation.pk)
            self.stdout.write(_("Queued; follow it with --status."))
            return
        step: KeyRotation | None = rotation
        while step is not None and step.state == KeyRotation.State.RUNNING:
            step = key_rotation_step(rotation_id=rotation.pk)
            if step is not None:
                self.stdout.write(_line(step))
        rotation.refresh_from_db()
        if rotation.failed:
            raise CommandError(
                _(
                    "%(failed)s sealed keys did not open under any KEK of the ring (see the "
                    "log); keep every older KEK until they are accounted for."
                )
                % {"failed": rotation.failed}
            )


def _line(rotation: KeyRotation) -> str:
    done = rotation.rewrapped + rotation.already_current + rotation.failed
    return _(
        "rotation %(pk)s (%(state)s) toward %(kek_id)s: %(done)s/%(total)s (%(rewrapped)s "
        "re-wrapped, %(current)s already current, %(failed)s failed)"
    ) % {
        "pk": rotation.pk,
        "state": rotation.state,
        "kek_id": rotation.kek_id,
        "done": done,
        "total": rotation.total,
        "rewrapped": rotation.rewrapped,
        "current": rotation.already_current,
        "failed": rotation.failed,
    }
