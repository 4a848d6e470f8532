"""Mail to requesters about their tickets. Internal notes and events never go out."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from tickets.models import State, ThreadEntry, Ticket, TicketTransition

# The lifecycle moves the requester hears about by themselves; replies, questions and
# resolution messages reach them as the public entry that goes with the move.
TRANSITION_TEMPLATES = {
    "intake": "emails/ticket_received",
    "close": "emails/ticket_closed",
    "cancel": "emails/ticket_closed",
}


def _send(ticket: Ticket, template: str, context: dict[str, object]) -> None:
    context = {"ticket": ticket, "helpdesk_name": settings.HELPDESK_NAME, **context}
    subject = (
        render_to_string(f"{template}_subject.txt", context).strip().replace("\n", " ").replace("\r", " ")
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[ticket.requester.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.send()


def requester_notice_for_transition(log: TicketTransition) -> bool:
    template = TRANSITION_TEMPLATES.get(log.name)
    if template is None:
        return False
    _send(log.ticket, template, {"transition": log})
    return True


def requester_notice_for_reply(entry: ThreadEntry) -> bool:
    if not entry.is_public or entry.kind != ThreadEntry.Kind.REPLY:
        return False
    ticket = entry.ticket
    _send(
        ticket,
        "emails/ticket_reply",
        {"entry": entry, "waiting_for_you": ticket.state == State.AWAITING_USER},
    )
    return True
