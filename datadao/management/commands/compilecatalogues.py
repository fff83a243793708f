"""``manage.py compilecatalogues``: compile the translation catalogues (``LOCALE_PATHS``) to the
``.mo`` files Django reads, in Python (datadao.catalogues), with no GNU gettext needed; and
the command lines' own catalogues, whose ``.mo`` files are committed (an installed client has
neither this compiler nor Django)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from datadao.catalogues import compile_all
from datadao.management.language import LocalizedCommand

# Read by stdlib gettext in the command lines (datadao_cli.i18n, datadao_validator.i18n,
# datadao_verify.i18n).
COMMAND_LINE_LOCALES = ("datadao_cli/locale", "datadao_validator/locale", "datadao_verify/locale")


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Compile the .po translation catalogues under LOCALE_PATHS, and the command "
        "lines' (datadao_cli/locale, datadao_validator/locale, datadao_verify/locale), to "
        ".mo files (only "
        "those changed since their last compile). Needs no GNU gettext; bin/run runs "
        "it at start."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        roots = [Path(p) for p in settings.LOCALE_PATHS]
        roots += [Path(settings.BASE_DIR) / folder for folder in COMMAND_LINE_LOCALES]
        written = compile_all(roots)
        for path in written:
            self.stdout.write(_("compiled %(path)s") % {"path": path})
        if not written:
            self.stdout.write(_("catalogues up to date"))
