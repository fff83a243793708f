"""The console's webhook pages: a DAO's endpoints (add, edit, enable, disable, rotate the
secret) and the delivery log (redeliver). Scoped per DAO like the rest of the console; every
change goes through ``webhooks.services``. The secret is shown once, when it is made."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from datadao.admin_base import CappedCountAdmin, DaoScopedAdmin, ReadOnlyAdminMixin
from datadao.events import EVENT_DESCRIPTIONS, EVENT_TYPES
from datadao.http import localized
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

_SECRET_NOTE = _(
    "Signing secret for {url} (shown this once; copy it into your receiver now): {secret}  "
    "Check every delivery's X-Datadao-Signature with it (README: Webhooks)."
)


class _Actions:
    """Actions for those who manage some DAO here, each through a service; refusals shown."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if not self._scoped(request, "view"):  # type: ignore[attr-defined]
            return {}
        actions.pop("delete_selected", None)
        return actions

    def _apply(self, request: HttpRequest, queryset: QuerySet[Any], fn: Any, done: Any) -> int:
        # ``done``: an ngettext_lazy message whose number is "count".
        count = 0
        for obj in queryset:
            try:
                fn(obj)
                count += 1
            except services.WebhookRefused as exc:
                self.message_user(request, f"{obj}: {localized(exc.message)}", messages.ERROR)  # type: ignore[attr-defined]
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)  # type: ignore[attr-defined]
        return count


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("Where each event is POSTed (http or https; not this platform's own network)."),
    )
    events = forms.MultipleChoiceField(
        choices=[
            (name, format_lazy("{}: {}", name, EVENT_DESCRIPTIONS[name])) for name in EVENT_TYPES
        ],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events sent to this URL."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["dao", "url", "description", "events"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            return services.url_checked(url)
        except services.WebhookRefused as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_Actions, DaoScopedAdmin):
    """The URLs a DAO's events are sent to. Endpoints are disabled, never deleted: their
    deliveries stay in the log."""

    form = EndpointForm
    list_display = ("url", "dao", "event_list", "state", "consecutive_failures", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("dao",)
    search_fields = ("url", "description")
    actions = ("enable", "disable", "rotate_secret")
    _DETAILS = (
        "enabled",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_by",
        "created_at",
        "updated_at",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        base = ["dao", "url", "description", "events"]
        return base if obj is None else [*base, *self._DETAILS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("dao", *self._DETAILS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description=_("State"))
    def state(self, obj: WebhookEndpoint) -> str:
        if obj.enabled:
            return "failing" if obj.consecutive_failures else "enabled"
        return "disabled"

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            services.endpoint_update(
                endpoint=obj,
                actor=request.user,
                url=data["url"],
                events=data["events"],
                description=data.get("description", ""),
            )
            return
        endpoint, secret = services.endpoint_create(
            dao=data["dao"],
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            actor=request.user,
        )
        obj.pk = endpoint.pk
        self.message_user(
            request, _SECRET_NOTE.format(url=endpoint.url, secret=secret), messages.WARNING
        )

    @admin.action(description=_("Enable selected endpoints (their failure count is cleared)"))
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self._apply(
            request,
            queryset,
            lambda e: services.endpoint_enable(endpoint=e, actor=request.user),
            ngettext_lazy("%(count)d endpoint enabled.", "%(count)d endpoints enabled.", "count"),
        )

    @admin.action(description=_("Disable selected endpoints"))
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self._apply(
            request,
            queryset,
            lambda e: services.endpoint_disable(endpoint=e, actor=request.user),
            ngettext_lazy("%(count)d endpoint disabled.", "%(count)d endpoints disabled.", "count"),
        )

    @admin.action(description=_("Rotate the signing secret of selected endpoints"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            try:
                secret = services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
            except services.WebhookRefused as exc:
                self.message_user(request, f"{endpoint}: {localized(exc.message)}", messages.ERROR)
                continue
            self.message_user(
                request, _SECRET_NOTE.format(url=endpoint.url, secret=secret), messages.WARNING
            )


class EventTypeFilter(admin.SimpleListFilter):
    """The event types there are, not the distinct types of every event sent."""

    title = _("event type")
    parameter_name = "event__type__exact"  # the URL the plain field filter used

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in EVENT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> Any:
        return queryset.filter(event__type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_Actions, ReadOnlyAdminMixin, CappedCountAdmin, DaoScopedAdmin):
    """The delivery log: each event sent to each endpoint, its attempts and last answer."""

    dao_lookup = "endpoint__dao_id"
    list_display = (
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "last_attempt_at",
        "next_attempt_at",
        "error",
    )
    list_filter = ("status", EventTypeFilter)
    list_select_related = ("event", "endpoint")
    search_fields = ("endpoint__url", "key")
    actions = ("redeliver",)
    readonly_fields = (
        "endpoint",
        "event_type",
        "key",
        "status",
        "attempts",
        "redeliveries",
        "next_attempt_at",
        "last_attempt_at",
        "response_status",
        "response_excerpt",
        "error",
        "duration_ms",
        "created_at",
        "succeeded_at",
        "body",
    )

    @admin.display(description=_("Event"), ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description=_("Body sent"))
    def body(self, obj: WebhookDelivery) -> str:
        document = json.loads(services.event_body(obj.event))
        return format_html("<pre>{}</pre>", json.dumps(document, indent=2, sort_keys=True))

    @admin.action(description=_("Redeliver selected deliveries"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        self._apply(
            request,
            queryset,
            lambda d: services.delivery_redeliver(delivery=d, actor=request.user),
            ngettext_lazy(
                "%(count)d delivery sent again.", "%(count)d deliveries sent again.", "count"
            ),
        )
