"""Roles are Django groups carrying ticket permissions; these four are always there."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

VIEW = ["view_ticket"]
WORK = [
    *VIEW,
    "change_ticket",
    "assign_ticket",
    "claim_ticket",
    "work_ticket",
    "escalate_ticket",
    "close_ticket",
]
SUPERVISE = [*WORK, "supervise_ticket", "view_reports"]
EVERYTHING = [*SUPERVISE, "view_all_tickets"]

ROLES: dict[str, list[str]] = {
    "Supreme Admin": EVERYTHING,
    "Supervisor": SUPERVISE,
    "Agent": WORK,
    "View Only": VIEW,
}


@transaction.atomic
def roles_sync() -> None:
    """Create the roles and give each exactly its ticket permissions (idempotent)."""
    perms = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="tickets", content_type__model="ticket")
    }
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([perms[c] for c in codenames])


def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    # Runs after auth's own post_migrate handler has created the ticket permissions.
    roles_sync()
