"""The command line's messages in the user's language: stdlib ``gettext`` over the catalogue
shipped in this package (``locale/<lang>/LC_MESSAGES/datadao_cli.mo``), no Django. The
language comes from the environment (``datadao_client.language``). Codes and states
(``refused 404 not_found``, ``pinned``) stay as the API writes them in every language, in the
table and in ``--json``; the details, written for people, are translated, and the server is
asked for its refusals in the same language.

The ``.mo`` beside each ``.po`` is compiled by ``manage.py compilecatalogues`` (the pure
compiler in ``datadao.catalogues``) and committed: an installed client has no compiler and
no Django. ``tests/i18n/test_cli.py`` fails when it no longer matches its ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from datadao_client.language import N_, SIMPLIFIED, Messages, accept_language, languages

__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "SIMPLIFIED", "_", "accept_language", "languages"]

DOMAIN = "datadao_cli"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_ = Messages(DOMAIN, LOCALE_DIR).gettext
