"""``/jsi18n/``: the translations of the site's JavaScript for the active language.

Django's ``JavaScriptCatalog`` (the ``djangojs`` domain, ``locale/*/LC_MESSAGES/djangojs.po``)
defines ``gettext``, ``ngettext``, ``pgettext`` and ``interpolate`` for the scripts under
``static/``; every page loads it before them. One URL serves every language (the language is
the request's, as LocaleMiddleware chose it), so the ETag names the language: a browser that
switched languages gets the new catalogue, and otherwise a 304 answers its revalidation.
"""

from __future__ import annotations

import time

from django.http import HttpRequest
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag, require_GET
from django.views.i18n import JavaScriptCatalog

# The catalogues are compiled before the server starts (bin/run); a restart serves new ones.
_STARTED = str(int(time.time()))


def _etag(request: HttpRequest, *args: object, **kwargs: object) -> str:
    return f"{get_language()}-{_STARTED}"


javascript_catalog = require_GET(
    cache_control(no_cache=True)(etag(_etag)(JavaScriptCatalog.as_view(domain="djangojs")))
)
