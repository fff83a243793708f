"""Console pages for labeling: tasks (mark gold, run consensus), labelers (resume), consensus
runs and bulk imports (upload a CSV / JSON Lines file). Scoped to the DAOs a user manages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from datadao.admin import DaoScopedAdmin, ObjectTool, ReadOnlyAdminMixin, dataset_tools
from datadao.admin_base import CappedCountAdmin
from datadao.http import localized
from datadao.models import Dataset, DatasetKind
from labeling import errors, services
from labeling.models import (
    ConsensusRun,
    ImportKind,
    LabelerStats,
    LabelImport,
    LabelTask,
    Review,
)


class ReadOnly(ReadOnlyAdminMixin, DaoScopedAdmin):
    pass


@admin.register(LabelTask)
class LabelTaskAdmin(CappedCountAdmin, ReadOnly):
    dao_lookup = "dataset__dao_id"
    list_display = (
        "id",
        "dataset",
        "kind",
        "status",
        "is_gold",
        "label_count",
        "wanted",
        "consensus",
        "posterior",
    )
    list_filter = ("status", "is_gold", "kind")
    search_fields = ("source_key",)
    readonly_fields = [f.name for f in LabelTask._meta.fields]
    list_select_related = ("dataset__dao",)
    actions = ("mark_gold", "run_consensus", "run_majority_vote")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    @admin.action(description=_("Mark as check questions (their consensus becomes the answer)"))
    def mark_gold(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        done = 0
        for task in queryset.filter(is_gold=False).exclude(consensus=None)[:1000]:
            try:
                services.task_set_gold(task_id=task.pk, answer=task.consensus, actor=request.user)
                done += 1
            except errors.LabelingRefused as exc:
                self.message_user(
                    request,
                    _("Task %(pk)s: %(refusal)s")
                    % {"pk": task.pk, "refusal": localized(exc.message)},
                    messages.ERROR,
                )
        skipped = queryset.filter(consensus=None).count()
        text = ngettext(
            "%(count)d task marked as a check question.",
            "%(count)d tasks marked as check questions.",
            done,
        ) % {"count": done}
        if skipped:
            text += " " + ngettext(
                "(%(count)d without a consensus was left as it is.)",
                "(%(count)d without a consensus were left as they are.)",
                skipped,
            ) % {"count": skipped}
        self.message_user(request, text)

    def _run(self, request: HttpRequest, queryset: QuerySet[LabelTask], method: str) -> None:
        for dataset_id in queryset.values_list("dataset_id", flat=True).distinct():
            try:
                run = services.consensus_run_request(
                    dataset_id=dataset_id, actor=request.user, method=method
                )
            except errors.LabelingRefused as exc:
                self.message_user(request, localized(exc.message), messages.ERROR)
                continue
            self.message_user(
                request,
                _("Consensus run %(pk)s for dataset %(dataset)s: %(status)s.")
                % {"pk": run.pk, "dataset": dataset_id, "status": run.get_status_display()},
            )

    @admin.action(description=_("Run Dawid–Skene consensus for these tasks' datasets"))
    def run_consensus(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        self._run(request, queryset, "ds")

    @admin.action(description=_("Run majority vote for these tasks' datasets (baseline)"))
    def run_majority_vote(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        self._run(request, queryset, "mv")


@admin.register(LabelerStats)
class LabelerStatsAdmin(ReadOnly):
    dao_lookup = "dataset__dao_id"
    list_display = (
        "labeler",
        "dataset",
        "labels",
        "gold_shown_answered",
        "gold_percent",
        "ds_accuracy",
        "agreement",
        "median_ms",
        "suggestions_shown",
        "taken_percent",
        "paused_at",
    )
    list_filter = ("paused_at",)
    readonly_fields = [f.name for f in LabelerStats._meta.fields]
    list_select_related = ("labeler", "dataset__dao")
    actions = ("resume",)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    @admin.display(description=_("Gold accuracy (reported)"))
    def gold_percent(self, obj: LabelerStats) -> str:
        value = obj.gold_accuracy
        return "–" if value is None else f"{value:.0%}"

    @admin.display(description=_("Suggestions taken"))
    def taken_percent(self, obj: LabelerStats) -> str:
        shown = obj.suggestions_shown
        return "–" if not shown else f"{obj.suggestions_taken / shown:.0%}"

    @admin.action(description=_("Resume the selected paused labelers"))
    def resume(self, request: HttpRequest, queryset: QuerySet[LabelerStats]) -> None:
        for stats in queryset.filter(paused_at__isnull=False).select_related("labeler"):
            try:
                services.labeler_resume(
                    dataset_id=stats.dataset_id, labeler=stats.labeler, actor=request.user
                )
                self.message_user(request, _("%(labeler)s resumed.") % {"labeler": stats.labeler})
            except errors.LabelingRefused as exc:
                self.message_user(request, localized(exc.message), messages.ERROR)


METHODS = {"ds": _("Dawid–Skene"), "mv": _("majority vote")}


@admin.register(ConsensusRun)
class ConsensusRunAdmin(ReadOnly):
    dao_lookup = "dataset__dao_id"
    list_display = ("id", "dataset", "method", "status", "created_at", "finished_at", "summary")
    list_filter = ("status", "method")
    fields = [
        *(f.name for f in ConsensusRun._meta.fields if f.name != "metrics"),
        "metrics_table",
        "gold_confusion_table",
    ]
    readonly_fields = fields
    change_list_template = "admin/labeling/consensusrun/change_list.html"

    @admin.display(description=_("Result"))
    def summary(self, obj: ConsensusRun) -> str:
        m = obj.metrics or {}
        if obj.status != "done":
            return obj.error or "–"
        alpha = m.get("alpha")
        return f"{m.get('tasks', 0)} items, {m.get('labels', 0)} labels; alpha " + (
            "–" if alpha is None else f"{alpha:.3f}"
        )

    @admin.display(description=_("Metrics"))
    def metrics_table(self, obj: ConsensusRun) -> str:
        return metrics_html(obj.metrics or {}, labels=_labels(obj))

    @admin.display(description=_("Check questions: answers given (rows) against the right answer"))
    def gold_confusion_table(self, obj: ConsensusRun) -> str:
        matrix = (obj.metrics or {}).get("gold_confusion")
        return confusion_html(matrix, labels=_labels(obj)) if matrix else "–"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.run_view)
        return [path("run/", view, name="labeling_consensusrun_run"), *super().get_urls()]

    def _runnable(self, request: HttpRequest) -> QuerySet[Dataset]:
        queryset = Dataset.objects.filter(kind=DatasetKind.LABELING)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(dao_id__in=self._dao_ids(request))

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a whole-dataset consensus (``consensus_run_request``) and show its run."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        dataset_id = request.POST.get("dataset", "")
        if not dataset_id.isdigit():
            self.message_user(request, _("Choose a labeling dataset to run."), messages.ERROR)
            return redirect("admin:labeling_consensusrun_changelist")
        dataset = get_object_or_404(self._runnable(request), pk=int(dataset_id))
        try:
            run = services.consensus_run_request(
                dataset_id=dataset.pk, actor=request.user, method=request.POST.get("method", "ds")
            )
        except errors.LabelingRefused as exc:
            self.message_user(request, localized(exc.message), messages.ERROR)
            return redirect("admin:labeling_consensusrun_changelist")
        self.message_user(
            request,
            _("Consensus run %(pk)s (%(method)s) for %(dataset)s: %(status)s.")
            % {
                "pk": run.pk,
                "method": METHODS.get(run.method, run.method),
                "dataset": dataset,
                "status": run.get_status_display(),
            },
            messages.SUCCESS,
        )
        return redirect("admin:labeling_consensusrun_change", run.pk)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = dict(extra_context or {})
        context["run_datasets"] = list(self._runnable(request).select_related("dao")[:200])
        context["run_methods"] = list(METHODS.items())
        return super().changelist_view(request, context)


def _labels(run: ConsensusRun) -> list[str]:
    return [str(x) for x in (run.dataset.schema or {}).get("labels", [])]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def metrics_html(metrics: dict[str, Any], *, labels: list[str]) -> str:
    """A run's metrics as a two-column table; priors per label as a nested table. Every value
    goes through format_html (escaped). The gold confusion matrix has its own field."""
    rows = []
    for key, value in metrics.items():
        if key == "gold_confusion":
            continue
        if key == "priors" and isinstance(value, list):
            names = labels if len(labels) == len(value) else [str(i) for i in range(len(value))]
            inner = format_html_join(
                "",
                "<tr><th scope='row'>{}</th><td>{}</td></tr>",
                zip(names, map(_cell, value), strict=True),
            )
            rows.append(
                format_html(
                    "<tr><th scope='row'>{}</th><td><table>{}</table></td></tr>", _("priors"), inner
                )
            )
            continue
        rows.append(format_html("<tr><th scope='row'>{}</th><td>{}</td></tr>", key, _cell(value)))
    if not rows:
        return "–"
    body = format_html_join("", "{}", ((r,) for r in rows))
    return format_html('<table class="dd-metrics">{}</table>', body)


def confusion_html(matrix: list[list[Any]], *, labels: list[str]) -> str:
    names = labels if len(labels) == len(matrix) else [str(i) for i in range(len(matrix))]
    head = format_html_join("", "<th scope='col'>{}</th>", ((n,) for n in names))
    body = format_html_join(
        "",
        "<tr><th scope='row'>{}</th>{}</tr>",
        (
            (name, format_html_join("", "<td>{}</td>", ((_cell(v),) for v in row)))
            for name, row in zip(names, matrix, strict=True)
        ),
    )
    return format_html(
        '<table class="dd-metrics"><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


def _consensus_tools(request: HttpRequest, dataset: Dataset) -> list[ObjectTool]:
    if dataset.kind != DatasetKind.LABELING:
        return []
    url = reverse("admin:labeling_consensusrun_run")
    return [
        ObjectTool(_("Run consensus"), url, {"dataset": str(dataset.pk), "method": "ds"}),
        ObjectTool(_("Run majority vote"), url, {"dataset": str(dataset.pk), "method": "mv"}),
    ]


dataset_tools.append(_consensus_tools)


class ImportForm(forms.ModelForm):
    upload = forms.FileField(
        help_text=_("CSV (header: id, text|cid|columns…, gold) or JSON Lines.")
    )
    kind = forms.ChoiceField(
        choices=ImportKind.choices,
        initial=ImportKind.ITEMS,
        required=False,
        help_text=_(
            'Pre-labels: JSON Lines of {"id" (the item\'s id) or "external_id", '
            '"prediction", "model_version", "score"}, one model answer per existing item.'
        ),
    )

    class Meta:
        model = LabelImport
        fields = ("dataset",)

    def clean_upload(self) -> Any:
        upload = self.cleaned_data["upload"]
        if not upload.size:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def clean(self) -> Any:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        jsonl = upload is not None and upload.name.lower().endswith((".jsonl", ".ndjson"))
        if cleaned.get("kind") == ImportKind.PREDICTIONS and upload is not None and not jsonl:
            self.add_error(
                "upload", _("Pre-labels are imported from JSON Lines (.jsonl), not CSV.")
            )
        return cleaned


@admin.register(LabelImport)
class LabelImportAdmin(DaoScopedAdmin):
    """Bulk imports: upload a file here; a worker imports it with progress."""

    dao_lookup = "dataset__dao_id"
    form = ImportForm
    list_display = (
        "id",
        "dataset",
        "file_name",
        "kind",
        "status",
        "percent",
        "rows_created",
        "rows_failed",
    )
    list_filter = ("status",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in LabelImport._meta.fields] if obj else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj:
            return [f.name for f in LabelImport._meta.fields]
        return ["dataset", "kind", "upload"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Progress"))
    def percent(self, obj: LabelImport) -> str:
        return f"{obj.progress:.0%}"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "dataset":
            queryset = Dataset.objects.filter(kind=DatasetKind.LABELING)
            if not self._global(request, "add"):
                queryset = queryset.filter(dao_id__in=self._dao_ids(request))
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        job = services.label_import_upload(
            dataset_id=obj.dataset_id,
            actor=request.user,
            upload=form.cleaned_data["upload"],
            kind=form.cleaned_data.get("kind") or ImportKind.ITEMS,
        )
        obj.pk = job.pk
        obj.__dict__.update(LabelImport.objects.filter(pk=job.pk).values()[0])


@admin.register(Review)
class ReviewAdmin(ReadOnly):
    """Reviews of settled items, who made them and when; each dataset's queue is worked on its
    review page (``labeling.views.review_page``)."""

    dao_lookup = "dataset__dao_id"
    list_display = (
        "id",
        "dataset",
        "task",
        "settlement",
        "decision",
        "reviewer",
        "overturned",
        "upheld",
        "created_at",
        "queue",
    )
    list_filter = ("decision",)
    readonly_fields = [f.name for f in Review._meta.fields]
    list_select_related = ("dataset__dao", "reviewer")
    show_full_result_count = False

    @admin.display(description=_("Review queue"))
    def queue(self, obj: Review) -> str:
        url = reverse("review-page", args=[obj.dataset.dao.slug, obj.dataset.slug])
        return format_html('<a href="{}">{}</a>', url, _("open"))
