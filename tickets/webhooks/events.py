"""When a ticket event is sent: ``emit`` is called by the services, inside their transaction, and
does its work once that transaction commits (nothing is sent for a change that rolls back).

Then the hooks listening to the event are found (one query, which is all it costs while no hook
listens), one ``WebhookDelivery`` per hook is stored with the ticket as it was committed, and a
delivery task is queued for each. Events are emitted in the order they happen, so their
deliveries' ids increase in that order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets.models import ThreadEntry, Ticket, TicketTransition, Webhook, WebhookDelivery
from tickets.webhooks import payload, tasks

Event = Webhook.Event


def emit(
    event: str,
    ticket: Ticket,
    *,
    transition: TicketTransition | None = None,
    entry: ThreadEntry | None = None,
    **details: Any,
) -> None:
    """Send ``event`` about ``ticket`` to the hooks that listen to it, once the transaction
    commits. ``transition`` or ``entry`` is what happened; other ``details`` go in the body as
    they are (JSON-ready)."""
    occurred = (transition or entry).created_at if (transition or entry) is not None else timezone.now()
    extra: dict[str, Any] = dict(details)
    if transition is not None:
        extra["transition"] = payload.transition_details(transition)
    if entry is not None:
        extra["entry"] = payload.entry_details(entry)
    ticket_id, department_id = ticket.pk, ticket.department_id
    transaction.on_commit(lambda: send(event, ticket_id, department_id, occurred, extra), robust=True)


def listening(event: str, department_id: int | None) -> list[Webhook]:
    """The hooks, switched on, that hear of ``event`` on a ticket of ``department_id``."""
    hooks = Webhook.objects.filter(is_active=True, disabled_at__isnull=True).filter(
        Q(department__isnull=True) | Q(department_id=department_id)
    )
    # The event list is filtered here: JSON containment differs between SQLite and PostgreSQL,
    # and a help desk has a handful of hooks.
    return [hook for hook in hooks if event in (hook.events or [])]


def send(
    event: str, ticket_id: int, department_id: int | None, occurred: datetime, extra: dict[str, Any]
) -> list[WebhookDelivery]:
    """Store and queue the deliveries of one event (run on commit)."""
    hooks = listening(event, department_id)
    if not hooks:
        return []
    ticket = Ticket.objects.select_related(*payload.TICKET_RELATED).filter(pk=ticket_id).first()
    if ticket is None:
        return []
    body = {
        "event": event,
        "occurred_at": payload.iso(occurred),
        **extra,
        "ticket": payload.ticket_representation(ticket),
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(webhook=hook, event=event, ticket=ticket, payload=body) for hook in hooks]
    )
    for delivery in deliveries:
        tasks.deliver.delay(delivery.pk)
    return deliveries
