"""The admin of API keys: made here and shown once, revoked here; never shown again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from tickets import apikeys
from tickets.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "owner",
        "scope",
        "department",
        "rate_limit",
        "expires_at",
        "last_used_at",
        "status",
    )
    list_filter = ("scope", "department")
    search_fields = ("name", "prefix", "owner__username", "owner__email")
    list_select_related = ("owner", "department")
    autocomplete_fields = ("owner",)
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = (
        "name",
        "owner",
        "scope",
        "department",
        "rate_limit",
        "expires_at",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke",)

    @admin.display(description=_("status"))
    def status(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return pgettext("API key status", "revoked")
        if key.is_usable:
            return pgettext("API key status", "usable")
        return pgettext("API key status", "expired")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        raw = None if change else apikeys.apikey_fill_secret(obj)
        super().save_model(request, obj, form, change)
        if raw is not None:
            messages.warning(
                request,
                gettext(
                    "The key of “%(name)s” is %(key)s — copy it now: it is stored only as a hash "
                    "and will not be shown again."
                )
                % {"name": obj.name, "key": raw},
            )

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        # A revoked key stays revoked: it is kept only as a record.
        if obj is not None and obj.revoked_at is not None:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description=_("Revoke the selected keys (at once, for good)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            apikeys.apikey_revoke(key)
            count += 1
        done = ngettext("Revoked %(count)d key.", "Revoked %(count)d keys.", count) % {"count": count}
        self.message_user(request, done, messages.SUCCESS)
