"""Background work. Tasks take ids, are queued on commit, and retry when mail fails."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from tickets import notifications
from tickets.models import ThreadEntry, TicketTransition

_MAIL_RETRY = {"autoretry_for": (SMTPException, OSError), "retry_backoff": True, "max_retries": 8}


@shared_task(**_MAIL_RETRY)
def notify_requester_of_transition(transition_id: int) -> bool:
    log = TicketTransition.objects.select_related("ticket__requester").filter(pk=transition_id).first()
    return log is not None and notifications.requester_notice_for_transition(log)


@shared_task(**_MAIL_RETRY)
def notify_requester_of_reply(entry_id: int) -> bool:
    entry = ThreadEntry.objects.select_related("ticket__requester").filter(pk=entry_id).first()
    return entry is not None and notifications.requester_notice_for_reply(entry)
