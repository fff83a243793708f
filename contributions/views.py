"""Contributor pages: a dataset's page with the upload widget, its example file, and
"my contributions"."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from contributions.example import example_csv
from contributions.models import Contribution, Status
from contributions.selectors import (
    CountedPaginator,
    contributor_counts,
    counted,
    dataset_visible_to,
    releases_of,
    status_counts,
)
from datadao.models import Dataset, DatasetKind, Membership
from datadao.schema import scoring_policy

PAGE_SIZE = 25


def _visible_dataset(request: HttpRequest, dao_slug: str, dataset_slug: str) -> Dataset:
    dataset = (
        Dataset.objects.select_related("dao", "reward_policy")
        .filter(dao__slug=dao_slug, slug=dataset_slug)
        .first()
    )
    user = request.user if request.user.is_authenticated else None
    if dataset is None or not dataset_visible_to(user, dataset):
        raise Http404("No such dataset.")
    return dataset


@require_GET
def dataset_page(request: HttpRequest, dao_slug: str, dataset_slug: str) -> HttpResponse:
    """Schema, acceptance rules, counts, the upload widget (members) and recent releases."""
    dataset = _visible_dataset(request, dao_slug, dataset_slug)
    user = request.user if request.user.is_authenticated else None
    counts = status_counts([dataset.pk])
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
            # The host the ownership text names (as the upload API checks it).
            "site": settings.SIWE_DOMAIN or request.get_host(),
            # The manifest lists every contribution: take only its label-file CIDs.
            "releases": list(
                releases_of(dataset).annotate(labels=KeyTransform("labels", "manifest"))[:5]
            ),
            "labeling": labeling,
            "example": (
                example_csv(dataset.schema["columns"])
                if dataset.kind == DatasetKind.TABULAR
                else None
            ),
        },
    )


@require_GET
def dataset_example(request: HttpRequest, dao_slug: str, dataset_slug: str) -> HttpResponse:
    """``example.csv``: a header and a few rows that pass the tabular dataset's schema."""
    dataset = _visible_dataset(request, dao_slug, dataset_slug)
    if dataset.kind != DatasetKind.TABULAR:
        raise Http404("Only tabular datasets have an example file.")
    response = HttpResponse(
        example_csv(dataset.schema["columns"]).text, content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{dataset.slug}-example.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def my_contributions(request: HttpRequest) -> HttpResponse:
    """Your contributions, newest first, filterable by status and dataset, paginated."""
    queryset = (
        Contribution.objects.filter(contributor=request.user)
        .select_related("dataset__dao")
        .order_by("-created_at", "-id")
    )
    # Your counts per dataset and status, from the tallies: the dataset filter and the page
    # count, without counting your rows on every page.
    counts = contributor_counts(request.user.pk)
    datasets = list(
        Dataset.objects.filter(pk__in={dataset_id for dataset_id, _ in counts})
        .select_related("dao")
        .order_by("dao__name", "name")
    )
    status = request.GET.get("status", "")
    if status in Status.values:
        queryset = queryset.filter(status=status)
    else:
        status = ""
    dataset = request.GET.get("dataset", "")
    if dataset.isdigit() and any(str(d.pk) == dataset for d in datasets):
        queryset = queryset.filter(dataset_id=int(dataset))
    else:
        dataset = ""
    total = counted(counts, dataset_id=int(dataset) if dataset else None, status=status)
    page = CountedPaginator(queryset, PAGE_SIZE, count=total).get_page(request.GET.get("page"))
    return render(
        request,
        "contributions/mine.html",
        {
            "page": page,
            "status": status,
            "statuses": Status.choices,
            "dataset": dataset,
            "datasets": datasets,
            "query": urlencode({k: v for k, v in (("status", status), ("dataset", dataset)) if v}),
        },
    )
