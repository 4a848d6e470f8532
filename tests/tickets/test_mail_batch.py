"""One event's mail goes out together: rendered by the task, sent over one connection, the
thread read once. A message the server refuses is retried on its own, and a task that runs
again sends only what it had not sent."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from tickets.mailout import tasks
from tickets.models import TicketTransition

BACKEND = "tests.tickets.test_mail_batch.RecordingBackend"


class RecordingBackend(EmailBackend):
    """The locmem outbox, noting each connection opened and each message tried; refuses the
    addresses in ``refuse`` (each as many times as given) and fails in ``broken`` ways."""

    opened = 0
    attempts: list[str] = []
    refuse: dict[str, int] = {}
    broken: dict[str, int] = {}

    def open(self):
        RecordingBackend.opened += 1
        return super().open()

    def send_messages(self, messages):
        [message] = messages
        to = message.to[0]
        RecordingBackend.attempts.append(to)
        if RecordingBackend.refuse.get(to):
            RecordingBackend.refuse[to] -= 1
            raise smtplib.SMTPRecipientsRefused({to: (550, b"Mailbox unavailable")})
        if RecordingBackend.broken.get(to):
            RecordingBackend.broken[to] -= 1
            raise OperationalError("the database went away after this message was sent")
        return super().send_messages(messages)


@pytest.fixture
def backend(settings):
    settings.EMAIL_BACKEND = BACKEND
    RecordingBackend.opened, RecordingBackend.attempts = 0, []
    RecordingBackend.refuse, RecordingBackend.broken = {}, {}
    return RecordingBackend


@pytest.fixture
def intake(lab, new_ticket):
    """The intake of a new ticket of Support, not yet mailed; run with ``intake()``."""

    def make(agents=3):
        have = lab.support.agents.count()  # john, at first
        for i in range(have - 1, agents - 1):
            AgentFactory(username=f"support{i}", email=f"support{i}@example.com", departments=[lab.support])
        ticket = new_ticket()
        mail.outbox.clear()
        return TicketTransition.objects.get(ticket=ticket, name="intake")

    return make


def recipients():
    return sorted(m.to[0] for m in mail.outbox)


def test_an_events_mail_goes_over_one_connection(backend, intake):
    log = intake(agents=5)
    assert tasks.notify_transition.delay(log.pk).get() == 6
    assert len(mail.outbox) == 6 and backend.opened == 1
    assert len(set(backend.attempts)) == 6 == len(backend.attempts)


def test_the_thread_is_read_once_whatever_the_number_of_agents(backend, intake):
    def queries(log):
        with CaptureQueriesContext(connection) as captured:
            tasks.notify_transition.delay(log.pk)
        return [q["sql"] for q in captured.captured_queries]

    few = queries(intake(agents=2))
    many = queries(intake(agents=12))
    assert len(few) == len(many)
    assert sum("tickets_inboundmessage" in sql for sql in many) == 1
    # Every message of the event refers to the same thread, each with its own Message-ID.
    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert len(mail.outbox) == 13 and len(ids) == 13
    assert len({m.extra_headers["References"] for m in mail.outbox}) == 1


def test_a_refused_recipient_is_retried_alone_and_the_others_are_not_held_up(backend, intake):
    log = intake(agents=3)
    backend.refuse = {"support0@example.com": 1}
    tasks.notify_transition.delay(log.pk)
    everyone = ["john@example.com", "karen@example.com", "support0@example.com", "support1@example.com"]
    assert recipients() == everyone  # each once
    assert backend.attempts.count("support0@example.com") == 2
    assert all(backend.attempts.count(to) == 1 for to in everyone if to != "support0@example.com")


def test_under_a_worker_only_the_refused_message_is_queued_and_it_waits(backend, intake, monkeypatch):
    log = intake(agents=3)
    backend.refuse = {"support1@example.com": 1}
    queued = []
    monkeypatch.setattr(
        tasks.send_email, "apply_async", lambda args, **options: queued.append((args[0]["to"], options))
    )
    tasks.notify_transition.delay(log.pk)
    assert recipients() == ["john@example.com", "karen@example.com", "support0@example.com"]
    [(to, options)] = queued
    # The batch's try was the first: send_email goes on from the second, after a wait.
    assert to == "support1@example.com" and options["retries"] == 1 and 0 <= options["countdown"] <= 30


def test_a_server_that_refuses_the_connection_queues_every_message_alone(backend, intake, monkeypatch):
    log = intake(agents=2)

    def refuse(self):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(RecordingBackend, "open", refuse)
    queued = []
    monkeypatch.setattr(tasks.send_email, "apply_async", lambda args, **options: queued.append(args[0]["to"]))
    tasks.notify_transition.delay(log.pk)
    assert mail.outbox == []
    assert sorted(queued) == ["john@example.com", "karen@example.com", "support0@example.com"]


@pytest.fixture
def retries_inline():
    """Inline tasks as they run without a broker: a retry runs at once (the suite raises)."""
    from helpdesk.celery import app

    propagates, app.conf.task_eager_propagates = app.conf.task_eager_propagates, False
    yield
    app.conf.task_eager_propagates = propagates


def test_a_task_run_again_sends_only_what_it_had_not_sent(backend, intake, retries_inline):
    """The database goes away half-way through the batch: the task is tried again (same id),
    and the messages that went out before are not sent a second time."""
    log = intake(agents=3)
    backend.broken = {"john@example.com": 1}  # fails after karen's went out
    tasks.notify_transition.delay(log.pk)
    everyone = ["john@example.com", "karen@example.com", "support0@example.com", "support1@example.com"]
    assert recipients() == everyone
    assert backend.attempts.count("karen@example.com") == 1
    assert backend.attempts.count("john@example.com") == 2


def test_two_events_are_two_tasks_each_with_its_own_memory(backend, intake):
    log = intake(agents=1)
    tasks.notify_transition.delay(log.pk)
    tasks.notify_transition.delay(log.pk)  # queued twice on purpose: a new task id, sent again
    assert recipients() == ["john@example.com"] * 2 + ["karen@example.com"] * 2
