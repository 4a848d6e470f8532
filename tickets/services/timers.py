"""The writes of the SLA watch and the state timers (run by ``tickets.sla.jobs``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import markup, metrics
from tickets.mailout import notifications, tasks
from tickets.models import (
    SLAPlan,
    State,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.services._common import TicketActionError, _add_entry, _lock_as_shown, _new_entry, _save
from tickets.services.moves import ticket_escalate
from tickets.webhooks import events as webhooks

# -- the SLA watch and the state timers (run by tickets.sla.jobs) ----------------------------------

SLA_WATCH = "SLA watch"
OVERDUE_LABELS = notifications.OVERDUE_TARGETS


def _missed(ticket: Ticket, target: str, now: Any) -> bool:
    due = getattr(ticket, f"{target}_due")
    return due is not None and due <= now and getattr(ticket, f"{target}_breached_at") is None


@dataclass
class OverdueMark:
    """One ticket the SLA watch marked: the targets it missed, and its escalation if any."""

    ticket: Ticket
    missed: list[str]
    escalation: TicketTransition | None = None


@transaction.atomic
def ticket_mark_overdue(*, ticket: Ticket, now: Any) -> TicketTransition | None:
    """The ticket missed its first-response or resolution target (or both): see
    ``tickets_mark_overdue``. Returns the escalation, if there was one."""
    _lock_as_shown(ticket)
    marks = tickets_mark_overdue(tickets=[ticket], now=now)
    if not marks:
        raise TicketActionError(_("This ticket is not overdue."))
    return marks[0].escalation


@transaction.atomic
def tickets_mark_overdue(*, tickets: Sequence[Ticket], now: Any) -> list[OverdueMark]:
    """Tickets that missed their first-response or resolution target (or both): mark each missed
    target acted on, alert each ticket's assignee, team lead and department manager once, and
    escalate the ticket when its SLA plan says so (the plan is the rule named in the log).
    Tickets that missed nothing are left as they are.

    The caller holds the tickets' row locks and read them under those locks in its transaction
    (``jobs.sla_watch``, or ``ticket_mark_overdue``'s version check), so the marks are written a
    few statements per batch rather than a save and an entry per ticket; escalations are moves,
    one by one through the state machine."""
    marks = [
        OverdueMark(t, missed)
        for t in tickets
        if (missed := [g for g in OVERDUE_LABELS if _missed(t, g, now)])
    ]
    if not marks:
        return []
    stamp = timezone.now()
    batches: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for mark in marks:
        batches[tuple(mark.missed)].append(mark.ticket.pk)
    for missed, ids in batches.items():
        breached = {f"{target}_breached_at": now for target in missed}
        Ticket.objects.filter(pk__in=ids).update(version=F("version") + 1, last_activity_at=stamp, **breached)
    entries, lates, rendered = [], [], {}
    for mark in marks:
        ticket = mark.ticket
        late = [
            f"the {OVERDUE_LABELS[target]} was due "
            f"{timezone.localtime(getattr(ticket, f'{target}_due')):%d %b %Y, %H:%M}"
            for target in mark.missed
        ]
        lates.append(late)
        ticket.stored_as(last_activity_at=stamp, **{f"{target}_breached_at": now for target in mark.missed})
        for text in late:
            entry = _new_entry(
                ticket,
                kind=ThreadEntry.Kind.EVENT,
                body=f"Overdue: {text}",
                actor=None,
                author_name=f"system: {SLA_WATCH}",
            )
            # bulk_create skips ThreadEntry.save, which stores the HTML; many bodies are alike.
            if entry.body not in rendered:
                rendered[entry.body] = markup.render_markdown(entry.body)
            entry.body_html = rendered[entry.body]
            entries.append(entry)
    ThreadEntry.objects.bulk_create(entries)
    alerts = [(m.ticket.pk, m.missed, notifications.overdue_recipients(m.ticket)) for m in marks]
    transaction.on_commit(lambda: tasks.notify_overdue_each.delay(alerts), robust=True)
    for target in OVERDUE_LABELS:
        missed = sum(target in mark.missed for mark in marks)
        metrics.count_on_commit(metrics.SLA_BREACHES, missed, target=target)
    webhooks.emit_each(
        webhooks.Event.OVERDUE, [(m.ticket, {"overdue": {"targets": m.missed}}) for m in marks]
    )
    for mark, late in zip(marks, lates, strict=True):
        mark.escalation = _escalate_if_planned(mark.ticket, late)
    return marks


def _escalate_if_planned(ticket: Ticket, late: list[str]) -> TicketTransition | None:
    """Escalate an overdue ticket whose plan says so; a ticket that cannot be escalated gets a
    note saying why, and the alert stands."""
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
        raise TicketActionError(_("Only a ticket waiting for the requester can remind them."))
    if ticket.reminded_at is not None:
        raise TicketActionError(_("The requester was already reminded."))
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
