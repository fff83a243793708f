"""``manage.py compilecatalogues``: compile the translation catalogues (``LOCALE_PATHS``) to the
``.mo`` files Django reads, in Python (datadao.catalogues), with no GNU gettext needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from datadao.catalogues import compile_all


class Command(BaseCommand):
    help = (
        "Compile the .po translation catalogues under LOCALE_PATHS to .mo files (only those "
        "changed since their last compile). Needs no GNU gettext; bin/run runs it at start."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        written = compile_all([Path(p) for p in settings.LOCALE_PATHS])
        for path in written:
            self.stdout.write(f"compiled {path}")
        if not written:
            self.stdout.write("catalogues up to date")
