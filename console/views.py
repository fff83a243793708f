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
from rewards.units import format_amount

View = Callable[..., HttpResponse]


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
    contributions = charts.stacked_bar_chart(
        chart_id="chart-contributions",
        title=f"Contributions per day by status, last {board.days} days",
        categories=day_labels,
        series=[
            charts.Series(name=str(status.label).lower(), values=daily.counts[status], style=i)
            for i, status in enumerate(STATUS_ORDER)
            if any(daily.counts[status])
        ],
        x_label="day (UTC)",
        y_label="contributions",
        unit="contributions",
        empty_message=f"No contributions in the last {board.days} days",
    )
    scores = charts.histogram(
        chart_id="chart-scores",
        title=f"Score distribution, last {board.days} days",
        edges=board.score_edges,
        counts=board.score_counts,
        x_label="proof-of-contribution score (basis points)",
        y_label="contributions",
        empty_message=f"No scored contributions in the last {board.days} days",
    )
    agreement = []
    for series in board.agreement:
        labels = [p.finished_at.strftime("%m-%d %H:%M") for p in series.points]
        svg = charts.line_chart(
            chart_id=f"chart-agreement-{series.dataset_id}",
            title=f"{series.dataset_name}: label agreement and gold accuracy per consensus run",
            x_labels=labels,
            series=[
                charts.Series("Krippendorff's alpha", [p.alpha for p in series.points]),
                charts.Series("gold accuracy", [p.gold_accuracy for p in series.points]),
            ],
            x_label="consensus run (finished, UTC)",
            y_label="alpha / accuracy",
            y_min=0.0,
            y_max=1.0,
            empty_message="No finished consensus run yet",
        )
        agreement.append({"series": series, "svg": _safe(svg)})
    dao = board.dao
    unit = 10**dao.token_decimals
    rewards = charts.bar_chart(
        chart_id="chart-rewards",
        title=f"Rewards per epoch ({dao.token_symbol})",
        bars=[
            charts.Bar(
                label=f"#{e.number}",
                # The bar's height only: the text shown is the exact amount.
                value=e.total / unit,
                display=format_amount(e.total, dao.token_decimals, dao.token_symbol),
                style=1 if e.pending else 0,
                note="open: accrued so far" if e.pending else "closed",
            )
            for e in board.epochs
        ],
        x_label="epoch",
        y_label=dao.token_symbol,
        value_format=charts.format_decimal,
        legend=[(0, "closed"), (1, "open (accrued so far)")],
        empty_message="No rewards yet",
    )
    return {
        "contributions": _safe(contributions),
        "scores": _safe(scores),
        "agreement": agreement,
        "rewards": _safe(rewards),
    }


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
    context = {**admin.site.each_context(request), "title": "Dashboards", "daos": daos}
    return render(request, "console/dashboard.html", context)


@require_GET
def dashboard_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One DAO's dashboard, for its managers and superusers only."""
    dao = dashboard_dao(user=request.user, slug=slug)
    if dao is None:
        raise Http404("No DAO you manage has that name.")
    board = dao_dashboard(dao=dao, days=_days(request), broker_url=settings.CELERY_BROKER_URL)
    daily = board.daily
    context = {
        **admin.site.each_context(request),
        "title": f"Dashboard: {dao.name}",
        "board": board,
        "charts": _charts(board),
        "daos": list(dashboard_daos(user=request.user)),
        "windows": WINDOWS,
        "daily_rows": [
            {"day": day, "counts": [daily.counts[s][i] for s in STATUS_ORDER]}
            for i, day in enumerate(daily.days)
        ],
        "statuses": [str(s.label).lower() for s in STATUS_ORDER],
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
