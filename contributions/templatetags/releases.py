"""Template tags for releases on pages outside this app (the DAO page)."""

from __future__ import annotations

from django import template

from contributions.models import Release
from contributions.selectors import releases_of
from datadao.models import Dataset

register = template.Library()


@register.simple_tag
def latest_release(dataset: Dataset) -> Release | None:
    """The dataset's newest release, without its manifest (which can be large)."""
    return releases_of(dataset).first()
