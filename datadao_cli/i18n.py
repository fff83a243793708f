"""The command line's messages in the user's language: stdlib ``gettext`` over the catalogue
shipped in this package (``locale/<lang>/LC_MESSAGES/datadao_cli.mo``), no Django.

The language comes from the environment as GNU gettext tools read it: ``LANGUAGE`` (a
colon-separated list of preferences, ignored when the locale is C), else the first set of
``LC_ALL``, ``LC_MESSAGES`` and ``LANG``. Simplified Chinese (``zh_CN``, ``zh_SG``,
``zh_Hans``, plain ``zh``) is the one translation; any other language, and Traditional
Chinese, reads English. Codes and states (``refused 404 not_found``, ``pinned``) stay as
the API writes them in every language, in the table and in ``--json``; the details, written
for people, are translated, and the server is asked for its refusals in the same language.

The ``.mo`` beside each ``.po`` is compiled by ``manage.py compilecatalogues`` (the pure
compiler in ``datadao.catalogues``) and committed: an installed client has no compiler and
no Django. ``tests/i18n/test_cli.py`` fails when it no longer matches its ``.po``.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "datadao_cli"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The catalogue for Simplified Chinese, and the regions and scripts that read it.
SIMPLIFIED = "zh_Hans"
_SIMPLIFIED_REGIONS = {"", "CN", "SG", "HANS"}


def languages(environ: Mapping[str, str] | None = None) -> list[str]:
    """The catalogues to use, best first, for ``environ`` (default: ``os.environ``): empty
    for English. The first preferred language that is English or has a catalogue wins."""
    environ = os.environ if environ is None else environ
    locale = next((environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(k)), "")
    wanted = [locale]
    if environ.get("LANGUAGE") and _code(locale) not in ("", "c", "posix"):
        wanted = [*environ["LANGUAGE"].split(":"), locale]
    for item in wanted:
        language, *rest = _code(item).split("_")
        region = rest[0] if rest else ""
        if language == "en":
            return []
        if language == "zh" and region.upper() in _SIMPLIFIED_REGIONS:
            return [SIMPLIFIED]
    return []


def _code(item: str) -> str:
    """``zh_CN.UTF-8@x`` -> ``zh_cn``: the language and region, lower case, no encoding."""
    return item.split(".")[0].split("@")[0].replace("-", "_").lower()


@functools.cache
def catalogue() -> gettext.NullTranslations:
    """The catalogue for this process's environment (read once)."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=languages(), fallback=True)


def _(message: str) -> str:
    """``message`` in the user's language, or as written when the catalogue lacks it."""
    return catalogue().gettext(message)


def N_(message: str) -> str:
    """Marks a message kept in a constant; ``_`` translates it where it is shown."""
    return message


def accept_language() -> str | None:
    """The ``Accept-Language`` to ask the server's refusals in, matching the messages."""
    return "zh-CN, zh;q=0.9" if languages() == [SIMPLIFIED] else None
