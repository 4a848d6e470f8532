"""A delivery whose run meets the database away for a moment is run again later, not left
pending for good."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from tests.tickets.webhook_receiver import make_hook, running_receiver
from tickets.models import Webhook, WebhookDelivery
from tickets.webhooks import tasks

pytestmark = pytest.mark.django_db


def test_a_database_error_runs_the_delivery_again(lab, monkeypatch):
    real, calls = tasks.attempt, []

    def flaky(delivery, now=None):
        calls.append(delivery.pk)
        if len(calls) == 1:
            raise OperationalError("the server closed the connection unexpectedly")
        return real(delivery, now=now)

    monkeypatch.setattr(tasks, "attempt", flaky)
    with running_receiver() as receiver:
        hook = make_hook(lab.admin, receiver.url)
        sent = WebhookDelivery.objects.create(
            webhook=hook, event=Webhook.Event.CREATED, payload={"event": "x"}
        )
        # Run inline (as with no broker), Celery runs the retry at once.
        result = tasks.deliver.apply(args=[sent.pk], throw=False)
        assert result.get() == WebhookDelivery.Status.DELIVERED
    sent.refresh_from_db()
    assert calls == [sent.pk, sent.pk]
    assert (sent.status, sent.attempts, len(receiver.received)) == (WebhookDelivery.Status.DELIVERED, 1, 1)


def test_the_database_waits_grow_and_stop_at_five_minutes():
    assert [tasks.database_wait(n) for n in (0, 1, 2, 6, 10)] == [5, 10, 20, 300, 300]


def test_a_database_that_stays_away_gives_up_after_its_tries(lab, monkeypatch):
    def down(delivery, now=None):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(tasks, "attempt", down)
    hook = make_hook(lab.admin, "http://127.0.0.1:9/")
    sent = WebhookDelivery.objects.create(webhook=hook, event=Webhook.Event.CREATED, payload={"event": "x"})
    with pytest.raises(OperationalError):
        tasks.deliver.apply(args=[sent.pk], retries=tasks.DATABASE_TRIES, throw=True)
    with pytest.raises(Retry):
        tasks.deliver.apply(args=[sent.pk], retries=0, throw=True)
