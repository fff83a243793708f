"""Management commands in the operator's language.

A command run from the command line speaks the language of its environment, read as GNU
gettext tools and the ``datadao`` command lines read it (``LANGUAGE``, then ``LC_ALL``,
``LC_MESSAGES``, ``LANG``: ``LANG=zh_CN.UTF-8`` gives Simplified Chinese): its help, its
output and its errors. Run through ``call_command`` it keeps the caller's language.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation

from datadao_client.language import SIMPLIFIED, languages

# The catalogue name the environment gives -> Django's language code.
_DJANGO_LANGUAGES = {SIMPLIFIED: "zh-hans"}


def environment_language() -> str | None:
    """The Django language the environment asks for; None for English (the messages as
    written)."""
    wanted = languages()
    return _DJANGO_LANGUAGES.get(wanted[0]) if wanted else None


class OperatorLanguage:
    """Mixed into a command: from the command line, it runs in ``environment_language()``."""

    def run_from_argv(self, argv: list[str]) -> None:
        with translation.override(environment_language()):
            super().run_from_argv(argv)  # type: ignore[misc]

    def print_help(self, prog_name: str, subcommand: str) -> None:
        # ``manage.py help COMMAND`` prints it without run_from_argv.
        with translation.override(environment_language()):
            super().print_help(prog_name, subcommand)  # type: ignore[misc]

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # argparse searches the description as text: a lazy translation is made one here.
        self.help = str(self.help)  # type: ignore[has-type]
        return super().create_parser(prog_name, subcommand, **kwargs)  # type: ignore[misc]


class LocalizedCommand(OperatorLanguage, BaseCommand):
    """The base of the project's management commands."""
