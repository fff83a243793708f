"""Contributor pages: a dataset's page with the upload widget, its example file, "my
contributions" and one contribution's page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from contributions import extras, kinds
from contributions.example import example_csv
from contributions.models import Contribution, Review, Status
from contributions.report_words import report_sections
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


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL answers a whole page or one live part of it: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


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
    """Schema, acceptance rules, counts, the upload widget (members) and recent releases.

    An htmx request (``HX-Request``) gets only the counts, which the open page polls."""
    dataset = _visible_dataset(request, dao_slug, dataset_slug)
    user = request.user if request.user.is_authenticated else None
    counts = status_counts([dataset.pk])
    if request.htmx:
        return _vary_on_htmx(
            render(
                request,
                "contributions/_dataset_counts.html",
                {"dataset": dataset, "counts": [(s.label, counts.get(s.value, 0)) for s in Status]},
            )
        )
    is_member = bool(user and Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists())
    summarize = kinds.hooks_for(dataset.kind).page_summary
    labeling = None if summarize is None else summarize(dataset)
    # What other apps published for this dataset (synthetic sets), each in its own template.
    shown = [
        (extra.page_template, extra.page(dataset))
        for extra in extras.extras()
        if extra.page is not None and extra.page_template
    ]
    return _vary_on_htmx(
        render(
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
                "extras": [
                    {"template": template, "value": value}
                    for template, value in shown
                    if value is not None
                ],
                "example": (
                    example_csv(dataset.schema["columns"])
                    if dataset.kind == DatasetKind.TABULAR
                    else None
                ),
            },
        )
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


# Each status in words, for the contributor: what happened and what comes next.
STATUS_WORDS = {
    Status.RECEIVED: "Received: waiting to be validated.",
    Status.VALIDATING: "Being validated and scored.",
    Status.REJECTED: "Rejected: it is not part of the dataset.",
    Status.ACCEPTED: "Accepted: being stored on IPFS.",
    Status.PINNING: "Accepted: being pinned to IPFS.",
    Status.PINNED: "Pinned: it is part of the dataset, stored on IPFS under its CID.",
    Status.FAILED: "Processing failed; the DAO's operators can retry it.",
    Status.ATTESTING: "Accepted by the platform: waiting for the DAO's validators to attest it.",
    Status.HELD: "Held: the DAO's validators disagree about it; the DAO reviews it.",
}

# What each score measures (0 to 10000), in words.
SCORE_MEANINGS = (
    ("authenticity", "Authenticity", "the file is signed by your wallet (full marks when signed)"),
    ("ownership", "Ownership", "the signature proves the file is yours"),
    ("quality", "Quality", "valid, complete rows; image resolution and sharpness; readable text"),
    ("uniqueness", "Uniqueness", "rows, images or texts not already in the dataset"),
)


@login_required
@require_GET
def my_contribution(request: HttpRequest, contribution_id: int) -> HttpResponse:
    """One of your contributions: its status (live while it is processed), every score with
    its meaning, the validation report in words, its CID and proof, and the reward it earned
    or why none. Someone else's contribution is a 404, like a missing one.

    An htmx request (``HX-Request``) gets only the live part, which the page polls until the
    status is final."""
    from rewards.selectors import contribution_reward

    contribution = (
        Contribution.objects.filter(pk=contribution_id, contributor=request.user)
        .select_related("dataset__dao", "dataset__reward_policy", "proof")
        .first()
    )
    if contribution is None:
        raise Http404("No such contribution of yours.")
    policy = scoring_policy(contribution.dataset.scoring)
    scores = [
        (label, getattr(contribution, field), meaning, policy["weights"][field])
        for field, label, meaning in SCORE_MEANINGS
    ]
    context = {
        "c": contribution,
        "dao": contribution.dataset.dao,
        "status_words": STATUS_WORDS.get(contribution.status, contribution.status),
        "final": contribution.status in (Status.PINNED, Status.REJECTED, Status.FAILED)
        and contribution.review != Review.PENDING,
        "scores": scores,
        "threshold": policy["threshold"],
        "sections": report_sections(contribution.report),
        "reward": contribution_reward(contribution=contribution, threshold=policy["threshold"]),
        "has_proof": hasattr(contribution, "proof"),
    }
    template = (
        "contributions/_contribution_live.html"
        if request.htmx
        else "contributions/contribution.html"
    )
    return render(request, template, context)
