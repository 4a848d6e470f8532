"""Webhook deliveries end to end: ticket events through the services reach a real receiver on
loopback, signed, in order; failures are retried with a doubling wait, then the hook is switched
off and its owner told; the department and event filters; a switched-off hook gets nothing."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.tickets.webhook_receiver import make_hook, running_receiver
from tickets import services
from tickets.models import SLAPlan, Ticket, Webhook, WebhookDelivery
from tickets.webhooks import actions, delivery, events, payload, signing, tasks

Event = Webhook.Event
Status = WebhookDelivery.Status

TICKET_KEYS = [
    "number", "url", "subject", "state", "state_label", "public_stage", "source", "requester",
    "help_topic", "department", "team", "assignee", "priority", "sla_plan", "tier", "version",
    "follow_up_of", "created_at", "last_activity_at", "first_response_due", "resolution_due",
    "first_responded_at", "resolved_at", "closed_at", "is_major_incident", "incident_status", "incident",
]  # fmt: skip


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    with running_receiver() as running:
        yield running


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service and the work it queues on commit (the webhook deliveries)."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def test_example_1_reaches_the_receiver_in_order_signed(lab, karen, receiver, committed):
    hook = make_hook(lab.admin, receiver.url)
    ticket = committed(
        services.ticket_create,
        requester=karen,
        subject="Entire mobile/online banking system is down",
        body="Customers cannot log in to mobile or online banking.",
        help_topic=lab.topic("Report a Problem"),
        actor=lab.karen,
    )
    committed(
        services.ticket_update_properties,
        ticket=ticket,
        actor=lab.john,
        sla_plan=SLAPlan.objects.get(name="Sev-A"),
        help_topic=lab.topic("Report a Problem / Business Critical Outage"),
    )
    committed(services.ticket_assign, ticket=ticket, actor=lab.john, team=lab.online_banking)
    committed(services.ticket_claim, ticket=ticket, actor=lab.jane)
    committed(services.ticket_reply, ticket=ticket, actor=lab.jane, body="We are on it.")
    committed(services.ticket_reply, ticket=ticket, actor=lab.jane, body="Cause found, fix in place.")
    committed(services.ticket_resolve, ticket=ticket, actor=lab.jane, message="Fixed: certificate renewed.")
    committed(services.ticket_close, ticket=ticket, actor=lab.jane)

    bodies = [r.json for r in receiver.received]
    assert [(b["event"], (b.get("transition") or {}).get("name")) for b in bodies] == [
        ("ticket.created", None),
        ("ticket.transition", "intake"),
        ("ticket.transition", "assign"),
        ("ticket.transition", "claim"),
        ("ticket.transition", "start_work"),
        ("ticket.public_reply", None),
        ("ticket.public_reply", None),
        ("ticket.transition", "resolve"),
        ("ticket.public_reply", None),
        ("ticket.transition", "close"),
    ]
    ids = [b["id"] for b in bodies]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for request in receiver.received:
        assert request.path == "/hooks/helpdesk?source=test"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Webhook-Event"] == request.json["event"]
        assert request.headers["X-Webhook-Delivery"] == str(request.json["id"])
        assert signing.verify(hook.secret, request.headers["X-Signature"], request.body)
        assert not signing.verify("not-the-secret", request.headers["X-Signature"], request.body)
        assert request.json["ticket"]["number"] == ticket.number
    assert [b["entry"]["body"] for b in bodies if "entry" in b] == [
        "We are on it.",
        "Cause found, fix in place.",
        "Fixed: certificate renewed.",
    ]
    assert bodies[2]["transition"] == {
        "name": "assign",
        "source": "open",
        "target": "assigned",
        "actor": "John Doe",
        "reason": "",
    }
    assert bodies[-1]["ticket"]["state"] == "closed"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


def test_the_payload_is_the_agent_representation_of_the_ticket(lab, new_ticket, receiver, committed):
    make_hook(lab.admin, receiver.url, events=[Event.TRANSITION])
    ticket = new_ticket()
    committed(services.ticket_assign, ticket=ticket, actor=lab.john, team=lab.online_banking)
    body = receiver.received[-1].json
    assert list(body) == ["id", "event", "occurred_at", "transition", "ticket"]
    shown = body["ticket"]
    assert list(shown) == TICKET_KEYS
    ticket.refresh_from_db()
    assert shown["url"] == f"/api/v1/tickets/{ticket.number}/"
    assert shown["state"] == "assigned" and shown["state_label"] == "Assigned"
    assert shown["public_stage"] == ticket.public_stage
    assert shown["requester"] == {"name": "Karen", "email": "karen@example.com"}
    assert shown["help_topic"] == {"id": ticket.help_topic_id, "name": "Report a Problem"}
    assert shown["department"] == {"id": ticket.department_id, "name": "Support"}
    assert shown["team"] == {"id": lab.online_banking.pk, "name": "Online Banking"}
    assert shown["assignee"] is None and shown["follow_up_of"] is None
    assert shown["version"] == ticket.version and shown["tier"] == 1
    assert shown["created_at"] == payload.iso(ticket.created_at)
    assert datetime.fromisoformat(shown["created_at"]) == ticket.created_at  # with its time zone
    assert shown["closed_at"] is None
    assert (shown["is_major_incident"], shown["incident_status"], shown["incident"]) == (False, "", None)


def test_a_requester_message_and_the_overdue_watch_are_sent(lab, karen, new_ticket, receiver, committed):
    make_hook(lab.admin, receiver.url, events=[Event.REQUESTER_MESSAGE, Event.OVERDUE])
    ticket = new_ticket()
    committed(services.ticket_receive_reply, ticket=ticket, body="Any news?", actor=lab.karen)
    ticket.refresh_from_db()
    now = ticket.resolution_due + timedelta(minutes=1)
    committed(services.ticket_mark_overdue, ticket=ticket, now=now)
    assert receiver.events == ["ticket.requester_message", "ticket.overdue"]
    message, overdue = (r.json for r in receiver.received)
    assert message["entry"]["kind"] == "message" and message["entry"]["author"] == "Karen"
    assert message["entry"]["body"] == "Any news?"
    assert "resolution" in overdue["overdue"]["targets"]


def test_a_receiver_answering_500_is_retried_with_a_doubling_wait(lab, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_RETRY_SECONDS = 4, 30
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 100
    receiver.status = 500
    hook = make_hook(lab.admin, receiver.url)
    sent = WebhookDelivery.objects.create(webhook=hook, event=Event.CREATED, payload={"event": "x"})
    waits = [tasks.attempt(sent) for _ in range(4)]
    assert waits == [30, 60, 120, None]
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.response_code) == (Status.FAILED, 4, 500)
    assert sent.error == "Answered 500 Internal Server Error" and sent.duration_ms is not None
    assert len(receiver.received) == 4
    hook.refresh_from_db()
    assert hook.consecutive_failures == 4 and hook.is_active
    assert tasks.attempt(sent) is None and len(receiver.received) == 4  # given up: not sent again


def test_repeated_failures_switch_the_hook_off_and_mail_its_owner(lab, new_ticket, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3, 5
    receiver.status = 500
    hook = make_hook(lab.admin, receiver.url, events=[Event.CREATED, Event.TRANSITION])
    mail.outbox.clear()
    ticket = new_ticket()
    # Two events (created, intake) through the eager task: 3 tries, then 2 and the hook is off.
    with transaction.atomic():
        events.send(Event.CREATED, ticket.pk, ticket.department_id, ticket.created_at, {})
        events.send(Event.TRANSITION, ticket.pk, ticket.department_id, ticket.created_at, {})
    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.status, first.attempts) == (Status.FAILED, 3)
    assert (second.status, second.attempts) == (Status.FAILED, 2)
    assert second.error.endswith("The webhook is switched off.")
    assert len(receiver.received) == 5
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_at is not None
    assert hook.disabled_reason.startswith("5 failed tries in a row")
    [alert] = [m for m in mail.outbox if m.to == [lab.admin.email]]
    assert "switched off" in alert.subject and hook.url in alert.body
    assert alert.extra_headers["Auto-Submitted"] == "auto-generated"
    # Switched off: the next events make no delivery at all.
    assert events.send(Event.CREATED, ticket.pk, ticket.department_id, ticket.created_at, {}) == []
    # Switched on again, it is sent to (and a success starts the count again).
    receiver.status = 204
    actions.webhook_switch_on(webhook=hook)
    assert hook.is_active and hook.consecutive_failures == 0 and hook.disabled_at is None
    [again] = events.send(Event.CREATED, ticket.pk, ticket.department_id, ticket.created_at, {})
    again.refresh_from_db()
    assert again.status == Status.DELIVERED and again.response_code == 204


def test_a_success_resets_the_count_of_failures(lab, receiver):
    hook = make_hook(lab.admin, receiver.url)
    Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=7)
    sent = WebhookDelivery.objects.create(webhook=hook, event=Event.CREATED, payload={"event": "x"})
    assert tasks.attempt(sent) is None
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0


def test_an_unreachable_receiver_is_a_failed_try(lab, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    with running_receiver() as gone:
        url = gone.url
    hook = make_hook(lab.admin, url)  # nothing listens there any more
    sent = WebhookDelivery.objects.create(webhook=hook, event=Event.CREATED, payload={"event": "x"})
    assert tasks.attempt(sent) == settings.WEBHOOK_RETRY_SECONDS
    sent.refresh_from_db()
    assert sent.status == Status.RETRYING and "Could not connect" in sent.error


def test_the_department_filter(lab, new_ticket, receiver, committed):
    make_hook(lab.admin, receiver.url, name="Support only", department=lab.support)
    make_hook(lab.admin, receiver.url, name="Sysadmins only", department=lab.sysadmins)
    ticket = committed(new_ticket)
    assert ticket.department == lab.support
    assert {d.webhook.name for d in WebhookDelivery.objects.select_related("webhook")} == {"Support only"}


def test_the_event_filter(lab, new_ticket, receiver, committed):
    make_hook(lab.admin, receiver.url, events=[Event.PUBLIC_REPLY])
    ticket = committed(new_ticket)
    committed(services.ticket_assign, ticket=ticket, actor=lab.john, agent=lab.jane)
    assert receiver.received == []
    committed(services.ticket_reply, ticket=ticket, actor=lab.john, body="Looking into it.")
    assert receiver.events == ["ticket.public_reply"]


def test_a_switched_off_hook_gets_nothing(lab, new_ticket, receiver, committed):
    make_hook(lab.admin, receiver.url, name="inactive", is_active=False)
    disabled = make_hook(lab.admin, receiver.url, name="disabled")
    Webhook.objects.filter(pk=disabled.pk).update(disabled_at="2026-01-01T00:00Z")
    committed(new_ticket)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_a_delivery_queued_before_its_hook_was_switched_off_is_not_sent(lab, receiver):
    hook = make_hook(lab.admin, receiver.url)
    sent = WebhookDelivery.objects.create(webhook=hook, event=Event.CREATED, payload={"event": "x"})
    Webhook.objects.filter(pk=hook.pk).update(is_active=False)
    tasks.deliver.delay(sent.pk)
    sent.refresh_from_db()
    assert sent.status == Status.FAILED and "switched off" in sent.error
    assert receiver.received == []


def test_nothing_is_sent_for_a_change_that_rolls_back(
    lab, new_ticket, receiver, django_capture_on_commit_callbacks
):
    make_hook(lab.admin, receiver.url)
    ticket = new_ticket()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
        raise RuntimeError("the request fails after the move")
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_an_event_costs_one_query_while_no_hook_listens(lab, new_ticket):
    ticket = new_ticket()
    with CaptureQueriesContext(connection) as captured:
        assert events.send(Event.CREATED, ticket.pk, ticket.department_id, ticket.created_at, {}) == []
    assert len(captured) == 1


def test_the_queries_of_an_event_do_not_grow_with_the_hooks(lab, new_ticket, receiver, monkeypatch):
    monkeypatch.setattr(tasks.deliver, "delay", lambda delivery_id: None)
    ticket = new_ticket()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            events.send(Event.CREATED, ticket.pk, ticket.department_id, ticket.created_at, {})
        return len(captured)

    make_hook(lab.admin, receiver.url)
    one = queries()
    for n in range(5):
        make_hook(lab.admin, receiver.url, name=f"hook {n}")
    assert queries() == one <= 3
    assert WebhookDelivery.objects.count() == 7


def test_a_ping_and_send_again(lab, receiver, django_capture_on_commit_callbacks):
    hook = make_hook(lab.admin, receiver.url, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        ping = actions.webhook_ping(webhook=hook)
    ping.refresh_from_db()
    assert ping.status == Status.DELIVERED
    [request] = receiver.received
    assert request.json["event"] == "ping" and request.json["webhook"]["name"] == hook.name
    with django_capture_on_commit_callbacks(execute=True):
        actions.delivery_send_again(delivery=ping)
    assert [r.json["id"] for r in receiver.received] == [ping.pk, ping.pk]
    assert Ticket.objects.count() == 0


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off(lab):
    """Each byte comes within the timeout, but the whole answer is cut at twice the timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    stop = threading.Event()

    def drip() -> None:
        client, _ = server.accept()
        with client:
            client.settimeout(5)
            client.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 1000:
                if stop.wait(0.1):
                    return
                with contextlib.suppress(OSError):
                    client.sendall(bytes([byte]))

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    target = delivery.check(f"http://127.0.0.1:{server.getsockname()[1]}/", allow_private=True)
    started = time.monotonic()
    try:
        with pytest.raises(delivery.Failed, match="Cut off after"):
            delivery.post(target, b"{}", {}, timeout=0.5)
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert time.monotonic() - started < 3
