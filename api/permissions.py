"""What a caller may do at all; which tickets they may see is ``api.access``'s."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from tickets.models import ApiKey


def key_scope(request: Any) -> str | None:
    """The scope of the key the request came with; None for a browser session."""
    return request.auth.scope if isinstance(request.auth, ApiKey) else None


class Authenticated(permissions.BasePermission):
    message = _("Sign in, or send an API key as “Authorization: Bearer <key>”.")

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class CanRead(Authenticated):
    """Reading tickets: not with a “create only” key."""

    message = _("This API key may only create tickets; it cannot read them.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return super().has_permission(request, view) and key_scope(request) != ApiKey.Scope.CREATE


class CanWrite(Authenticated):
    """Writing: not with a “read only” key. Safe methods pass (their views check reading)."""

    message = _("This API key is read only.")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or key_scope(request) != ApiKey.Scope.READ
