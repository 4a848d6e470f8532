"""The small configuration tables every console page reads, read once and kept in the cache.

Departments, teams, priorities, help topics, SLA plans, the agents and their memberships
change a few times a year and are read by every queue page (its filters, its bulk bar, and
the names on each row). Reading them took a dozen queries per page; kept in the cache (Redis
with ``CACHE_URL``, else files shared by every process of the host) they take none.

The copy is dropped whenever one of those rows is saved or deleted, or a membership changes
(``connect_signals``, from ``TicketsConfig.ready``); writes that send no signal (``update()``,
``bulk_create``) are caught up within ``CATALOG_SECONDS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from tickets.models import AgentProfile, Department, HelpTopic, Priority, SLAPlan, SLATarget, Team, Ticket

CATALOG_SECONDS = 300
# What pages show of an agent (no password hash in the cache).
_AGENT_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")


@dataclass
class Catalog:
    """Every row of the small tables (inactive ones too: old tickets still name them)."""

    departments: dict[int, Department]
    teams: dict[int, Team]
    priorities: dict[int, Priority]
    help_topics: dict[int, HelpTopic]
    sla_plans: dict[int, SLAPlan]
    # Staff accounts (the agents, active or not), and each agent's department and team ids.
    agents: dict[int, Any]
    memberships: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)


def _load() -> Catalog:
    topics = {t.pk: t for t in HelpTopic.objects.select_related("parent__parent")}
    memberships: dict[int, tuple[set[int], set[int]]] = {}
    rows = AgentProfile.objects.values_list("user_id", "departments", "teams")
    for user_id, department_id, team_id in rows:
        departments, teams = memberships.setdefault(user_id, (set(), set()))
        if department_id is not None:
            departments.add(department_id)
        if team_id is not None:
            teams.add(team_id)
    return Catalog(
        departments={d.pk: d for d in Department.objects.all()},
        teams={t.pk: t for t in Team.objects.all()},
        priorities={p.pk: p for p in Priority.objects.all()},
        help_topics=topics,
        sla_plans={
            p.pk: p
            for p in SLAPlan.objects.select_related(
                "escalate_to_team", "escalate_to_department"
            ).prefetch_related("targets")
        },
        agents={u.pk: u for u in get_user_model().objects.filter(is_staff=True).only(*_AGENT_FIELDS)},
        memberships={k: (sorted(d), sorted(t)) for k, (d, t) in memberships.items()},
    )


class CachedCopy:
    """A copy of some rows kept in the cache under a generation: every process reads the same
    copy, ``forget`` starts a new generation (so every process loads the rows again), and a
    copy is kept ``seconds`` at most, for writes that send no signal."""

    def __init__(self, name: str, load: Callable[[], Any], seconds: int = CATALOG_SECONDS) -> None:
        self.name, self.load, self.seconds = name, load, seconds
        self.generation_key = f"{name}:generation"

    def generation(self) -> str | None:
        return cache.get(self.generation_key)

    def get(self) -> Any:
        """The copy as of the last change (one cache read; the database only after a change)."""
        generation = self.generation()
        if generation is None:
            cache.add(self.generation_key, uuid.uuid4().hex, None)
            generation = self.generation()
        key = f"{self.name}:{generation}"
        found = cache.get(key)
        if found is None:
            found = self.load()
            cache.set(key, found, self.seconds)
        return found

    def peek(self) -> Any:
        """The copy if one is kept, without loading it."""
        generation = self.generation()
        return cache.get(f"{self.name}:{generation}") if generation else None

    def _new_generation(self) -> None:
        cache.set(self.generation_key, uuid.uuid4().hex, None)

    def forget(self, **_: Any) -> None:
        """Drop the copy: the next read loads the rows again (a new generation, in every process).

        At once, so this transaction reads its own change, and again on commit, so that a page
        read between the two cannot keep the rows from before it.
        """
        self._new_generation()
        transaction.on_commit(self._new_generation)


_CATALOG = CachedCopy("tickets:catalog", _load)


def catalog() -> Catalog:
    """The tables as of the last change (one cache read; the database only after a change)."""
    return _CATALOG.get()


def forget(**_: Any) -> None:
    """Drop the catalog (see ``CachedCopy.forget``)."""
    _CATALOG.forget()


def _forget_if_agent(
    sender: Any, instance: Any, update_fields: Iterable[str] | None = None, **_: Any
) -> None:
    # Requesters' accounts are not in the catalog; signing in saves only last_login.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    if instance.is_staff or _was_agent(instance.pk):
        forget()


def _was_agent(pk: int) -> bool:
    """Is this account among the cached agents (without loading the catalog)?"""
    found = _CATALOG.peek()
    return found is not None and pk in found.agents


def connect_signals() -> None:
    for model in (Department, Team, Priority, HelpTopic, SLAPlan, SLATarget, AgentProfile):
        post_save.connect(forget, sender=model, dispatch_uid=f"catalog-save-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"catalog-delete-{model.__name__}")
    user = get_user_model()
    post_save.connect(_forget_if_agent, sender=user, dispatch_uid="catalog-save-user")
    post_delete.connect(forget, sender=user, dispatch_uid="catalog-delete-user")
    for relation in (AgentProfile.departments.through, AgentProfile.teams.through):
        m2m_changed.connect(forget, sender=relation, dispatch_uid=f"catalog-m2m-{relation.__name__}")
    _connect_permission_signals()


# The ticket's foreign keys the catalog answers, with the table that holds each.
_RELATED = {
    "department": "departments",
    "team": "teams",
    "priority": "priorities",
    "help_topic": "help_topics",
    "sla": "sla_plans",
    "assignee": "agents",
}


def attach(objects: list[Any], fields: dict[str, str], found: Catalog | None = None) -> list[Any]:
    """Set the foreign keys ``fields`` names (field → the catalog's table) on each object
    from the catalog, without a query; rows it lacks (just created without a signal, or an
    assignee who is not staff) are read with one query per field."""
    if not objects:
        return objects
    found = found or catalog()
    for name, table in fields.items():
        rows: dict[int, Any] = getattr(found, table)
        field = type(objects[0])._meta.get_field(name)
        missing = {getattr(o, field.attname) for o in objects} - set(rows) - {None}
        if missing:
            extra = field.related_model.objects.filter(pk__in=missing)
            if field.related_model is HelpTopic:
                extra = extra.select_related("parent__parent")
            rows = {**rows, **{row.pk: row for row in extra}}
        for obj in objects:
            key = getattr(obj, field.attname)
            field.set_cached_value(obj, rows.get(key) if key is not None else None)
    return objects


def attach_related(tickets: list[Ticket], found: Catalog | None = None) -> list[Ticket]:
    """Each ticket's department, team, priority, help topic, SLA plan and assignee."""
    return attach(tickets, _RELATED, found)


def row(rows: dict[int, Any], model: type[Any], pk: int | None) -> Any:
    """One row of a catalog table; one it lacks (written without a signal, not yet caught
    up) from the database."""
    if pk is None:
        return None
    found = rows.get(pk)
    return found if found is not None else model.objects.filter(pk=pk).first()


def default(rows: dict[int, Any], model: type[Any]) -> Any:
    """The row of a table marked as the default (at most one is: a constraint), if any. A
    catalog that names none is checked against the database (one marked by ``update()``,
    without a signal, is not in it yet): nothing is refused on a stale copy."""
    found = next((r for r in rows.values() if r.is_default), None)
    return found if found is not None else model.objects.filter(is_default=True).first()


# -- permissions -----------------------------------------------------------------------------


def permissions_of(user: Any, load: Any) -> set[str]:
    """A user's permission names ("tickets.close_ticket"), kept beside the catalog: every
    console page asks, and Django's backend reads them with two queries per request. ``load``
    reads them from the database (the backend's own method). Dropped with the catalog, which
    a change of a user, a group, a membership or a group's permissions drops."""
    generation = _CATALOG.generation()
    key = f"tickets:permissions:{generation}:{user.pk}" if generation else None
    found = cache.get(key) if key else None
    if found is None:
        found = load()
        if key:
            cache.set(key, found, CATALOG_SECONDS)
    return found


def _connect_permission_signals() -> None:
    from django.contrib.auth.models import Group, Permission

    user = get_user_model()
    for relation in (user.groups.through, user.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(forget, sender=relation, dispatch_uid=f"catalog-perm-m2m-{relation.__name__}")
    for model in (Group, Permission):
        post_save.connect(forget, sender=model, dispatch_uid=f"catalog-perm-save-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"catalog-perm-delete-{model.__name__}")
