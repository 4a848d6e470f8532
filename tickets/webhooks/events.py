"""When a ticket event is sent: ``emit`` is called by the services, inside their transaction, and
does its work once that transaction commits (nothing is sent for a change that rolls back).

Then the hooks listening to the event are found (one query, which is all it costs while no hook
listens), one ``WebhookDelivery`` per hook is stored with the ticket as it was committed, and a
delivery task is queued for each. Events are emitted in the order they happen, so their
deliveries' ids increase in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.models import ThreadEntry, Ticket, TicketTransition, Webhook, WebhookDelivery
from tickets.webhooks import listeners, payload, tasks

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


def emit_each(event: str, items: list[tuple[Ticket, dict[str, Any]]]) -> None:
    """``emit`` for many tickets at once (a periodic job's batch): the same deliveries, with one
    look for the listening hooks on commit instead of one per ticket."""
    if not items:
        return
    occurred = timezone.now()
    sends = [(ticket.pk, ticket.department_id, dict(details)) for ticket, details in items]

    def send_each() -> None:
        hooks = listeners.listening(event)
        for ticket_id, department_id, extra in sends:
            send(event, ticket_id, department_id, occurred, extra, hooks=hooks)

    transaction.on_commit(send_each, robust=True)


def emit_many(items: Sequence[tuple[str, Ticket, TicketTransition | ThreadEntry]]) -> None:
    """``emit`` for many events at once (a batch of moves and their entries), each naming the
    transition or the entry that happened: the same deliveries in the same order, with one look
    for the listening hooks on commit per kind of event instead of one per event."""
    if not items:
        return
    sends = []
    for event, ticket, happened in items:
        key = "transition" if isinstance(happened, TicketTransition) else "entry"
        details = (
            payload.transition_details(happened)
            if isinstance(happened, TicketTransition)
            else payload.entry_details(happened)
        )
        sends.append((event, ticket.pk, ticket.department_id, happened.created_at, {key: details}))

    def send_all() -> None:
        hooks: dict[str, list[listeners.Listener]] = {}
        for event, ticket_id, department_id, occurred, extra in sends:
            if event not in hooks:
                hooks[event] = listeners.listening(event)
            send(event, ticket_id, department_id, occurred, extra, hooks=hooks[event])

    transaction.on_commit(send_all, robust=True)


def send(
    event: str,
    ticket_id: int,
    department_id: int | None,
    occurred: datetime,
    extra: dict[str, Any],
    *,
    hooks: list[listeners.Listener] | None = None,
) -> list[WebhookDelivery]:
    """Store and queue the deliveries of one event (run on commit); ``hooks``, when given, are
    the hooks listening to ``event`` in any department, already read."""
    if hooks is None:
        hooks = listeners.listening(event, department_id)
    else:
        hooks = [hook for hook in hooks if hook.department_id in (None, department_id)]
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
        [WebhookDelivery(webhook_id=hook.pk, event=event, ticket=ticket, payload=body) for hook in hooks]
    )
    for delivery in deliveries:
        tasks.deliver.delay(delivery.pk)
    return deliveries
