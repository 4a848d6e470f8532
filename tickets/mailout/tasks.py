"""The mail tasks. They take ids and are queued on commit (``tickets.services``).

A ``notify_*`` task works out who hears about an event and queues one ``send_email`` per
message; only ``send_email`` talks to the mail server, and it retries on its own, so a
server that is down delays that one message and never re-sends the others. Each task keeps
the name it had when it lived in ``tickets.tasks``: messages already queued still run.
"""

from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from tickets.mailout import notifications
from tickets.models import ThreadEntry, Ticket, TicketTransition

logger = logging.getLogger(__name__)

# Under a worker: about two days of tries, the wait doubling from 30 s up to an hour.
MAIL_MAX_RETRIES = 50
# Inline (no broker) a retry cannot wait: a few tries at once, then the failure is logged.
MAIL_INLINE_TRIES = 3
# A task that reads the database while it is away for a moment (a restart, a fail-over) is
# tried again later, for about an hour, rather than dropping the mail it was to send.
DATABASE_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 15,
}


@shared_task(name="tickets.tasks.send_email", bind=True, max_retries=MAIL_MAX_RETRIES)
def send_email(self: Any, payload: dict[str, Any]) -> None:
    try:
        notifications.deliver(payload)
    except (SMTPException, OSError) as exc:
        tries = self.request.retries + 1
        if self.request.is_eager and tries >= MAIL_INLINE_TRIES:
            logger.error(
                "Mail to %s (%r) not sent after %d tries: %s", payload["to"], payload["subject"], tries, exc
            )
            raise
        wait = get_exponential_backoff_interval(
            factor=30, retries=self.request.retries, maximum=3600, full_jitter=True
        )
        raise self.retry(exc=exc, countdown=wait) from None


def _send_all(payloads: list[dict[str, Any]]) -> int:
    for payload in payloads:
        send_email.delay(payload)
    return len(payloads)


_TICKET = ("ticket__requester", "ticket__department", "ticket__team", "ticket__assignee")


@shared_task(name="tickets.tasks.notify_transition", **DATABASE_RETRY)
def notify_transition(transition_id: int, requester: bool = True, agents: bool = True) -> int:
    log = TicketTransition.objects.select_related(*_TICKET).filter(pk=transition_id).first()
    if log is None:
        return 0
    return _send_all(notifications.for_transition(log, requester=requester, agents=agents))


@shared_task(name="tickets.tasks.notify_entry", **DATABASE_RETRY)
def notify_entry(entry_id: int, purpose: str) -> int:
    entry = ThreadEntry.objects.select_related(*_TICKET).filter(pk=entry_id).first()
    if entry is None:
        return 0
    return _send_all(notifications.for_entry(entry, purpose))


@shared_task(name="tickets.tasks.notify_overdue", **DATABASE_RETRY)
def notify_overdue(ticket_id: int, targets: list[str], recipient_ids: list[int]) -> int:
    ticket = Ticket.objects.select_related("requester", "department", "team").filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    return _send_all(notifications.for_overdue(ticket, targets, recipient_ids))


@shared_task(name="tickets.tasks.send_ticket_link", **DATABASE_RETRY)
def send_ticket_link(ticket_id: int) -> bool:
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    return bool(_send_all([notifications.ticket_link_mail(ticket)]))


@shared_task(name="tickets.tasks.mail_account_confirmation", **DATABASE_RETRY)
def mail_account_confirmation(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=False, last_login=None).first()
    if user is None:
        return False
    return bool(_send_all([notifications.account_confirmation(user)]))


@shared_task(name="tickets.tasks.mail_account_exists", **DATABASE_RETRY)
def mail_account_exists(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    return bool(_send_all([notifications.account_exists(user)]))
