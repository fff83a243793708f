"""Choice labels (a model's ``TextChoices``, marked with ``gettext_lazy``) in text that is
stored, logged or refused.

A lazy label becomes text in the language of the request at hand. What the platform stores
and logs, and the English text of a refusal (``datadao.errors.Detail``), must not depend on
who happened to cause it, so they take the label in English; a refusal passes it on as a
``Detail`` so that its answer gives it in the client's language with the rest.
"""

from __future__ import annotations

from django.db.models import Choices
from django.utils import translation

from datadao.errors import Detail


def english(label: object) -> str:
    """``label`` (a lazy label, or a choice) in English, whatever language is active."""
    if isinstance(label, Choices):
        label = label.label
    with translation.override("en"):
        return str(label)


def label_detail(label: object, *, lower: bool = False) -> Detail:
    """``label`` (a lazy label, or a choice) as a refusal's parameter: English in the
    refusal's text (in lower case with ``lower``, for the middle of a sentence), translated in
    the answer. The answer translates the lazy label itself, so a label with a context
    (``pgettext_lazy``) keeps it."""
    if isinstance(label, Choices):
        label = label.label
    text = english(label)
    detail = Detail.lowercase(text) if lower else Detail(text)
    detail.label = label
    return detail
