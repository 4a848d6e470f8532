"""Which hooks listen, kept in the cache: every ticket event asks, so every move and every
message used to cost a query for it, even while no hook exists.

The cache keeps a hook's id, department and events only (never its address or secret). The
copy is dropped when a hook is saved or deleted, and by the delivery code after it switches a
hook off or on with ``update()``; a hook switched off meanwhile gets its delivery stored as
"not sent" (``tasks.attempt`` checks the hook again), never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from tickets.catalog import CachedCopy
from tickets.models import Webhook


@dataclass(frozen=True)
class Listener:
    """A switched-on hook, as far as choosing its events needs."""

    pk: int
    department_id: int | None
    events: tuple[str, ...]


def _load() -> list[Listener]:
    rows = Webhook.objects.filter(is_active=True, disabled_at__isnull=True).values_list(
        "pk", "department_id", "events"
    )
    return [Listener(pk, department_id, tuple(events or ())) for pk, department_id, events in rows]


LISTENERS = CachedCopy("tickets:webhooks:listeners", _load)

ANY_DEPARTMENT = object()


def listening(event: str, department_id: int | None | object = ANY_DEPARTMENT) -> list[Listener]:
    """The hooks, switched on, that hear of ``event`` on a ticket of ``department_id`` (by
    default, on a ticket of any department)."""
    return [
        hook
        for hook in LISTENERS.get()
        if event in hook.events
        and (department_id is ANY_DEPARTMENT or hook.department_id in (None, department_id))
    ]


def forget(**_: object) -> None:
    LISTENERS.forget()


def connect_signals() -> None:
    post_save.connect(forget, sender=Webhook, dispatch_uid="webhook-listeners-save")
    post_delete.connect(forget, sender=Webhook, dispatch_uid="webhook-listeners-delete")
