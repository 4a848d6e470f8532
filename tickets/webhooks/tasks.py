"""The delivery task: one try per run, the next one queued with a doubling wait.

The logic is in ``attempt`` (a plain function, so that the waits, the giving up and the switching
off can be tested one try at a time); the task only loads the delivery and queues the next try.
Under a worker the tries wait ``WEBHOOK_RETRY_SECONDS * 2**(try - 1)``; run inline (no broker),
they follow one another at once. The task keeps the ``tickets.tasks.*`` naming of the other tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tickets.models import Webhook, WebhookDelivery
from tickets.webhooks import listeners, payload, signing
from tickets.webhooks.delivery import ERROR_LENGTH, Failed, Refused, check, post

logger = logging.getLogger(__name__)

PING = "ping"
Status = WebhookDelivery.Status
# The database away for a moment (a restart, a fail-over): the run is tried again later, for
# about an hour, rather than leaving its delivery pending for good. A try whose POST went out
# but could not be recorded is sent again; receivers tell repeats by the delivery id.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_TRIES = 15


def database_wait(retries: int) -> int:
    return min(300, 5 * 2**retries)


def retry_wait(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed try."""
    return int(settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1))


def attempt(delivery: WebhookDelivery, now: datetime | None = None) -> int | None:
    """Send ``delivery`` once and record how it went. Returns the seconds to wait before the
    next try, or None when no try follows (delivered, given up, refused, or not to be sent).

    A ping (sent from the admin to check a receiver) is tried once, even to a hook that is
    switched off, and does not count towards switching the hook off.
    """
    now = now or timezone.now()
    hook = delivery.webhook
    if delivery.status in (Status.DELIVERED, Status.FAILED):
        return None  # done already: a duplicate message of the task
    ping = delivery.event == PING
    if not ping and (not hook.is_active or hook.disabled_at is not None):
        delivery.status, delivery.error = Status.FAILED, "Not sent: the webhook is switched off."
        delivery.save(update_fields=["status", "error"])
        return None
    delivery.attempts += 1
    delivery.response_code = delivery.duration_ms = None
    try:
        target = check(hook.url, allow_private=hook.allow_private)
        data = payload.body(delivery)
        headers = signing.headers(hook.secret, data, event=delivery.event, delivery_id=delivery.pk, now=now)
        response = post(target, data, headers)
    except Refused as exc:
        return _failed(delivery, f"Refused: {exc}", now=now, may_retry=False)
    except Failed as exc:
        return _failed(delivery, str(exc), now=now, may_retry=not ping)
    delivery.response_code, delivery.duration_ms = response.status, response.duration_ms
    if not response.ok:
        error = f"Answered {response.status} {response.reason}".strip()
        if 300 <= response.status < 400:
            error += " (redirects are not followed)"
        return _failed(delivery, error, now=now, may_retry=not ping)
    delivery.status, delivery.error, delivery.delivered_at = Status.DELIVERED, "", now
    delivery.save()
    if not ping:
        Webhook.objects.filter(pk=hook.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        hook.consecutive_failures = 0
    return None


def _failed(delivery: WebhookDelivery, error: str, *, now: datetime, may_retry: bool) -> int | None:
    hook = delivery.webhook
    switched_off = delivery.event != PING and _count_failure(hook, error, now=now)
    if switched_off:
        error = f"{error} The webhook is switched off."
    delivery.error = error[:ERROR_LENGTH]
    if may_retry and not switched_off and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = Status.RETRYING
        delivery.save()
        return retry_wait(delivery.attempts)
    delivery.status = Status.FAILED
    delivery.save()
    return None


def _count_failure(hook: Webhook, error: str, *, now: datetime) -> bool:
    """Count a failed try against the hook; switch it off (and tell its owner) at
    ``WEBHOOK_DISABLE_AFTER_FAILURES`` in a row. Returns whether the hook is off now."""
    Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    hook.refresh_from_db(fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason"])
    if hook.disabled_at is not None or not hook.is_active:
        return True
    if hook.consecutive_failures < settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        return False
    reason = f"{hook.consecutive_failures} failed tries in a row; the last: {error}"[:255]
    switched = Webhook.objects.filter(pk=hook.pk, disabled_at__isnull=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    hook.is_active, hook.disabled_at, hook.disabled_reason = False, now, reason
    if switched:
        listeners.forget()
        _alert_owner(hook, error)
    return True


def _alert_owner(hook: Webhook, error: str) -> None:
    owner = hook.owner
    if not owner.email:
        logger.warning("Webhook %s switched off; its owner has no e-mail address.", hook.pk)
        return
    link = settings.HELPDESK_BASE_URL.rstrip("/") + reverse("admin:tickets_webhook_change", args=[hook.pk])
    context = {
        "helpdesk_name": settings.HELPDESK_NAME,
        "owner": owner,
        "webhook": hook,
        "error": error,
        "link": link,
    }
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string("emails/webhook_disabled_subject.txt", context).split()),
        body=render_to_string("emails/webhook_disabled.txt", context),
        to=[owner.email],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    message.attach_alternative(render_to_string("emails/webhook_disabled.html", context), "text/html")
    try:
        message.send()
    except (SMTPException, OSError):
        logger.exception("Webhook %s switched off; its owner could not be mailed.", hook.pk)


@shared_task(name="tickets.tasks.deliver_webhook", bind=True, max_retries=None)
def deliver(self: Any, delivery_id: int) -> str | None:
    try:
        return _deliver(self, delivery_id)
    except DATABASE_ERRORS as exc:
        if self.request.retries >= DATABASE_TRIES:
            raise
        raise self.retry(exc=exc, countdown=database_wait(self.request.retries)) from None


def _deliver(self: Any, delivery_id: int) -> str | None:
    delivery = WebhookDelivery.objects.select_related("webhook__owner").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    wait = attempt(delivery, now=timezone.now())
    if wait is not None and self.request.is_eager:
        # Run inline (no broker), nothing can wait: the next tries follow at once, as Celery's
        # own eager retry would do (which, with eager exceptions propagated, it does not).
        while wait is not None:
            wait = attempt(delivery, now=timezone.now())
    elif wait is not None:
        raise self.retry(countdown=wait)
    return delivery.status
