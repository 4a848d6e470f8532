"""The mail tasks. They take ids and are queued on commit (``tickets.services``).

A ``notify_*`` task works out who hears about an event, renders every message, and sends them
over one connection to the mail server. A message that fails there is handed to
``send_email``, which retries it on its own (the others are not held up, nor sent twice); the
messages a run sent are noted in the cache under the task's id, so a run that is tried again
(the database away, a worker lost) sends only the rest. Each task keeps the name it had when
it lived in ``tickets.tasks``: messages already queued still run.
"""

from __future__ import annotations

import contextlib
import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError

from tickets import metrics
from tickets.mailout import notifications
from tickets.models import ThreadEntry, Ticket, TicketTransition

logger = logging.getLogger(__name__)

# Under a worker: about two days of tries, the wait doubling from 30 s up to an hour.
MAIL_MAX_RETRIES = 50
# Inline (no broker) a retry cannot wait: a few tries at once, then the failure is logged.
MAIL_INLINE_TRIES = 3
# How long a notify task's sent messages are remembered: longer than its retries, and than
# the broker's wait before it hands a lost worker's task to another.
SENT_SECONDS = 2 * 24 * 3600
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
            logger.error("Mail %s not sent after %d tries: %s", _mail_id(payload), tries, exc)
            metrics.MAIL_DELIVERIES.labels(outcome="failed").inc()
            raise
        # Past its last try, retry() raises the failure itself instead of queueing another.
        last = self.max_retries is not None and self.request.retries >= self.max_retries
        metrics.MAIL_DELIVERIES.labels(outcome="failed" if last else "retried").inc()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    metrics.MAIL_DELIVERIES.labels(outcome="sent").inc()


def _backoff(retries: int) -> float:
    return get_exponential_backoff_interval(factor=30, retries=retries, maximum=3600, full_jitter=True)


def _retry_alone(payload: dict[str, Any], exc: BaseException) -> None:
    """The batch's try was the first: ``send_email`` goes on from the second, after a wait."""
    logger.warning("Mail %s failed, to be tried again: %s", _mail_id(payload), exc)
    metrics.MAIL_DELIVERIES.labels(outcome="retried").inc()
    send_email.apply_async((payload,), retries=1, countdown=_backoff(0))


def _mail_id(payload: dict[str, Any]) -> str:
    """A message in the log by its Message-ID, never by its address or subject (personal data)."""
    return payload.get("headers", {}).get("Message-ID") or "(no Message-ID)"


def _sent_key(payload: dict[str, Any]) -> str:
    return f"{payload['to'].lower()}\n{payload['subject']}"


def _send_all(task: Any, payloads: list[dict[str, Any]]) -> int:
    """Send one event's messages over one connection; each that fails is retried alone.

    What this run of ``task`` sent is remembered under its id, so that a retry of the same
    task (same id) skips it: a message goes at least once, and twice only if the process dies
    between sending it and noting it."""
    noted = f"tickets:mailout:sent:{task.request.id}" if task.request.id else None
    sent: set[str] = set(cache.get(noted) or ()) if noted else set()
    todo = [payload for payload in payloads if _sent_key(payload) not in sent]
    if not todo:
        return len(payloads)
    connection = get_connection()
    try:
        connection.open()
    except (SMTPException, OSError) as exc:
        for payload in todo:
            _retry_alone(payload, exc)
        return len(payloads)
    try:
        for payload in todo:
            try:
                connection.send_messages([notifications.message(payload)])
            except (SMTPException, OSError) as exc:
                _retry_alone(payload, exc)
                # The connection may be broken: the next message gets a fresh one.
                connection.close()
                # (if it cannot be had, the next message fails at once and is retried alone)
                with contextlib.suppress(SMTPException, OSError):
                    connection.open()
                continue
            metrics.MAIL_DELIVERIES.labels(outcome="sent").inc()
            if noted:
                sent.add(_sent_key(payload))
                cache.set(noted, sorted(sent), SENT_SECONDS)
    finally:
        connection.close()
    return len(payloads)


_TICKET = ("ticket__requester", "ticket__department", "ticket__team", "ticket__assignee", "ticket__priority")


@shared_task(name="tickets.tasks.notify_transition", bind=True, **DATABASE_RETRY)
def notify_transition(self: Any, transition_id: int, requester: bool = True, agents: bool = True) -> int:
    log = TicketTransition.objects.select_related(*_TICKET).filter(pk=transition_id).first()
    if log is None:
        return 0
    return _send_all(self, notifications.for_transition(log, requester=requester, agents=agents))


@shared_task(name="tickets.tasks.notify_entry", bind=True, **DATABASE_RETRY)
def notify_entry(self: Any, entry_id: int, purpose: str) -> int:
    entry = ThreadEntry.objects.select_related(*_TICKET).filter(pk=entry_id).first()
    if entry is None:
        return 0
    return _send_all(self, notifications.for_entry(entry, purpose))


@shared_task(name="tickets.tasks.notify_overdue", bind=True, **DATABASE_RETRY)
def notify_overdue(self: Any, ticket_id: int, targets: list[str], recipient_ids: list[int]) -> int:
    """One ticket's overdue alert (tasks queued before ``notify_overdue_each`` took over)."""
    ticket = Ticket.objects.select_related("requester", "department", "team").filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    return _send_all(self, notifications.for_overdue(ticket, targets, recipient_ids))


@shared_task(name="tickets.tasks.notify_overdue_each", bind=True, **DATABASE_RETRY)
def notify_overdue_each(self: Any, alerts: list[tuple[int, list[str], list[int]]]) -> int:
    """The SLA watch's alerts for a batch of tickets, (ticket id, targets missed, recipient
    ids) each: one task and one connection for the batch, each message retried alone if refused."""
    ids = [ticket_id for ticket_id, _, _ in alerts]
    tickets = Ticket.objects.select_related("requester", "department", "team").in_bulk(ids)
    payloads = [
        payload
        for ticket_id, targets, recipient_ids in alerts
        if ticket_id in tickets
        for payload in notifications.for_overdue(tickets[ticket_id], targets, recipient_ids)
    ]
    return _send_all(self, payloads)


@shared_task(name="tickets.tasks.send_ticket_link", bind=True, **DATABASE_RETRY)
def send_ticket_link(self: Any, ticket_id: int) -> bool:
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    return bool(_send_all(self, [notifications.ticket_link_mail(ticket)]))


@shared_task(name="tickets.tasks.mail_account_confirmation", bind=True, **DATABASE_RETRY)
def mail_account_confirmation(self: Any, user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=False, last_login=None).first()
    if user is None:
        return False
    return bool(_send_all(self, [notifications.account_confirmation(user)]))


@shared_task(name="tickets.tasks.mail_account_exists", bind=True, **DATABASE_RETRY)
def mail_account_exists(self: Any, user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    return bool(_send_all(self, [notifications.account_exists(user)]))
