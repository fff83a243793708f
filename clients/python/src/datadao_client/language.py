"""The user's language for a command line built on the SDK, from the environment as GNU
gettext tools read it, and a stdlib ``gettext`` catalogue in that language.

``LANGUAGE`` (a colon-separated list of preferences, ignored when the locale is C), else the
first set of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``. Simplified Chinese (``zh_CN``,
``zh_SG``, ``zh_Hans``, plain ``zh``) is the one translation; any other language, and
Traditional Chinese, reads English. The contributor's command line (``datadao_cli``) and the
validator (``datadao_validator``) each ship their own catalogue and read it through this.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Mapping
from pathlib import Path

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


class Messages:
    """A command line's catalogue (``domain`` under ``locale_dir``) in this process's
    language, read on first use: English, the messages as written, when there is none."""

    def __init__(self, domain: str, locale_dir: Path) -> None:
        self.domain = domain
        self.locale_dir = locale_dir

    @functools.cached_property
    def catalogue(self) -> gettext.NullTranslations:
        return gettext.translation(
            self.domain, self.locale_dir, languages=languages(), fallback=True
        )

    def gettext(self, message: str) -> str:
        """``message`` in the user's language, or as written when the catalogue lacks it."""
        return self.catalogue.gettext(message)


def N_(message: str) -> str:
    """Marks a message kept in a constant; ``_`` translates it where it is shown."""
    return message


def accept_language() -> str | None:
    """The ``Accept-Language`` to ask the server's refusals in, matching the messages."""
    return "zh-CN, zh;q=0.9" if languages() == [SIMPLIFIED] else None
