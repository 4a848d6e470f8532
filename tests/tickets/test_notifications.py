"""Who hears about what, by mail: the requester of their own ticket's news, agents of the events
they answer for. Notes never reach a requester; nothing goes out for a rolled-back change; a
mail server that fails delays that message and nothing else."""

import re
import smtplib
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction

from tests.factories import AgentFactory
from tickets import links, services
from tickets.models import AgentProfile, Ticket

EMAILS = Path(__file__).resolve().parents[2] / "templates" / "emails"


# Real transactions: each service call commits, and its mail goes then, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def sent() -> list[tuple[str, str]]:
    """(recipient, subject) of each message, in order; and the outbox emptied."""
    messages = [(m.to[0], m.subject) for m in mail.outbox]
    mail.outbox.clear()
    return messages


def html_of(message) -> str:
    [(html, kind)] = message.alternatives
    assert kind == "text/html"
    return html


@pytest.fixture
def ticket(lab, new_ticket):
    made = new_ticket()
    mail.outbox.clear()
    return made


@pytest.fixture
def support_agent(lab):
    """A second agent of Support, to see who is told and who is not."""
    return AgentFactory(username="sam", email="sam@example.com", departments=[lab.support])


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# -- the requester ---------------------------------------------------------------------------------


def test_creation_tells_the_requester_and_the_departments_agents(lab, new_ticket, support_agent):
    ticket = new_ticket()
    assert sent() == [
        ("karen@example.com", f"[#{ticket.number}] We received your request: {ticket.subject}"),
        ("john@example.com", f"[#{ticket.number}] New ticket in Support: {ticket.subject}"),
        ("sam@example.com", f"[#{ticket.number}] New ticket in Support: {ticket.subject}"),
    ]


def test_the_acknowledgement_has_the_number_and_a_signed_link_in_text_and_html(lab, new_ticket):
    ticket = new_ticket()
    message = mail.outbox[0]
    link = links.ticket_link(ticket)
    assert f"#{ticket.number}" in message.body and link in message.body
    html = html_of(message)
    assert f"#{ticket.number}" in html and f'href="{link}"' in html
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_an_agent_logging_a_phone_call_is_not_told_of_their_own_ticket(lab, support_agent):
    services.ticket_create_for_contact(
        email="caller@example.org",
        name="Caller",
        subject="VPN",
        body="It drops.",
        actor=lab.john,
        source="phone",
    )
    assert [to for to, _ in sent()] == ["caller@example.org", "sam@example.com"]


def test_a_public_reply_goes_to_the_requester_only(lab, ticket, support_agent):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    assert sent() == []  # taking a ticket tells nobody
    services.ticket_reply(ticket=fresh(ticket), actor=lab.john, body="We are **on it**.")
    [message] = mail.outbox
    assert message.to == ["karen@example.com"] and "We are **on it**." in message.body
    assert "<strong>on it</strong>" in html_of(message)
    # A person wrote it: it is not marked as automatic.
    assert "Auto-Submitted" not in message.extra_headers


def test_a_question_says_we_wait_for_the_requester(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="Which browser?")
    [(to, subject)] = sent()
    assert to == "karen@example.com" and subject.startswith(f"[#{ticket.number}] We need your reply")


def test_the_resolution_mail_links_to_confirm_and_to_reopen(lab, ticket, browser):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=fresh(ticket), actor=lab.john, message="Replaced the cable.")
    [message] = mail.outbox
    assert message.subject == f"[#{ticket.number}] Resolved: {ticket.subject}"
    found = dict(
        (then, (token, path))
        for path, token, then in re.findall(
            r"http://127\.0\.0\.1:8000(/t/([^/\s]+)/\?then=(\w+))", message.body
        )
    )
    assert set(found) == {"confirm", "reopen"}
    assert all(links.ticket_from_token(token) == ticket for token, _ in found.values())
    html = html_of(message)
    assert "closes by itself in 7 days" in message.body and "closes by itself in 7 days" in html
    assert "Yes, it's fixed" in html and all(
        f'href="http://127.0.0.1:8000{path}"' in html for _, path in found.values()
    )
    # Following a link opens the page at the question and changes nothing by itself.
    guest = browser()
    response = guest.get(found["confirm"][1])
    assert response.status_code == 302 and response["Location"].endswith(
        f"/tickets/{ticket.number}/#confirm-fix"
    )
    assert guest.get(found["reopen"][1])["Location"].endswith("#reopen")
    assert fresh(ticket).state == "resolved"
    page = guest.get(response["Location"]).content.decode()
    assert 'id="confirm-fix"' in page and 'id="reopen"' in page


