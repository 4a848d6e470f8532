"""Mail to requesters about their tickets and accounts. Internal notes and events never go out.

Every mail about a ticket carries a signed link to it (``tickets.links``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from tickets import links
from tickets.models import State, ThreadEntry, Ticket, TicketTransition

# The lifecycle moves the requester hears about by themselves; replies, questions and
# resolution messages reach them as the public entry that goes with the move.
TRANSITION_TEMPLATES = {
    "intake": "emails/ticket_received",
    "close": "emails/ticket_closed",
    "cancel": "emails/ticket_closed",
}


def _mail(to: str, template: str, context: dict[str, object]) -> None:
    context = {"helpdesk_name": settings.HELPDESK_NAME, **context}
    subject = render_to_string(f"{template}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.send()


def _send(ticket: Ticket, template: str, context: dict[str, object]) -> None:
    _mail(ticket.requester.email, template, {"ticket": ticket, "link": links.ticket_link(ticket), **context})


def requester_ticket_link(ticket: Ticket) -> None:
    """The answer to "Check Ticket Status": a fresh link to the ticket."""
    _send(ticket, "emails/ticket_link", {"max_age_days": settings.TICKET_LINK_MAX_AGE_DAYS})


def account_confirmation(user: object) -> None:
    from tickets import accounts

    _mail(user.email, "emails/account_confirm", {"user": user, "link": accounts.confirm_link(user)})


def account_exists(user: object) -> None:
    from django.urls import reverse

    reset = settings.HELPDESK_BASE_URL.rstrip("/") + reverse("portal:password_reset")
    _mail(user.email, "emails/account_exists", {"user": user, "reset_link": reset})


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
