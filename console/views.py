"""The DAO creator dashboard, inside the console: charts of a DAO's contributions, labeling,
rewards and workers.

``/admin/dashboard/`` picks a DAO (straight through when the user manages one);
``/admin/dashboard/<slug>/?days=30`` shows it. Only the DAO's creators and admins, and
superusers, see a dashboard; anyone else gets a 404, not a hint that the DAO exists. The
console's own gate (``admin_view``) sends the signed-out to its login page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext_lazy
from django.views.decorators.http import require_GET

from console import charts
from console.dashboard import (
    DEFAULT_WINDOW,
    STATUS_ORDER,
    WINDOWS,
    Dashboard,
    dao_dashboard,
    dashboard_dao,
    dashboard_daos,
)
from contributions.models import Status
from rewards.units import format_amount

View = Callable[..., HttpResponse]
# A contribution's status as the dashboard names it (the same words as upload.js shows).
STATUS_NAMES = {
    Status.RECEIVED: pgettext_lazy("contribution status", "received"),
    Status.VALIDATING: pgettext_lazy("contribution status", "validating"),
    Status.REJECTED: pgettext_lazy("contribution status", "rejected"),
    Status.ACCEPTED: pgettext_lazy("contribution status", "accepted"),
    Status.PINNING: pgettext_lazy("contribution status", "pinning"),
    Status.PINNED: pgettext_lazy("contribution status", "pinned"),
    Status.FAILED: pgettext_lazy("contribution status", "failed"),
    Status.ATTESTING: pgettext_lazy("contribution status", "awaiting validators"),
    Status.HELD: pgettext_lazy("contribution status", "held: validators disagree"),
}


def _console(view: View) -> View:
    """Behind the console's gate: same login page, same CSRF and no-cache headers."""

    @functools.wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return admin.site.admin_view(view)(request, *args, **kwargs)

    return gated


def _safe(svg: str) -> SafeString:
    # console.charts escapes every label and value it writes; the SVG is markup by design.
    return mark_safe(svg)  # noqa: S308


def _charts(board: Dashboard) -> dict[str, Any]:
    """The dashboard's numbers as SVG (pure rendering, no queries)."""
    daily = board.daily
    day_labels = [d.strftime("%m-%d") for d in daily.days]
    days = {"days": board.days}
    contributions = charts.stacked_bar_chart(
        chart_id="chart-contributions",
        title=gettext("Contributions per day by status, last %(days)s days") % days,
        categories=day_labels,
        series=[
            charts.Series(name=_status(status), values=daily.counts[status], style=i)
            for i, status in enumerate(STATUS_ORDER)
            if any(daily.counts[status])
        ],
        x_label=gettext("day (UTC)"),
        y_label=gettext("contributions"),
        unit=gettext("contributions"),
        empty_message=gettext("No contributions in the last %(days)s days") % days,
    )
    scores = charts.histogram(
        chart_id="chart-scores",
        title=gettext("Score distribution, last %(days)s days") % days,
        edges=board.score_edges,
        counts=board.score_counts,
        x_label=gettext("proof-of-contribution score (basis points)"),
        y_label=gettext("contributions"),
        empty_message=gettext("No scored contributions in the last %(days)s days") % days,
    )
    agreement = []
    for series in board.agreement:
        labels = [p.finished_at.strftime("%m-%d %H:%M") for p in series.points]
        svg = charts.line_chart(
            chart_id=f"chart-agreement-{series.dataset_id}",
            title=gettext("%(dataset)s: label agreement and gold accuracy per consensus run")
            % {"dataset": series.dataset_name},
            x_labels=labels,
            series=[
                charts.Series(gettext("Krippendorff's alpha"), [p.alpha for p in series.points]),
                charts.Series(gettext("gold accuracy"), [p.gold_accuracy for p in series.points]),
            ],
            x_label=gettext("consensus run (finished, UTC)"),
            y_label=gettext("alpha / accuracy"),
            y_min=0.0,
            y_max=1.0,
            empty_message=gettext("No finished consensus run yet"),
        )
        agreement.append({"series": series, "svg": _safe(svg)})
    dao = board.dao
    unit = 10**dao.token_decimals
    rewards = charts.bar_chart(
        chart_id="chart-rewards",
        title=gettext("Rewards per epoch (%(symbol)s)") % {"symbol": dao.token_symbol},
        bars=[
            charts.Bar(
                label=f"#{e.number}",
                # The bar's height only: the text shown is the exact amount.
                value=e.total / unit,
                display=format_amount(e.total, dao.token_decimals, dao.token_symbol),
                style=1 if e.pending else 0,
                note=gettext("open: accrued so far") if e.pending else gettext("closed"),
            )
            for e in board.epochs
        ],
        x_label=gettext("epoch"),
        y_label=dao.token_symbol,
        value_format=charts.format_decimal,
        legend=[(0, gettext("closed")), (1, gettext("open (accrued so far)"))],
        empty_message=gettext("No rewards yet"),
    )
    return {
        "contributions": _safe(contributions),
        "scores": _safe(scores),
        "agreement": agreement,
        "rewards": _safe(rewards),
    }


def _status(status: Status) -> str:
    return str(STATUS_NAMES[status])


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_WINDOW))
    except ValueError:
        return DEFAULT_WINDOW
    return days if days in WINDOWS else DEFAULT_WINDOW


@require_GET
def dashboard_index(request: HttpRequest) -> HttpResponse:
    """Pick a DAO; a user who manages exactly one goes straight to its dashboard."""
    daos = list(dashboard_daos(user=request.user))
    if len(daos) == 1:
        return redirect("dao-dashboard", slug=daos[0].slug)
    context = {**admin.site.each_context(request), "title": gettext("Dashboards"), "daos": daos}
    return render(request, "console/dashboard.html", context)


@require_GET
def dashboard_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One DAO's dashboard, for its managers and superusers only."""
    dao = dashboard_dao(user=request.user, slug=slug)
    if dao is None:
        raise Http404(gettext("No DAO you manage has that name."))
    board = dao_dashboard(dao=dao, days=_days(request), broker_url=settings.CELERY_BROKER_URL)
    daily = board.daily
    context = {
        **admin.site.each_context(request),
        "title": gettext("Dashboard: %(name)s") % {"name": dao.name},
        "board": board,
        "charts": _charts(board),
        "daos": list(dashboard_daos(user=request.user)),
        "windows": WINDOWS,
        "daily_rows": [
            {"day": day, "counts": [daily.counts[s][i] for s in STATUS_ORDER]}
            for i, day in enumerate(daily.days)
        ],
        "statuses": [_status(s) for s in STATUS_ORDER],
        "score_rows": [
            {"low": low, "high": low + (board.score_edges[1] - board.score_edges[0]), "n": n}
            for low, n in zip(board.score_edges, board.score_counts, strict=False)
        ],
        "acceptance": _percent(board.acceptance_rate),
        "acceptance_all": _percent(board.acceptance_rate_all_time),
        "show_hosts": request.user.is_staff,
    }
    return render(request, "console/dashboard.html", context)


# Mounted at /admin/dashboard/ by config.urls (ahead of the admin's catch-all).
urlpatterns = [
    path("", _console(dashboard_index), name="dao-dashboards"),
    path("<slug:slug>/", _console(dashboard_detail), name="dao-dashboard"),
]
