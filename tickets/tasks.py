"""Background work. Tasks take ids, are queued on commit, and retry when mail fails."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.contrib.auth import get_user_model

from tickets import notifications
from tickets.models import ThreadEntry, Ticket, TicketTransition

_MAIL_RETRY = {"autoretry_for": (SMTPException, OSError), "retry_backoff": True, "max_retries": 8}


@shared_task(**_MAIL_RETRY)
def notify_requester_of_transition(transition_id: int) -> bool:
    log = TicketTransition.objects.select_related("ticket__requester").filter(pk=transition_id).first()
    return log is not None and notifications.requester_notice_for_transition(log)


@shared_task(**_MAIL_RETRY)
def notify_requester_of_reply(entry_id: int) -> bool:
    entry = ThreadEntry.objects.select_related("ticket__requester").filter(pk=entry_id).first()
    return entry is not None and notifications.requester_notice_for_reply(entry)


@shared_task(**_MAIL_RETRY)
def send_ticket_link(ticket_id: int) -> bool:
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    notifications.requester_ticket_link(ticket)
    return True


@shared_task(**_MAIL_RETRY)
def mail_account_confirmation(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=False, last_login=None).first()
    if user is None:
        return False
    notifications.account_confirmation(user)
    return True


@shared_task(**_MAIL_RETRY)
def mail_account_exists(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    notifications.account_exists(user)
    return True
