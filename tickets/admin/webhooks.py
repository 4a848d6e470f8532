"""The admin of outgoing webhooks and their delivery log: hooks are made and edited here (their
URL checked against private networks), pinged, switched on again; deliveries are read-only and
can be sent again."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tickets.models import Webhook, WebhookDelivery
from tickets.webhooks import actions, delivery, payload

RECENT_DELIVERIES = 10


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=Webhook.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events POSTed to the URL."),
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "events", "department", "secret", "owner", "allow_private", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields["secret"].initial = secrets.token_hex(32)

    def clean_events(self) -> list[str]:
        chosen = set(self.cleaned_data["events"])
        return [value for value in Webhook.Event.values if value in chosen]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        url = cleaned.get("url")
        if url:
            try:
                delivery.check(url, allow_private=bool(cleaned.get("allow_private")))
            except delivery.Refused as exc:
                self.add_error("url", str(exc))
            except delivery.Failed:
                pass  # a name that does not resolve yet is checked again at each delivery
        return cleaned


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = (
        "name",
        "url",
        "event_list",
        "department",
        "is_active",
        "consecutive_failures",
        "disabled_at",
    )
    list_filter = ("is_active", "department")
    search_fields = ("name", "url")
    list_select_related = ("department",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("consecutive_failures", "disabled_at", "disabled_reason", "created_at", "delivery_log")
    fieldsets = (
        (None, {"fields": ("name", "url", "events", "department", "owner", "is_active")}),
        (
            _("Security"),
            {
                "fields": ("secret", "allow_private"),
                "description": _(
                    "Each delivery is signed: X-Signature: t=<unix time>,v1=<hex "
                    "HMAC-SHA256 of “t.body” with the secret>. Refuse timestamps older than a few minutes."
                ),
            },
        ),
        (_("Health"), {"fields": ("consecutive_failures", "disabled_at", "disabled_reason", "created_at")}),
        (_("Recent deliveries"), {"fields": ("delivery_log",)}),
    )
    actions = ("send_ping", "switch_on")

    @admin.display(description=_("events"))
    def event_list(self, hook: Webhook) -> str:
        return ", ".join(hook.events or []) or "-"

    @admin.display(description=_("deliveries"))
    def delivery_log(self, hook: Webhook) -> SafeString | str:
        if not hook.pk:
            return "-"
        recent = hook.deliveries.select_related("ticket")[:RECENT_DELIVERIES]
        rows = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:tickets_webhookdelivery_change", args=[d.pk]),
                    d.pk,
                    d.event,
                    d.get_status_display(),
                    d.response_code or "-",
                    gettext("%(ms)s ms") % {"ms": d.duration_ms} if d.duration_ms is not None else "-",
                    d.attempts,
                    d.error or "",
                    f"{d.created_at:%Y-%m-%d %H:%M:%S}",
                )
                for d in recent
            ),
        )
        everything = reverse("admin:tickets_webhookdelivery_changelist") + f"?webhook__id__exact={hook.pk}"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table><p><a href='{}'>{}</a></p>",
            gettext("id"),
            gettext("event"),
            gettext("status"),
            gettext("response"),
            gettext("duration"),
            gettext("tries"),
            gettext("error"),
            gettext("created"),
            rows,
            everything,
            gettext("All deliveries of this webhook"),
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.action(description=_("Send a test ping"))
    def send_ping(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for hook in queryset:
            sent = actions.webhook_ping(webhook=hook)
            queued = gettext("%(webhook)s: ping queued (delivery %(id)s); see its delivery log.")
            self.message_user(request, queued % {"webhook": hook, "id": sent.pk})

    @admin.action(description=_("Switch on again (failures back to 0)"))
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        count = 0
        for hook in queryset:
            actions.webhook_switch_on(webhook=hook)
            count += 1
        done = ngettext("Switched on %(count)d webhook.", "Switched on %(count)d webhooks.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read-only; a delivery can be sent again."""

    list_display = (
        "id",
        "webhook",
        "event",
        "ticket_number",
        "status",
        "response_code",
        "duration_ms",
        "attempts",
        "error",
        "created_at",
    )
    list_filter = ("status", "event", "webhook")
    search_fields = ("ticket__number", "error")
    list_select_related = ("webhook", "ticket")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "webhook",
        "event",
        "ticket",
        "status",
        "attempts",
        "response_code",
        "duration_ms",
        "error",
        "created_at",
        "delivered_at",
        "body",
    )
    readonly_fields = fields
    actions = ("send_again",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: WebhookDelivery) -> str:
        return f"#{obj.ticket.number}" if obj.ticket_id and obj.ticket.number else "-"

    @admin.display(description=_("body sent (signed as is)"))
    def body(self, obj: WebhookDelivery) -> SafeString:
        pretty = json.dumps(json.loads(payload.body(obj)), indent=2, ensure_ascii=False)
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", pretty)

    @admin.action(description=_("Send again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for sent in queryset:
            actions.delivery_send_again(delivery=sent)
            count += 1
        done = ngettext("Queued %(count)d delivery again.", "Queued %(count)d deliveries again.", count)
        self.message_user(request, done % {"count": count})
