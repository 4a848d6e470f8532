"""Roles are Django groups carrying ticket (and knowledge base) permissions; these four are
always there."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

VIEW = ["view_ticket"]
# The knowledge base: agents write drafts; publishing and archiving are a supervisor's.
DRAFT_ARTICLES = ["view_article", "add_article", "change_article"]
WORK = [
    *VIEW,
    *DRAFT_ARTICLES,
    "change_ticket",
    "assign_ticket",
    "claim_ticket",
    "work_ticket",
    "escalate_ticket",
    "close_ticket",
]
SUPERVISE = [*WORK, "supervise_ticket", "view_reports", "publish_article", "manage_incidents"]
EVERYTHING = [*SUPERVISE, "view_all_tickets"]

ROLES: dict[str, list[str]] = {
    "Supreme Admin": EVERYTHING,
    "Supervisor": SUPERVISE,
    "Agent": WORK,
    "View Only": VIEW,
}


@transaction.atomic
def roles_sync() -> None:
    """Create the roles and give each exactly its permissions (idempotent)."""
    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="tickets", content_type__model__in=["ticket", "article"]
        )
    }
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([perms[c] for c in codenames])


def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    # Runs after auth's own post_migrate handler has created the ticket permissions.
    roles_sync()
