"""Contributor pages: a dataset's page with the upload widget, and "my contributions"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from contributions.models import Contribution, Status
from contributions.selectors import dataset_visible_to
from datadao.models import Dataset, Membership
from datadao.schema import scoring_policy

PAGE_SIZE = 25


@require_GET
def dataset_page(request: HttpRequest, dao_slug: str, dataset_slug: str) -> HttpResponse:
    """Schema, acceptance rules, counts, the upload widget (members) and recent releases."""
    dataset = (
        Dataset.objects.select_related("dao").filter(dao__slug=dao_slug, slug=dataset_slug).first()
    )
    user = request.user if request.user.is_authenticated else None
    if dataset is None or not dataset_visible_to(user, dataset):
        raise Http404("No such dataset.")
    counts = dict(
        Contribution.objects.filter(dataset=dataset)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    is_member = bool(user and Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists())
    labeling = None
    if dataset.kind == "labeling":
        from labeling.selectors import page_summary

        labeling = page_summary(dataset)
    return render(
        request,
        "contributions/dataset.html",
        {
            "dataset": dataset,
            "columns": dataset.schema.get("columns", []),
            "policy": scoring_policy(dataset.scoring),
            "counts": [(s.label, counts.get(s.value, 0)) for s in Status],
            "is_member": is_member,
            "releases": list(dataset.releases.order_by("-version")[:5]),
            "labeling": labeling,
        },
    )


@login_required
@require_GET
def my_contributions(request: HttpRequest) -> HttpResponse:
    """Your contributions, newest first, filterable by status and dataset, paginated."""
    queryset = (
        Contribution.objects.filter(contributor=request.user)
        .select_related("dataset__dao")
        .order_by("-created_at", "-id")
    )
    status = request.GET.get("status", "")
    if status in Status.values:
        queryset = queryset.filter(status=status)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "contributions/mine.html",
        {"page": page, "status": status, "statuses": Status.choices},
    )