def test_closing_and_cancelling_tell_the_requester(lab, ticket, new_ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=fresh(ticket), actor=lab.john, message="Done.")
    mail.outbox.clear()
    services.ticket_close(ticket=fresh(ticket), actor=lab.john)
    assert sent() == [("karen@example.com", f"[#{ticket.number}] Closed: {ticket.subject}")]
    other = new_ticket(subject="Duplicate")
    mail.outbox.clear()
    services.ticket_cancel(ticket=other, actor=lab.john, reason="Same as the outage ticket.")
    [message] = mail.outbox
    assert message.to == ["karen@example.com"] and "Same as the outage ticket." in message.body


# -- agents -----------------------------------------------------------------------------------------


def test_assigning_to_an_agent_tells_that_agent(lab, ticket, support_agent):
    services.ticket_assign(ticket=ticket, actor=lab.john, agent=support_agent)
    [message] = mail.outbox
    assert message.to == ["sam@example.com"] and message.subject.startswith(
        f"[#{ticket.number}] Assigned to you"
    )
    assert f"/agents/tickets/{ticket.number}/" in message.body


def test_assigning_to_a_team_tells_its_members_but_not_the_one_who_did_it(lab, ticket):
    member = AgentFactory(username="ob", email="ob@example.com", teams=[lab.online_banking])
    services.ticket_assign(ticket=ticket, actor=lab.jane, team=lab.online_banking)
    assert [to for to, _ in sent()] == [member.email]


