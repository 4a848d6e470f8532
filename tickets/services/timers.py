"""The writes of the SLA watch and the state timers (run by ``tickets.sla.jobs``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets.mailout import notifications, tasks
from tickets.models import (
    SLAPlan,
    State,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.services._common import TicketActionError, _add_entry, _lock_as_shown, _save
from tickets.services.moves import ticket_escalate
from tickets.webhooks import events as webhooks

# -- the SLA watch and the state timers (run by tickets.sla.jobs) ----------------------------------

SLA_WATCH = "SLA watch"
OVERDUE_LABELS = notifications.OVERDUE_TARGETS


def _missed(ticket: Ticket, target: str, now: Any) -> bool:
    due = getattr(ticket, f"{target}_due")
    return due is not None and due <= now and getattr(ticket, f"{target}_breached_at") is None


@transaction.atomic
def ticket_mark_overdue(*, ticket: Ticket, now: Any) -> TicketTransition | None:
    """The ticket missed its first-response or resolution target (or both): mark each missed
    target acted on, alert the assignee, the team lead and the department manager once, and
    escalate the ticket when its SLA plan says so (the plan is the rule named in the log).
    Returns the escalation, if there was one."""
    _lock_as_shown(ticket)
    missed = [target for target in OVERDUE_LABELS if _missed(ticket, target, now)]
    if not missed:
        raise TicketActionError("This ticket is not overdue.")
    late = []
    for target in missed:
        was_due = f"{timezone.localtime(getattr(ticket, f'{target}_due')):%d %b %Y, %H:%M}"
        late.append(f"the {OVERDUE_LABELS[target]} was due {was_due}")
        setattr(ticket, f"{target}_breached_at", now)
    _save(ticket)
    for text in late:
        _add_entry(
            ticket,
            kind=ThreadEntry.Kind.EVENT,
            body=f"Overdue: {text}",
            actor=None,
            author_name=f"system: {SLA_WATCH}",
        )
    ticket_id, recipients = ticket.pk, notifications.overdue_recipients(ticket)
    transaction.on_commit(lambda: tasks.notify_overdue.delay(ticket_id, missed, recipients), robust=True)
    webhooks.emit(webhooks.Event.OVERDUE, ticket, overdue={"targets": missed})
    plan = ticket.sla
    if plan is None or plan.on_overdue != SLAPlan.OnOverdue.ESCALATE:
        return None
    rule = f"SLA plan “{plan.name}”: escalate when overdue"
    try:
        with transaction.atomic():
            return ticket_escalate(
                ticket=ticket,
                actor=None,
                system_rule=rule,
                team=plan.escalate_to_team,
                department=plan.escalate_to_department,
                summary=f"Escalated automatically as overdue: {' and '.join(late)}.",
            )
    except TicketActionError as exc:
        ticket.refresh_from_db()
        _add_entry(
            ticket,
            kind=ThreadEntry.Kind.NOTE,
            body=f"Not escalated automatically: {exc}",
            actor=None,
            author_name=f"system: {rule}",
        )
        return None


@transaction.atomic
def ticket_remind_requester(*, ticket: Ticket, message: str, timer: str, now: Any) -> ThreadEntry:
    """Remind a requester who has not answered our question (a public message, mailed)."""
    _lock_as_shown(ticket)
    if ticket.state != State.AWAITING_USER:
        raise TicketActionError("Only a ticket waiting for the requester can remind them.")
    if ticket.reminded_at is not None:
        raise TicketActionError("The requester was already reminded.")
    ticket.reminded_at = now
    _save(ticket)
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.EVENT,
        body="Reminded the requester of our question",
        actor=None,
        author_name=f"system: {timer}",
    )
    return _add_entry(
        ticket,
        kind=ThreadEntry.Kind.REPLY,
        body=message,
        actor=None,
        author_name=settings.HELPDESK_NAME,
        notify="reminder",
    )
