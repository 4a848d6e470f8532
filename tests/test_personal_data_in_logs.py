"""At INFO and above the log names tickets and records by number and id, never by a person's
address or name, nor by what they wrote (subject, body): logs travel to places (collectors,
support tickets, screenshots) that personal data should not."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.urls import reverse

from helpdesk.logs import JsonFormatter, RequestIdFilter
from tickets import links
from tickets.mailin import store
from tickets.models import InboundMessage, Ticket

ADDRESS = "olga.privatova@example.net"
NAME = "Olga Privatova"
SUBJECT = "Salary slip of Olga attached"
BODY = "My account number is 4711-0815, please keep it private."


def _letter(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"{NAME} <{ADDRESS}>"
    message["To"] = "Help Desk <helpdesk@localhost>"
    message["Subject"] = f"{SUBJECT} {n}"
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message.set_content(BODY)
    return message.as_bytes()


@pytest.fixture
def logged(caplog, settings):
    """Every record at INFO or above, as the JSON line it would be (extra fields included)."""
    settings.LOG_REQUESTS = True
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    formatter = JsonFormatter()
    return lambda: [formatter.format(r) for r in caplog.records if r.levelno >= logging.INFO]


def _personal(lines: list[str]) -> list[str]:
    words = (ADDRESS, "privatova", NAME, SUBJECT, "Salary slip", BODY, "4711-0815")
    return [line for line in lines if any(word.lower() in line.lower() for word in words)]


def test_mail_in_logs_no_address_subject_or_body(lab, logged, settings, django_capture_on_commit_callbacks):
    # Two messages an hour from a sender: the third is held, the second opens a ticket that
    # mails nobody (a cap on acknowledgements); both are logged at WARNING.
    settings.THROTTLE_MAIL_PER_SENDER = (2, 3600)
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (1, 3600)
    with django_capture_on_commit_callbacks(execute=True):
        stored = [store.ingest(_letter(n)) for n in range(3)]
    Status = InboundMessage.Status
    assert [m.status for m in stored] == [Status.TICKET, Status.TICKET, Status.RATE_LIMITED]
    lines = logged()
    # The log did see the flow: a warning per decision, naming the message and the ticket.
    assert any(f"Inbound message {stored[2].pk} held" in line for line in lines)
    assert any(f"opened ticket #{stored[1].ticket.number}" in line for line in lines)
    assert _personal(lines) == []


def test_the_portal_logs_no_name_address_subject_or_body(client, lab, logged):
    response = client.post(
        reverse("portal:open_ticket"),
        {
            "name": NAME,
            "email": ADDRESS,
            "phone": "",
            "help_topic": lab.topic("Report a Problem").pk,
            "subject": SUBJECT,
            "body": BODY,
        },
        HTTP_X_REQUEST_ID="req-portal",
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject=SUBJECT)
    # The signed link of the acknowledgement: the token in its path is not logged either.
    token = links.ticket_link(ticket).rsplit("/t/", 1)[1].strip("/")
    assert client.get(reverse("portal:ticket_link", args=[token])).status_code in (200, 302)
    lines = logged()
    assert any('"request_id": "req-portal"' in line and '"status": 302' in line for line in lines)
    assert _personal(lines) == [] and not [line for line in lines if token in line]
