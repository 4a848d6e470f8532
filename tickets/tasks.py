"""Background work. Tasks take ids and are queued on commit (``tickets.services``).

A ``notify_*`` task works out who hears about an event and queues one ``send_email`` per
message; only ``send_email`` talks to the mail server, and it retries on its own, so a
server that is down delays that one message and never re-sends the others. ``run_timers``
is the periodic job (Celery beat, or ``manage.py run_timers`` in the embedded default).
"""

from __future__ import annotations

from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

from tickets import notifications
from tickets.models import ThreadEntry, Ticket, TicketTransition

# About two days of tries (backoff doubles up to the cap) before a message is given up.
_MAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 50,
}


@shared_task(**_MAIL_RETRY)
def send_email(payload: dict[str, Any]) -> None:
    notifications.deliver(payload)


def _send_all(payloads: list[dict[str, Any]]) -> int:
    for payload in payloads:
        send_email.delay(payload)
    return len(payloads)


_TICKET = ("ticket__requester", "ticket__department", "ticket__team", "ticket__assignee")


@shared_task
def notify_transition(transition_id: int, requester: bool = True, agents: bool = True) -> int:
    log = TicketTransition.objects.select_related(*_TICKET).filter(pk=transition_id).first()
    if log is None:
        return 0
    return _send_all(notifications.for_transition(log, requester=requester, agents=agents))


@shared_task
def notify_entry(entry_id: int, purpose: str) -> int:
    entry = ThreadEntry.objects.select_related(*_TICKET).filter(pk=entry_id).first()
    if entry is None:
        return 0
    return _send_all(notifications.for_entry(entry, purpose))


@shared_task
def notify_overdue(ticket_id: int, target: str, recipient_ids: list[int]) -> int:
    ticket = Ticket.objects.select_related("requester", "department", "team").filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    return _send_all(notifications.for_overdue(ticket, target, recipient_ids))


@shared_task
def send_ticket_link(ticket_id: int) -> bool:
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    return bool(_send_all([notifications.ticket_link_mail(ticket)]))


@shared_task
def mail_account_confirmation(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=False, last_login=None).first()
    if user is None:
        return False
    return bool(_send_all([notifications.account_confirmation(user)]))


@shared_task
def mail_account_exists(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    return bool(_send_all([notifications.account_exists(user)]))


@shared_task(ignore_result=True)
def run_timers() -> dict[str, int]:
    """The SLA watch and the state timers, once (beat runs it every minute)."""
    from tickets import jobs

    return jobs.run_timers().as_dict()
