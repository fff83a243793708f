"""Console pages for synthetic data: start a job, watch its progress, read its report, gate
decision and (for "auto") why a candidate won, cancel it, or choose the copula's rows when only
they passed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from datadao.admin import DaoScopedAdmin
from datadao.http import localized
from datadao.models import Dataset, DatasetKind
from ipfs.links import cid_link
from synthetic import budget as budget_services
from synthetic import services
from synthetic.models import Method, PrivacyBudget, SyntheticJob

INPUT_FIELDS = (
    "dataset",
    "method",
    "rows_wanted",
    "seed",
    "epochs",
    "time_budget_s",
    "target",
    "dp_epsilon",
    "dp_delta",
    "constraints",
    "conditions",
    "infer_constraints",
    "augment",
)


class JobForm(forms.ModelForm):
    # A choice among the methods job_create runs, so a misspelt method never reaches it.
    method = forms.ChoiceField(
        choices=Method.choices,
        initial=Method.GAN,
        help_text=_(
            "GAN, TVAE or copula for tabular datasets (auto: all three, and the best "
            "that passes the gate is published); augment for image datasets."
        ),
    )

    class Meta:
        model = SyntheticJob
        fields = INPUT_FIELDS
        help_texts = {
            "epochs": _("Leave empty for the default (early stopping picks the best epoch)."),
            "time_budget_s": _("Or a time budget in seconds instead of epochs."),
            "target": _("The column to keep the class structure of (default: the schema's)."),
            "dp_epsilon": _("Differential privacy: ε spent by this job (empty: no DP)."),
            "constraints": _(
                'Kept in every row, e.g. ["signup<=last_login", "range:age:0:120", '
                '"fixed:city,country"] (besides the schema\'s "constraints").'
            ),
            "conditions": _('Generate only a subgroup, e.g. {"grade": "A"}.'),
            "infer_constraints": _("Also keep inequalities that hold in every training row."),
            "augment": _(
                'Image pipeline, e.g. {"flip_horizontal": 0.5, "rotate_degrees": 10, '
                '"noise_std": 3}; empty for the defaults.'
            ),
        }


@admin.register(SyntheticJob)
class SyntheticJobAdmin(DaoScopedAdmin):
    dao_lookup = "dataset__dao_id"
    form = JobForm
    list_display = (
        "id",
        "dataset",
        "method",
        "rows_wanted",
        "status",
        "stage",
        "gate",
        "created_at",
    )
    list_filter = ("status", "method")
    actions = ("cancel", "publish_copula", "run_again")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return INPUT_FIELDS
        return (
            *INPUT_FIELDS,
            "status",
            "stage",
            "gate_report",
            "output_link",
            "parquet_link",
            "output_rows",
            "checkpoint_link",
            "report_link",
            "published_method",
            "epsilon_spent",
            "error",
            "provenance",
            "created_at",
            "finished_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if obj else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self._scoped(request, "view") else {}

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "dataset":
            queryset = Dataset.objects.filter(kind__in=[DatasetKind.TABULAR, DatasetKind.FILES])
            if not self._global(request, "add"):
                queryset = queryset.filter(dao_id__in=self._dao_ids(request))
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data.get(k) for k in INPUT_FIELDS}
        try:
            job = services.job_create(
                actor=request.user,
                dataset=data.pop("dataset"),
                rows_wanted=data.pop("rows_wanted"),
                seed=data.pop("seed") or 0,
                target=data.pop("target") or "",
                augment=data.pop("augment") or {},
                constraints=data.pop("constraints") or [],
                conditions=data.pop("conditions") or {},
                **data,
            )
        except services.SyntheticRefused as exc:
            # Refusals are shown on the form (see get_form), so nothing is half-stored.
            raise forms.ValidationError(exc.message) from exc
        obj.pk = job.pk
        obj.__dict__.update(SyntheticJob.objects.filter(pk=job.pk).values()[0])

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        try:
            return super().add_view(request, form_url, extra_context)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(map(localized, exc.messages)), messages.ERROR)
            from django.shortcuts import redirect

            return redirect(request.get_full_path())

    @admin.display(description=_("Progress"))
    def stage(self, obj: SyntheticJob) -> str:
        p = obj.progress or {}
        parts = [str(p.get("stage", "–"))]
        if "epoch" in p:
            parts.append(_("epoch %(epoch)s") % {"epoch": p["epoch"]})
        if p.get("loss_generator") is not None and p.get("loss_critic") is not None:
            parts.append(
                _("losses G %(generator).3f / D %(critic).3f")
                % {"generator": p["loss_generator"], "critic": p["loss_critic"]}
            )
        if p.get("eta_s") is not None:
            parts.append(_("ETA %(seconds).0f s") % {"seconds": float(p["eta_s"])})
        return ", ".join(parts)

    @admin.display(description=_("Rows (CSV) CID"))
    def output_link(self, obj: SyntheticJob) -> str:
        return cid_link(obj.output_cid) or "–"

    @admin.display(description=_("Parquet CID"))
    def parquet_link(self, obj: SyntheticJob) -> str:
        return cid_link(obj.parquet_cid) or "–"

    @admin.display(description=_("Checkpoint CID"))
    def checkpoint_link(self, obj: SyntheticJob) -> str:
        return cid_link(obj.checkpoint_cid) or "–"

    @admin.display(description=_("Report and provenance CID"))
    def report_link(self, obj: SyntheticJob) -> str:
        return cid_link(obj.report_cid) or "–"

    @admin.display(description=_("Gate"))
    def gate(self, obj: SyntheticJob) -> str:
        if obj.passed is None:
            return "–"
        text = _("passed") if obj.passed else _("failed")
        if obj.passed and obj.method == "auto":
            text = _("%(outcome)s (%(method)s chosen)") % {
                "outcome": text,
                "method": obj.published_method,
            }
        if not obj.passed and obj.publishable == "copula":
            text = _("%(outcome)s (copula baseline passed: may be published instead)") % {
                "outcome": text
            }
        return text

    @admin.display(description=_("Report"))
    def gate_report(self, obj: SyntheticJob) -> Any:
        from synthetic.selectors import report_summary

        rows = []
        for line in report_summary(obj.report or {}):
            verdict = _("PASSED") if line["passed"] else _("FAILED")
            checks = format_html_join(
                "", "<li>{}: {}</li>", ((c["name"], c["reason"]) for c in line["checks"])
            )
            rows.append(
                format_html("<p><b>{}</b>: {}</p><ul>{}</ul>", line["generator"], verdict, checks)
            )
        choice = (obj.report or {}).get("choice")
        if choice:
            ranked = format_html_join(
                "",
                "<li>{}. {} {}: {}</li>",
                (
                    (line["rank"], name, line["outcome"], line["reason"])
                    for name, line in choice["candidates"].items()
                ),
            )
            rows.append(
                format_html(
                    "<p>{}</p><ol>{}</ol>",
                    _("Auto: %(ordering)s") % {"ordering": choice["ordering"]},
                    ranked,
                )
            )
        advice = (obj.report or {}).get("recommendation", {}).get("reason", "")
        return format_html("{}<p>{}</p>", format_html_join("", "{}", ((r,) for r in rows)), advice)

    @admin.action(description=_("Cancel the selected jobs"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[SyntheticJob]) -> None:
        for job in queryset:
            try:
                services.job_cancel(job=job, actor=request.user)
                self.message_user(
                    request, _("Job %(pk)s: cancellation requested.") % {"pk": job.pk}
                )
            except services.SyntheticRefused as exc:
                self.message_user(request, localized(exc.message), messages.ERROR)

    @admin.action(description=_("Publish the copula baseline's rows instead (audited)"))
    def publish_copula(self, request: HttpRequest, queryset: QuerySet[SyntheticJob]) -> None:
        for job in queryset:
            try:
                follow = services.job_publish_copula(job=job, actor=request.user)
                self.message_user(
                    request,
                    _("Job %(pk)s: copula rows queued as job %(follow)s.")
                    % {"pk": job.pk, "follow": follow.pk},
                )
            except services.SyntheticRefused as exc:
                self.message_user(request, localized(exc.message), messages.ERROR)

    @admin.action(description=_("Run again from the provenance (same rows, recorded epochs)"))
    def run_again(self, request: HttpRequest, queryset: QuerySet[SyntheticJob]) -> None:
        # It queues a new job: the same right as starting one.
        if not self.has_add_permission(request):
            self.message_user(request, _("You may not start synthetic jobs."), messages.ERROR)
            return
        for job in queryset:
            try:
                follow = services.job_rerun(job=job, actor=request.user)
                self.message_user(
                    request,
                    _("Job %(pk)s: run again as job %(follow)s.")
                    % {"pk": job.pk, "follow": follow.pk},
                )
            except services.SyntheticRefused as exc:
                self.message_user(request, localized(exc.message), messages.ERROR)


class PrivacyBudgetForm(forms.ModelForm):
    class Meta:
        model = PrivacyBudget
        fields = ("dataset", "epsilon", "delta")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # Spent never goes down: a total below it is a form error, not a database error.
        spent_e = self.instance.epsilon_spent if self.instance.pk else 0.0
        spent_d = self.instance.delta_spent if self.instance.pk else 0.0
        if data.get("epsilon") is not None and data["epsilon"] < spent_e:
            self.add_error(
                "epsilon",
                _("The total ε cannot go below the %(spent)g already spent.") % {"spent": spent_e},
            )
        if data.get("delta") is not None and data["delta"] < spent_d:
            self.add_error(
                "delta",
                _("The total δ cannot go below the %(spent)g already spent.") % {"spent": spent_d},
            )
        return data


@admin.register(PrivacyBudget)
class PrivacyBudgetAdmin(DaoScopedAdmin):
    """Totals are changed through ``privacy_budget_set`` (audited, never below what was spent);
    what was spent is read-only and a budget cannot be deleted (that would reset the ledger)."""

    form = PrivacyBudgetForm
    dao_lookup = "dataset__dao_id"
    list_display = ("dataset", "epsilon", "epsilon_spent", "delta", "delta_spent")
    readonly_fields = ("epsilon_spent", "delta_spent")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The dataset of an existing budget is fixed: moving it would move the ledger.
        return (*self.readonly_fields, "dataset") if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            saved = budget_services.privacy_budget_set(
                dataset=obj.dataset, epsilon=obj.epsilon, delta=obj.delta, actor=request.user
            )
        except services.SyntheticRefused as exc:
            self.message_user(request, localized(exc.message), messages.ERROR)
            return
        obj.pk = saved.pk

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only the datasets of the DAOs one manages (it listed, and took, every DAO's).
        if db_field.name == "dataset" and not self._global(request, "change"):
            kwargs["queryset"] = Dataset.objects.filter(dao_id__in=self._dao_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
