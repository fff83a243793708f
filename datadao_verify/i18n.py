"""The verifier's messages in the user's language: stdlib ``gettext`` over the catalogue in
this package (``locale/<lang>/LC_MESSAGES/datadao_verify.mo``), no Django. The language comes
from the environment (``datadao_client.language``), as for the other command lines.

The ``.mo`` beside each ``.po`` is compiled by ``manage.py compilecatalogues`` and committed:
an installed verifier has no compiler and no Django. ``tests/i18n/test_cli.py`` fails when it
no longer matches its ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from datadao_client.language import N_, SIMPLIFIED, Messages, accept_language, languages

__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "SIMPLIFIED", "_", "accept_language", "languages"]

DOMAIN = "datadao_verify"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_ = Messages(DOMAIN, LOCALE_DIR).gettext
