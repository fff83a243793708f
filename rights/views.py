"""Data-rights pages. ``/me/access``: what a signed-in wallet may use (grants, purchases,
datasets for sale) and how often the user's own contributions were read. The console's
``/admin/data-rights/<slug>/``: a DAO's prices, purchases to confirm, grants to sign and
revoke; ``…/reads``: its read log, a page at a time. Console pages are for the DAO's creators
and admins (and superusers); anyone else gets a 404, not a hint that there is anything.
Writes go through the JSON API (``rights.api``), called by ``static/rights/rights.js``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from datadao.models import DAO
from rights import selectors
from rights.api import DEFAULT_DAYS, serialize_grant

View = Callable[..., HttpResponse]
READS_PAGE_SIZE = 50


def _console(view: View) -> View:
    """Behind the console's gate: same login page, same CSRF and no-cache headers."""

    @functools.wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return admin.site.admin_view(view)(request, *args, **kwargs)

    return gated


def _managed(request: HttpRequest, slug: str) -> DAO:
    dao = DAO.objects.filter(slug=slug).first()
    if dao is None or not selectors.is_manager(user=request.user, dao_id=dao.pk):
        raise Http404(gettext("No DAO you manage has that name."))
    return dao


@login_required
@require_GET
def my_access(request: HttpRequest) -> HttpResponse:
    """A consumer's page: grants (target, scope, expiry, status, download link), purchases,
    datasets for sale; and, for contributors, how often their contributions were read."""
    context = {
        "grants": [serialize_grant(g) for g in selectors.grants_of(user=request.user)],
        "purchases": selectors.purchases_of(user=request.user),
        "offers": selectors.offers_for_sale(),
        "reads": selectors.contributor_read_counts(user=request.user),
        "release_reads": selectors.contributor_release_reads(user=request.user),
    }
    return render(request, "rights/mine.html", context)


@require_GET
def _console_rights(request: HttpRequest, slug: str) -> HttpResponse:
    dao = _managed(request, slug)
    context = {
        **admin.site.each_context(request),
        "title": gettext("Data rights: %(name)s") % {"name": dao.name},
        "dao": dao,
        "datasets": selectors.dao_datasets(dao_id=dao.pk),
        "offers": selectors.dao_offers(dao_id=dao.pk),
        "purchases": selectors.dao_purchases(dao_id=dao.pk),
        "grants": [serialize_grant(g) for g in selectors.dao_grants(dao_id=dao.pk)],
        "default_days": DEFAULT_DAYS,
    }
    return render(request, "rights/console.html", context)


@require_GET
def _console_reads(request: HttpRequest, slug: str) -> HttpResponse:
    dao = _managed(request, slug)
    raw = request.GET.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 8 else 1
    page = max(1, page)
    reads, total = selectors.dao_reads(
        dao_id=dao.pk, offset=(page - 1) * READS_PAGE_SIZE, limit=READS_PAGE_SIZE
    )
    pages = max(1, -(-total // READS_PAGE_SIZE))
    context = {
        **admin.site.each_context(request),
        "title": gettext("Read log: %(name)s") % {"name": dao.name},
        "dao": dao,
        "reads": reads,
        "total": total,
        "page": page,
        "pages": pages,
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < pages else None,
    }
    return render(request, "rights/reads.html", context)


console_rights = _console(_console_rights)
console_reads = _console(_console_reads)
