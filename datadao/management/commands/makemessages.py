"""``manage.py makemessages``: Django's, also collecting refusal messages written as
``Detail("...")`` (datadao.errors), which are translated where the API answers."""

from __future__ import annotations

from django.core.management.commands import makemessages
from django.utils.translation import gettext_lazy

from datadao.management.language import OperatorLanguage


class Command(OperatorLanguage, makemessages.Command):
    help = gettext_lazy(
        "Update the translation catalogues (locale/*/LC_MESSAGES/django.po) from the "
        "code and templates, as Django's makemessages, with datadao.errors.Detail as "
        "a keyword."
    )
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=Detail"]
    # A new message gets an empty translation, not a fuzzy guess from a similar one: the catalogue
    # check (tests/i18n) fails on both, and an empty one is plainly still to do.
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
