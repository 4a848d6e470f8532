"""Django's model backend with each user's permissions kept in the cache (tickets.catalog)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from tickets import catalog


class CachedPermissionsBackend(ModelBackend):
    """Signs in and answers ``has_perm`` as ``ModelBackend`` does; the permission names are
    read from the cache (two queries fewer on every console page) until a user, group or
    permission changes."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = catalog.permissions_of(
                user_obj, lambda: super(CachedPermissionsBackend, self).get_all_permissions(user_obj)
            )
        return user_obj._perm_cache
