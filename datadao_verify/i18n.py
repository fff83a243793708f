"""The verifier's messages in the user's language: stdlib ``gettext`` over the catalogue in
this package (``locale/<lang>/LC_MESSAGES/datadao_verify.mo``), no Django. The language comes
from the environment (``datadao_client.language``), as for the other command lines.

A finding's message (and an ``Unverifiable`` refusal) is a ``datadao.errors.Detail``: the
English text wherever it is kept (the ``--json`` report), translated by ``shown`` only where a
person reads it. Its templates are in this catalogue, with their ``%(name)s`` placeholders.

The ``.mo`` beside each ``.po`` is compiled by ``manage.py compilecatalogues`` and committed:
an installed verifier has no compiler and no Django. ``tests/i18n/test_cli.py`` fails when it
no longer matches its ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from datadao.errors import Detail
from datadao_client.language import N_, SIMPLIFIED, Messages, accept_language, languages

__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "SIMPLIFIED",
    "_",
    "accept_language",
    "languages",
    "shown",
]

DOMAIN = "datadao_verify"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_ = Messages(DOMAIN, LOCALE_DIR).gettext


def shown(value: object) -> str:
    """``value`` as a person reads it, in the user's language: a ``Detail`` (or an exception
    raised with one) is translated, a phrase filled into it too; anything else is as it is."""
    if isinstance(value, BaseException) and value.args and isinstance(value.args[0], Detail):
        value = value.args[0]
    if not isinstance(value, Detail):
        return str(value)
    template = _(value.template)
    if not value.params:
        return template
    return template % {
        name: shown(param) if isinstance(param, Detail | BaseException) else param
        for name, param in value.params.items()
    }