def test_escalation_tells_the_team_with_the_hand_off_summary(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_escalate(
        ticket=fresh(ticket), actor=lab.john, team=lab.online_banking, summary="Gateway 502s."
    )
    [message] = mail.outbox
    assert message.to == ["jane@example.com"] and "Escalated to Online Banking" in message.subject
    assert "Gateway 502s." in message.body and "Gateway 502s." in html_of(message)


def test_a_requester_message_tells_the_assignee_or_else_the_department(lab, ticket, support_agent):
    services.ticket_receive_reply(ticket=ticket, body="Still down.", actor=lab.karen)
    assert sorted(to for to, _ in sent()) == ["john@example.com", "sam@example.com"]
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    services.ticket_receive_reply(ticket=fresh(ticket), body="Any news?", actor=lab.karen)
    [message] = mail.outbox
    assert message.to == ["john@example.com"] and "Any news?" in message.body


def test_the_requesters_answer_to_a_question_tells_the_assignee(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="Which browser?")
    mail.outbox.clear()
    services.ticket_receive_reply(ticket=fresh(ticket), body="Firefox 130.", actor=lab.karen)
    assert sent() == [("john@example.com", f"[#{ticket.number}] Karen wrote: {ticket.subject}")]


def test_an_agent_can_turn_off_the_alerts_they_do_not_want(lab, new_ticket, support_agent):
    services.agent_alerts_update(user=lab.john, alerts={"alert_new_ticket": False})
    ticket = new_ticket()
    assert [to for to, _ in sent()] == ["karen@example.com", "sam@example.com"]
    services.ticket_assign(ticket=ticket, actor=support_agent, agent=lab.john)
    assert [to for to, _ in sent()] == ["john@example.com"]  # the other alerts stay on
    services.agent_alerts_update(user=lab.john, alerts=dict.fromkeys(AgentProfile.ALERTS, False))
    services.ticket_receive_reply(ticket=fresh(ticket), body="Hello?", actor=lab.karen)
    assert sent() == []


def test_inactive_agents_and_agents_without_an_address_get_nothing(lab, new_ticket):
    AgentFactory(username="left", email="left@example.com", departments=[lab.support], is_active=False)
    AgentFactory(username="noaddress", email="", departments=[lab.support])
    new_ticket()
    assert [to for to, _ in sent()] == ["karen@example.com", "john@example.com"]


# -- what never goes out -----------------------------------------------------------------------------


def test_internal_notes_and_hand_off_summaries_never_reach_the_requester(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_note(
        ticket=fresh(ticket), actor=lab.john, body="SECRET-NOTE: the admin password is hunter2"
    )
    services.ticket_reply(ticket=fresh(ticket), actor=lab.john, body="We are on it.")
    services.ticket_escalate(
        ticket=fresh(ticket), actor=lab.john, team=lab.online_banking, summary="SECRET-HANDOFF"
    )
    services.ticket_claim(ticket=fresh(ticket), actor=lab.jane)
    services.ticket_request_info(ticket=fresh(ticket), actor=lab.jane, message="Since when?")
    services.ticket_receive_reply(ticket=fresh(ticket), body="Since 9:00.", actor=lab.karen)
    services.ticket_note(ticket=fresh(ticket), actor=lab.jane, body="SECRET-NOTE again")
    services.ticket_resolve(ticket=fresh(ticket), actor=lab.jane, message="Renewed the certificate.")
    services.ticket_close(ticket=fresh(ticket), actor=lab.jane)
    to_karen = [m for m in mail.outbox if m.to == ["karen@example.com"]]
    assert len(to_karen) == 4  # the reply, the question, the resolution and the closure
    for message in to_karen:
        for text in (message.subject, message.body, html_of(message)):
            assert "SECRET" not in text


def test_nothing_is_sent_for_a_change_that_rolls_back(lab, ticket):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_claim(ticket=ticket, actor=lab.john)
        services.ticket_reply(ticket=fresh(ticket), actor=lab.john, body="We are on it.")
        raise RuntimeError("the database fell over")
    assert mail.outbox == [] and fresh(ticket).state == "open"


def test_markup_is_escaped_in_html_mail(lab, new_ticket):
    evil = "<img src=x onerror=alert(1)>"
    new_ticket(subject=f"Broken {evil}", body=f"Look {evil}")
    for message in mail.outbox:
        assert evil in message.subject  # a subject is plain text
        html = html_of(message)
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# -- the mail server -------------------------------------------------------------------------------------


class FlakyBackend(EmailBackend):
    """Refuses the first ``failures`` messages, then delivers to the locmem outbox."""

    failures = 0
    attempts: list[str] = []

    def send_messages(self, messages):
        FlakyBackend.attempts.append(messages[0].to[0])
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    """The flaky server, with inline tasks as they run without a broker: a failure is retried
    at once, and one that still fails is logged, not raised into the caller."""
    from helpdesk.celery import app

    settings.EMAIL_BACKEND = "tests.tickets.test_notifications.FlakyBackend"
    FlakyBackend.attempts = []
    propagates, app.conf.task_eager_propagates = app.conf.task_eager_propagates, False
    yield FlakyBackend
    app.conf.task_eager_propagates = propagates


def test_a_failing_mail_server_is_retried_and_each_message_goes_once(lab, new_ticket, flaky):
    flaky.failures = 2  # the first message fails twice, then the server is back
    ticket = new_ticket()
    assert flaky.attempts == ["karen@example.com"] * 3 + ["john@example.com"]
    assert [to for to, _ in sent()] == ["karen@example.com", "john@example.com"]
    assert fresh(ticket).state == "open"


def test_a_mail_server_that_stays_down_never_rolls_the_ticket_back(lab, flaky, client):
    flaky.failures = 1_000
    response = client.post(
        "/tickets/new/",
        {
            "name": "Guest",
            "email": "guest@example.org",
            "phone": "",
            "help_topic": lab.topic("Personal Computer Issues").pk,
            "subject": "Printer",
            "body": "It jams.",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Printer")
    assert ticket.state == "open" and ticket.number and mail.outbox == []
    # Each message was tried as often as inline mail allows, and given up on its own.
    assert flaky.attempts == ["guest@example.org"] * 3 + ["john@example.com"] * 3


# -- the templates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", sorted(p.name for p in EMAILS.glob("*.txt") if not p.name.endswith("_subject.txt"))
)
def test_every_mail_has_a_subject_and_an_html_body(text):
    name = text.removesuffix(".txt")
    assert (EMAILS / f"{name}_subject.txt").exists() and (EMAILS / f"{name}.html").exists()


@pytest.mark.parametrize("path", sorted(EMAILS.glob("*.html")), ids=lambda p: p.name)
def test_html_mail_has_no_scripts_or_handlers(path):
    html = path.read_text()
    assert "<script" not in html and not re.search(r"\son[a-z]+\s*=", html)
    assert "autoescape off" not in html and "|safe" not in html


def test_an_internal_entry_is_mailed_to_nobody_whatever_it_is_called(lab, ticket):
    from tickets.mailout import notifications

    services.ticket_claim(ticket=ticket, actor=lab.john)
    note = services.ticket_note(ticket=fresh(ticket), actor=lab.john, body="SECRET-NOTE")
    for purpose in ("reply", "question", "resolution", "reminder", "message"):
        assert notifications.for_entry(note, purpose) == []


# -- found by mutation testing ----------------------------------------------------------------------


def test_an_agent_escalating_to_their_own_team_is_not_told_of_it(lab, ticket):
    member = AgentFactory(username="ob", email="ob@example.com", teams=[lab.online_banking])
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    services.ticket_escalate(
        ticket=fresh(ticket), actor=lab.jane, team=lab.online_banking, summary="Ours now."
    )
    assert [to for to, _ in sent()] == [member.email]  # Jane, a member, did it herself


class RefusingBackend(EmailBackend):
    """A mail server that is down: the connection is refused (an OSError, not an SMTPException)."""

    def send_messages(self, messages):
        FlakyBackend.attempts.append(messages[0].to[0])
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        return super().send_messages(messages)


def test_a_refused_connection_is_retried_too(lab, new_ticket, flaky, settings):
    settings.EMAIL_BACKEND = "tests.tickets.test_notifications.RefusingBackend"
    flaky.failures = 2
    new_ticket()
    assert flaky.attempts == ["karen@example.com"] * 3 + ["john@example.com"]
    assert [to for to, _ in sent()] == ["karen@example.com", "john@example.com"]


def test_under_a_worker_a_failing_message_is_retried_later_not_given_up(lab, flaky, monkeypatch):
    """Inline, three tries; under a worker the task goes on retrying, with a growing wait."""
    from celery.exceptions import Retry

    from tickets.mailout import tasks

    flaky.failures = 1
    waits = []

    def retry(*, exc, countdown):
        waits.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(tasks.send_email, "retry", retry)
    payload = {"to": "karen@example.com", "subject": "S", "text": "T", "html": "<p>T</p>", "headers": {}}
    tasks.send_email.push_request(retries=5, is_eager=False)
    try:
        with pytest.raises(Retry):
            tasks.send_email.run(payload)
    finally:
        tasks.send_email.pop_request()
    assert len(waits) == 1 and 0 <= waits[0] <= 3600


def test_a_notification_that_meets_the_database_away_is_tried_again(lab, new_ticket, monkeypatch, flaky):
    """A restart of the database while a notification is worked out delays its mail; it is
    not dropped (the soak of bench/soak.py lost one or two mails per restart before)."""
    from django.db import OperationalError

    from tickets.mailout import notifications, tasks

    entry = services.ticket_receive_reply(ticket=new_ticket(), actor=lab.karen, body="Still down.")[1]
    mail.outbox.clear()
    real, calls = notifications.for_entry, []

    def for_entry(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "for_entry", for_entry)
    tasks.notify_entry.delay(entry.pk, "message")
    assert len(calls) == 2
    assert [m.to for m in mail.outbox] == [["john@example.com"]]
