"""The admin of mail in: the IMAP mailboxes, and the messages received (download, process again)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import services
from tickets.mailin import imap, store
from tickets.models import (
    InboundMessage,
    Mailbox,
)

# -- mail in ---------------------------------------------------------------------------------


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "username",
        "host",
        "folder",
        "department",
        "last_polled_at",
        "last_error",
    )
    list_filter = ("is_active", "security", "after_store")
    search_fields = ("name", "host", "username")
    list_select_related = ("department",)
    readonly_fields = ("last_polled_at", "last_error", "locked_until")
    fieldsets = (
        (None, {"fields": ("name", "is_active")}),
        (
            _("Server"),
            {
                "fields": ("host", "port", "security", "username", "password_env", "folder", "after_store"),
                "description": _(
                    "IMAP over TLS; the certificate is always checked (IMAP_CA_FILE adds a "
                    "private CA). A message is marked or deleted on the server only once it is stored here."
                ),
            },
        ),
        (_("New tickets"), {"fields": ("department", "help_topic")}),
        (_("Last poll"), {"fields": ("last_polled_at", "last_error", "locked_until")}),
    )
    actions = ("poll_now",)

    @admin.action(description=_("Read the selected mailboxes now"))
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        for mailbox in queryset:
            report = imap.poll(mailbox)
            if report.skipped:
                self.message_user(
                    request,
                    gettext("%(mailbox)s: another poll is running.") % {"mailbox": mailbox},
                    messages.WARNING,
                )
            elif report.error:
                self.message_user(request, f"{mailbox}: {report.error}", messages.ERROR)
            else:
                # Translators: e.g. "Support: 3 new of 5 fetched." (messages read from the mailbox).
                done = gettext("%(mailbox)s: %(stored)d new of %(fetched)d fetched.")
                self.message_user(
                    request, done % {"mailbox": mailbox, "stored": report.stored, "fetched": report.fetched}
                )


class NobodyMailedFilter(admin.SimpleListFilter):
    """The messages that made a ticket but mailed nobody: their sender was past a cap."""

    title = _("nobody mailed")
    parameter_name = "nobody_mailed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes: past a cap on the sender")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> QuerySet[InboundMessage]:
        if self.value() == "yes":
            return queryset.exclude(mail_suppressed="")
        if self.value() == "no":
            return queryset.filter(mail_suppressed="")
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Every message mail brought, with what became of it; the quarantine is the list filtered
    by status, the messages held back from a flooding sender by status ("too many from this
    sender") or by "nobody mailed". Read-only, but a quarantined or held message can be
    processed again."""

    list_display = ("subject", "sender", "status", "mail_suppressed", "ticket", "received_at")
    list_display_links = ("subject",)
    list_filter = ("status", NobodyMailedFilter, "source")
    search_fields = ("sender", "subject", "message_id")
    list_select_related = ("ticket",)
    date_hierarchy = "received_at"
    show_full_result_count = False
    change_form_template = "admin/tickets/inboundmessage/change_form.html"
    fields = (
        "received_at",
        "source",
        "sender",
        "subject",
        "message_id",
        "size",
        "status",
        "error",
        "mail_suppressed",
        "ticket",
        "processed_at",
        "headers",
        "raw_text",
    )
    readonly_fields = fields
    actions = ("reprocess_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only mail that became nothing (spam in the quarantine, bounces, auto-replies) may be
        deleted, one at a time; what made a ticket or a reply is that ticket's record."""
        return (
            obj is not None
            and obj.status in InboundMessage.DISPOSABLE
            and super().has_delete_permission(request, obj)
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return super().get_queryset(request).defer("raw")

    @admin.display(description=_("headers"))
    def headers(self, obj: InboundMessage) -> str:
        parsed = store._headers(bytes(obj.raw))
        return "\n".join(
            f"{name}: {store._header_text(parsed, name)}" for name in dict.fromkeys(parsed.keys())
        )

    @admin.display(description=_("raw message (the first 20,000 bytes, as text)"))
    def raw_text(self, obj: InboundMessage) -> str:
        return bytes(obj.raw)[:20_000].decode("utf-8", errors="replace")

    @admin.action(description=_("Process the selected messages again"))
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        for stored in queryset:
            self._reprocess(request, stored)

    def _reprocess(self, request: HttpRequest, stored: InboundMessage) -> None:
        if not request.user.has_perm("tickets.change_ticket"):
            raise PermissionDenied
        try:
            result = store.reprocess(stored)
        except services.TicketActionError as exc:
            refused = gettext("Message %(id)s: %(error)s") % {"id": stored.pk, "error": exc}
            self.message_user(request, refused, messages.ERROR)
            return
        level = messages.ERROR if result.status == InboundMessage.Status.QUARANTINED else messages.SUCCESS
        status = result.get_status_display()
        if result.error:
            # Translators: the message's new status, then why it failed.
            said = gettext("Message %(id)s: %(status)s: %(error)s")
            said %= {"id": stored.pk, "status": status, "error": result.error}
        else:
            said = gettext("Message %(id)s: %(status)s") % {"id": stored.pk, "status": status}
        self.message_user(request, said, level)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="{}_{}_raw".format(*info),
            ),
            path(
                "<path:object_id>/reprocess/",
                self.admin_site.admin_view(self.reprocess_view),
                name="{}_{}_reprocess".format(*info),
            ),
            *super().get_urls(),
        ]

    def _get(self, request: HttpRequest, object_id: str) -> InboundMessage:
        if not self.has_view_permission(request):
            raise PermissionDenied
        stored = InboundMessage.objects.filter(pk=unquote(object_id)).first() if object_id.isdigit() else None
        if stored is None:
            raise Http404("No such message.")
        return stored

    def raw_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The message exactly as it came, to download (never shown as a page of ours)."""
        return store.download_response(self._get(request, object_id))

    def reprocess_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        stored = self._get(request, object_id)
        if request.method != "POST":
            return HttpResponse(status=405)
        self._reprocess(request, stored)
        return HttpResponseRedirect(reverse("admin:tickets_inboundmessage_change", args=[stored.pk]))
