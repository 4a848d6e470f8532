"""What the admin does to hooks and deliveries: send a test ping, switch a hook on again, send a
delivery again. Each queues its delivery once the transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tickets.models import Webhook, WebhookDelivery
from tickets.webhooks import listeners, payload, tasks


def _queue(delivery: WebhookDelivery) -> None:
    transaction.on_commit(lambda: tasks.deliver.delay(delivery.pk), robust=True)


@transaction.atomic
def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """A test delivery (event ``ping``), tried once, even to a hook that is switched off."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=tasks.PING,
        payload={
            "event": tasks.PING,
            "occurred_at": payload.iso(timezone.now()),
            "webhook": {"id": webhook.pk, "name": webhook.name, "events": webhook.events},
        },
    )
    _queue(delivery)
    return delivery


@transaction.atomic
def webhook_switch_on(*, webhook: Webhook) -> None:
    """Switch a hook on again, its count of failures back to nought."""
    Webhook.objects.filter(pk=webhook.pk).update(
        is_active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    listeners.forget()
    webhook.refresh_from_db()


@transaction.atomic
def delivery_send_again(*, delivery: WebhookDelivery) -> None:
    """Send a delivery again with the same id and body (a receiver can tell it is the same
    event), its tries counted afresh."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING,
        attempts=0,
        response_code=None,
        duration_ms=None,
        error="",
        delivered_at=None,
    )
    _queue(delivery)
