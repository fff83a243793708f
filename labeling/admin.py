"""Console pages for labeling: tasks (mark gold, run consensus), labelers (resume), consensus
runs and bulk imports (upload a CSV / JSON Lines file). Scoped to the DAOs a user manages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from datadao.admin import DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.models import Dataset, DatasetKind
from labeling import errors, services
from labeling.models import ConsensusRun, LabelerStats, LabelImport, LabelTask


class ReadOnly(ReadOnlyAdminMixin, DaoScopedAdmin):
    pass


@admin.register(LabelTask)
class LabelTaskAdmin(ReadOnly):
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
    # Counting a million rows for every page is what makes big projects' consoles slow.
    show_full_result_count = False
    list_select_related = ("dataset",)
    actions = ("mark_gold", "run_consensus", "run_majority_vote")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    @admin.action(description="Mark as check questions (their consensus becomes the answer)")
    def mark_gold(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        done = 0
        for task in queryset.filter(is_gold=False).exclude(consensus=None)[:1000]:
            try:
                services.task_set_gold(task_id=task.pk, answer=task.consensus, actor=request.user)
                done += 1
            except errors.LabelingRefused as exc:
                self.message_user(request, f"task {task.pk}: {exc.message}", messages.ERROR)
        skipped = queryset.filter(consensus=None).count()
        note = f" ({skipped} without a consensus were left as they are)" if skipped else ""
        self.message_user(request, f"{done} task(s) marked as check questions{note}.")

    def _run(self, request: HttpRequest, queryset: QuerySet[LabelTask], method: str) -> None:
        for dataset_id in queryset.values_list("dataset_id", flat=True).distinct():
            try:
                run = services.consensus_run_request(
                    dataset_id=dataset_id, actor=request.user, method=method
                )
            except errors.LabelingRefused as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            self.message_user(
                request, f"Consensus run {run.pk} for dataset {dataset_id}: {run.status}."
            )

    @admin.action(description="Run Dawid–Skene consensus for these tasks' datasets")
    def run_consensus(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        self._run(request, queryset, "ds")

    @admin.action(description="Run majority vote for these tasks' datasets (baseline)")
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
        "paused_at",
    )
    list_filter = ("paused_at",)
    readonly_fields = [f.name for f in LabelerStats._meta.fields]
    list_select_related = ("labeler", "dataset")
    actions = ("resume",)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    @admin.display(description="Gold accuracy (reported)")
    def gold_percent(self, obj: LabelerStats) -> str:
        value = obj.gold_accuracy
        return "–" if value is None else f"{value:.0%}"

    @admin.action(description="Resume the selected paused labelers")
    def resume(self, request: HttpRequest, queryset: QuerySet[LabelerStats]) -> None:
        for stats in queryset.filter(paused_at__isnull=False).select_related("labeler"):
            try:
                services.labeler_resume(
                    dataset_id=stats.dataset_id, labeler=stats.labeler, actor=request.user
                )
                self.message_user(request, f"{stats.labeler} resumed.")
            except errors.LabelingRefused as exc:
                self.message_user(request, exc.message, messages.ERROR)


@admin.register(ConsensusRun)
class ConsensusRunAdmin(ReadOnly):
    dao_lookup = "dataset__dao_id"
    list_display = ("id", "dataset", "method", "status", "created_at", "finished_at", "summary")
    list_filter = ("status", "method")
    readonly_fields = [f.name for f in ConsensusRun._meta.fields]

    @admin.display(description="Result")
    def summary(self, obj: ConsensusRun) -> str:
        m = obj.metrics or {}
        if obj.status != "done":
            return obj.error or "–"
        alpha = m.get("alpha")
        return f"{m.get('tasks', 0)} items, {m.get('labels', 0)} labels; alpha " + (
            "–" if alpha is None else f"{alpha:.3f}"
        )


class ImportForm(forms.ModelForm):
    upload = forms.FileField(help_text="CSV (header: id, text|cid|columns…, gold) or JSON Lines.")

    class Meta:
        model = LabelImport
        fields = ("dataset",)

    def clean_upload(self) -> Any:
        upload = self.cleaned_data["upload"]
        if not upload.size:
            raise forms.ValidationError("The file is empty.")
        return upload


@admin.register(LabelImport)
class LabelImportAdmin(DaoScopedAdmin):
    """Bulk imports: upload a file here; a worker imports it with progress."""

    dao_lookup = "dataset__dao_id"
    form = ImportForm
    list_display = (
        "id",
        "dataset",
        "file_name",
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
        return ["dataset", "upload"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Progress")
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
            dataset_id=obj.dataset_id, actor=request.user, upload=form.cleaned_data["upload"]
        )
        obj.pk = job.pk
        obj.__dict__.update(LabelImport.objects.filter(pk=job.pk).values()[0])
