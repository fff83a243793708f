"""The labeler's page: one item at a time, driven from the keyboard by ``static/labeling/label.js``.

The view only decides which state the page opens in (signed out, not a member, dataset not
open, paused, ready) and hands the script the dataset id, the label set and the keyboard help;
tasks, answers, skips and undos all go through the JSON API (``labeling/api.py``). Nothing
here reads a task, a gold answer or anyone else's label.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET

from contributions.selectors import dataset_visible_to
from datadao.models import Dataset, DatasetKind, DatasetStatus, Membership
from labeling.conf import GOLD_REPORT_EVERY, GOLD_WINDOW, labeling_settings, undo_seconds
from labeling.keys import keys_hint, label_keys
from labeling.selectors import REVIEW_PAGE, labeler_progress
from labeling.services.access import is_reviewer

StrOrPromise = str | Promise

# The keys of each task type's widget (``static/labeling/label_types.js``).
TYPE_KEYS: dict[str, list[tuple[StrOrPromise, StrOrPromise]]] = {
    "boxes": [
        ("1–9", gettext_lazy("Choose the class of new boxes (or of the selected box)")),
        (
            pgettext_lazy("keyboard", "Mouse drag"),
            gettext_lazy("Draw a box; click a box to select it"),
        ),
        (
            pgettext_lazy("keyboard", "Arrow keys"),
            gettext_lazy("Move the selected box by a pixel (with Shift: ten)"),
        ),
        ("Delete", gettext_lazy("Remove the selected box")),
        ("Escape", gettext_lazy("Deselect the box")),
    ],
    "spans": [
        (
            pgettext_lazy("keyboard", "Mouse"),
            gettext_lazy("Select words, then press a class's number"),
        ),
        ("← / →", gettext_lazy("Move through the words (Shift extends the selection)")),
        ("1–9", gettext_lazy("Mark the selected words with that class")),
        ("Delete", gettext_lazy("Remove the span on the current word")),
    ],
    "pairwise": [
        (pgettext_lazy("keyboard", "1 or ←"), gettext_lazy("The left answer is better")),
        (pgettext_lazy("keyboard", "2 or →"), gettext_lazy("The right answer is better")),
        (pgettext_lazy("keyboard", "3 or ↓"), gettext_lazy("A tie (where the dataset allows it)")),
    ],
    "text": [
        ("Ctrl+Enter", gettext_lazy("Submit the transcription from the text box")),
        ("Escape", gettext_lazy("Leave the text box, so the shortcuts below work")),
    ],
}


def keyboard_help(
    *, keys: list[str], multi_choice: bool, task_type: str = "classification"
) -> list[tuple[StrOrPromise, StrOrPromise]]:
    pick = gettext("Tick or untick a label") if multi_choice else gettext("Pick a label")
    first = TYPE_KEYS.get(task_type, [(keys_hint(keys), pick)])
    return [
        *first,
        ("Enter", gettext("Submit your answer")),
        ("S", gettext("Skip this item (you will not see it again)")),
        ("U", gettext("Undo your last answer (within %(n)s seconds)") % {"n": undo_seconds()}),
        ("+ / −", gettext("Zoom the image in or out")),
        ("?", gettext("Show or hide this help (Escape also hides it)")),
    ]


@require_GET
def label_page(request: HttpRequest, dao_slug: str, dataset_slug: str) -> HttpResponse:
    """Label a labeling dataset's items one by one; the page never reloads between items."""
    dataset = (
        Dataset.objects.select_related("dao")
        .filter(dao__slug=dao_slug, slug=dataset_slug, kind=DatasetKind.LABELING)
        .first()
    )
    user = request.user if request.user.is_authenticated else None
    if dataset is None or not dataset_visible_to(user, dataset):
        raise Http404("No such labeling dataset.")
    conf = labeling_settings(dataset.schema)
    keys = label_keys(conf.labels)
    progress: dict[str, Any] | None = None
    if user is None:
        state = "signed_out"
    elif not Membership.objects.filter(dao_id=dataset.dao_id, user=user).exists():
        state = "not_member"
    elif dataset.status != DatasetStatus.OPEN:
        state = "not_open"
    else:
        progress = labeler_progress(dataset_id=dataset.pk, labeler=user)
        state = "paused" if progress["paused"] else "ready"
    # The API's per-hold URLs are built by the script from this prefix.
    api_base = reverse("api-label-next", args=[dataset.pk]).removesuffix("next")
    return render(
        request,
        "labeling/label.html",
        {
            "dataset": dataset,
            "state": state,
            "progress": progress,
            "labels": list(zip(keys, conf.labels, strict=True)),
            "multi_choice": conf.multi_choice,
            "shortcuts": keyboard_help(
                keys=keys, multi_choice=conf.multi_choice, task_type=conf.task_type
            ),
            "task_type": conf.task_type,
            "api_base": api_base,
            "gold_window": GOLD_WINDOW,
            "gold_report_every": GOLD_REPORT_EVERY,
        },
    )


@require_GET
def review_page(request: HttpRequest, dao_slug: str, dataset_slug: str) -> HttpResponse:
    """A reviewer's queue of a labeling dataset: settled items least confident first, each
    accepted, fixed or sent back for more labels through the JSON API
    (``static/labeling/review.js``)."""
    dataset = (
        Dataset.objects.select_related("dao")
        .filter(dao__slug=dao_slug, slug=dataset_slug, kind=DatasetKind.LABELING)
        .first()
    )
    user = request.user if request.user.is_authenticated else None
    if dataset is None or not dataset_visible_to(user, dataset):
        raise Http404("No such labeling dataset.")
    if user is None:
        state = "signed_out"
    elif not is_reviewer(dataset, user):
        state = "not_reviewer"
    else:
        state = "ready"
    conf = labeling_settings(dataset.schema)
    return render(
        request,
        "labeling/review.html",
        {
            "dataset": dataset,
            "state": state,
            "task_type": conf.task_type,
            "labels": conf.labels,
            "multi_choice": conf.multi_choice,
            "page_size": REVIEW_PAGE,
            "api_base": reverse("api-label-review", args=[dataset.pk]),
        },
    )
