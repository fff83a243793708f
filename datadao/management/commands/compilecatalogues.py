"""``manage.py compilecatalogues``: compile the translation catalogues (``LOCALE_PATHS``) to the
``.mo`` files Django reads, in Python (datadao.catalogues), with no GNU gettext needed; and
the command lines' own catalogues, whose ``.mo`` files are committed (an installed client has
neither this compiler nor Django)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from datadao.catalogues import compile_all

# Read by stdlib gettext in the command lines (datadao_cli.i18n, datadao_validator.i18n).
COMMAND_LINE_LOCALES = ("datadao_cli/locale", "datadao_validator/locale")


class Command(BaseCommand):
    help = (
        "Compile the .po translation catalogues under LOCALE_PATHS, and the command lines' "
        "(datadao_cli/locale, datadao_validator/locale), to .mo files (only those changed "
        "since their last compile). Needs no GNU gettext; bin/run runs it at start."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        roots = [Path(p) for p in settings.LOCALE_PATHS]
        roots += [Path(settings.BASE_DIR) / folder for folder in COMMAND_LINE_LOCALES]
        written = compile_all(roots)
        for path in written:
            self.stdout.write(f"compiled {path}")
        if not written:
            self.stdout.write("catalogues up to date")
