"""Which hooks listen is kept in the cache (tickets.webhooks.listeners): an event costs no query
while nothing changes, and a hook added, changed, switched off or on is heard of at once."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.webhook_receiver import make_hook
from tickets import services
from tickets.models import Webhook, WebhookDelivery
from tickets.webhooks import actions, listeners, tasks

URL = "https://hooks.example.test/in"


@pytest.fixture
def reply(lab, new_ticket, django_capture_on_commit_callbacks):
    """``reply()``: John answers Karen's ticket, and the deliveries it stores are returned."""
    ticket = new_ticket()

    def send() -> list[WebhookDelivery]:
        before = set(WebhookDelivery.objects.values_list("pk", flat=True))
        with mock.patch.object(tasks.deliver, "delay"), django_capture_on_commit_callbacks(execute=True):
            services.ticket_reply(ticket=ticket, actor=lab.john, body="We are looking at it.")
        return list(WebhookDelivery.objects.exclude(pk__in=before))

    return send


def test_an_event_asks_the_database_once_then_the_cache(lab, reply):
    with CaptureQueriesContext(connection) as first:
        listeners.listening("ticket.public_reply", lab.support.pk)
    with CaptureQueriesContext(connection) as again:
        assert listeners.listening("ticket.public_reply", lab.support.pk) == []
    assert ["tickets_webhook" in q["sql"] for q in first] == [True]
    assert len(again) == 0


def test_a_hook_added_after_the_copy_was_kept_hears_the_next_event(lab, reply):
    assert reply() == []  # the empty list of listeners is now in the cache
    hook = make_hook(lab.admin, URL, events=["ticket.public_reply"])
    assert [d.webhook_id for d in reply()] == [hook.pk]


def test_a_hook_switched_off_by_its_failures_and_on_again_is_heard_of_at_once(lab, reply, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    hook = make_hook(lab.admin, URL, events=["ticket.public_reply"])
    assert len(reply()) == 1
    # update(), which sends no signal: the delivery code drops the copy itself.
    with mock.patch.object(tasks, "_alert_owner"):
        assert tasks._count_failure(hook, "refused", now=hook.created_at) is True
    assert reply() == []
    actions.webhook_switch_on(webhook=hook)
    assert len(reply()) == 1


def test_a_hook_of_another_department_or_event_is_not_sent(lab, reply):
    make_hook(lab.admin, URL, events=["ticket.public_reply"], department=lab.sysadmins)
    make_hook(lab.admin, URL, events=["ticket.overdue"])
    assert reply() == []


def test_the_cache_keeps_no_address_and_no_secret(lab, reply):
    make_hook(lab.admin, URL, events=["ticket.public_reply"], secret="very-secret-value")
    reply()
    kept = listeners.LISTENERS.peek()
    assert kept and {"pk", "department_id", "events"} == set(vars(kept[0]))
    assert not any("very-secret-value" in repr(v) or URL in repr(v) for v in kept)
    assert Webhook.objects.filter(secret="very-secret-value").exists()
    assert cache.get(listeners.LISTENERS.generation_key)
