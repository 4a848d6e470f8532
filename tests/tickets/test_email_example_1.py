"""Example 1 of the lab by e-mail: Karen's mail makes the ticket, Jane's replies reach Karen in
the thread of her own mail, and Karen's answer, sent from her mail client, lands back on the
ticket. The messages are checked as they go over the wire (bytes), not as Python objects."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr

import pytest
from django.core import mail
from django.test import override_settings

from tickets import services
from tickets.mailin import store
from tickets.mailout import mailids
from tickets.models import InboundMessage, Priority, SLAPlan, State, ThreadEntry, Ticket

KAREN_FIRST = b"""\
Return-Path: <karen@example.com>
Received: from mail.example.com (mail.example.com [192.0.2.10])
\tby mx.helpdesk.example with ESMTPS id 4Bx2; Mon, 30 Nov 2026 09:58:12 +0000
From: Karen <karen@example.com>
To: Support <support@helpdesk.example>
Subject: Entire mobile/online banking system is down
Date: Mon, 30 Nov 2026 09:58:10 +0000
Message-ID: <CAK-first-4711@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 7bit

Hello,

since 9:30 none of our customers can log in to mobile or online banking.

Karen
"""
ON_IT = "We are on it: the gateway is being checked."
FIXED = "Cause found, fix in place: it is up again."
RESOLUTION = "Fixed: the gateway certificate was renewed."


def _wire(message) -> object:
    """The message as the mail server receives it, parsed back from its bytes."""
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def _karen_answers(to_mail, body: str, message_id: str) -> bytes:
    """Karen's mail client answering ``to_mail``: Re: its subject, In-Reply-To its
    Message-ID, its References plus its Message-ID, the quoted text below her answer."""
    quoted = "\n".join(f"> {line}" for line in to_mail["text"].splitlines())
    return (
        "From: Karen <karen@example.com>\n"
        f"To: {to_mail['Reply-To']}\n"
        f"Subject: Re: {to_mail['Subject']}\n"
        "Date: Mon, 30 Nov 2026 10:20:00 +0000\n"
        f"Message-ID: {message_id}\n"
        f"In-Reply-To: {to_mail['Message-ID']}\n"
        f"References: {to_mail['References']} {to_mail['Message-ID']}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "\n"
        f"{body}\n\n"
        f"On Mon, 30 Nov 2026 at 10:15, Help Desk <support@helpdesk.example> wrote:\n{quoted}\n"
    ).encode()


@pytest.fixture
def wire_mail():
    def sent_to(address: str) -> list:
        found = []
        for message in mail.outbox:
            wire = _wire(message)
            if address in [a for _, a in getaddresses(wire.get_all("To", []))]:
                found.append(wire)
        return found

    return sent_to


def _text(wire) -> str:
    return wire.get_body(preferencelist=("plain",)).get_content()


@override_settings(
    DEFAULT_FROM_EMAIL="Help Desk <support@helpdesk.example>",
    HELPDESK_REPLY_TO="support@helpdesk.example",
    HELPDESK_MAIL_DOMAIN="helpdesk.example",
)
def test_example_1_by_email(lab, django_capture_on_commit_callbacks, wire_mail):
    # 1. Karen's mail makes the ticket.
    with django_capture_on_commit_callbacks(execute=True):
        stored = store.ingest(KAREN_FIRST, source="pipe")
    assert stored.status == InboundMessage.Status.TICKET
    ticket = Ticket.objects.get()
    assert stored.ticket == ticket and bytes(stored.raw) == KAREN_FIRST
    assert (ticket.subject, ticket.source, ticket.requester.email, ticket.state) == (
        "Entire mobile/online banking system is down",
        Ticket.Source.EMAIL,
        "karen@example.com",
        State.OPEN,
    )
    # 2. After intake: Normal / Support / Default SLA / unassigned, as from the portal.
    assert (ticket.priority.name, ticket.department.name, ticket.sla.name, ticket.assignee) == (
        "Normal",
        "Support",
        "Default SLA",
        None,
    )
    first = ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert (first.kind, first.author_name, first.is_public) == ("message", "Karen", True)
    assert first.body == (
        "Hello,\n\nsince 9:30 none of our customers can log in to mobile or online banking.\n\nKaren"
    )
    # The acknowledgement answers her mail: it is in the thread of her Message-ID.
    (ack,) = wire_mail("karen@example.com")
    assert ack["Subject"] == f"[#{ticket.number}] We received your request: {ticket.subject}"
    assert parseaddr(ack["To"]) == ("Karen", "karen@example.com")
    assert ack["Reply-To"] == "support@helpdesk.example"
    assert ack["Auto-Submitted"] == "auto-generated"
    assert ack["In-Reply-To"] == "<CAK-first-4711@mail.example.com>"
    assert ack["References"] == f"{mailids.root_id(ticket.pk)} <CAK-first-4711@mail.example.com>"
    assert mailids.is_ours(ack["Message-ID"]) and ack["Message-ID"].endswith("@helpdesk.example>")
    assert mailids.ticket_pk_from([ack["Message-ID"]]) == ticket.pk
    assert f"#{ticket.number}" in _text(ack)
    # John hears of a new ticket in his department.
    assert [m["Subject"] for m in wire_mail("john@example.com")] == [
        f"[#{ticket.number}] New ticket in Support: {ticket.subject}"
    ]

    # 3-5. John raises it and hands it to Online Banking; Jane takes it over.
    services.ticket_update_properties(
        ticket=ticket,
        actor=lab.john,
        sla_plan=SLAPlan.objects.get(name="Sev-A"),
        help_topic=lab.topic("Report a Problem / Business Critical Outage"),
        priority=Priority.objects.get(name="Emergency"),
    )
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    assert services.assignment_label(ticket) == "Jane Doe / Online Banking"

    # 6. Jane's first reply reaches Karen, threaded under her mail.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            ticket=ticket, actor=lab.jane, body="We are on it: the gateway is being checked."
        )
    (reply,) = wire_mail("karen@example.com")
    assert reply["Subject"] == f"[#{ticket.number}] {ticket.subject}"
    assert reply["In-Reply-To"] == "<CAK-first-4711@mail.example.com>"
    assert reply["References"] == f"{mailids.root_id(ticket.pk)} <CAK-first-4711@mail.example.com>"
    assert mailids.ticket_pk_from([reply["Message-ID"]]) == ticket.pk
    assert reply["Message-ID"] != ack["Message-ID"]
    assert reply["Reply-To"] == "support@helpdesk.example"
    # A person's reply is not automatic mail: Karen's auto-responder may answer it.
    assert reply["Auto-Submitted"] is None
    assert ON_IT in _text(reply)

    # Karen answers from her mail client, quoting Jane.
    answer = _karen_answers(
        {
            "text": _text(reply),
            "Reply-To": reply["Reply-To"],
            "Subject": reply["Subject"],
            "Message-ID": reply["Message-ID"],
            "References": reply["References"],
        },
        "Thank you. Branch staff cannot log in either.",
        "<CAK-answer-4712@mail.example.com>",
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        stored = store.ingest(answer, source="pipe")
    assert (stored.status, stored.ticket) == (InboundMessage.Status.REPLY, ticket)
    assert Ticket.objects.count() == 1
    answer_entry = ticket.thread.filter(kind=ThreadEntry.Kind.MESSAGE).last()
    assert stored.entry == answer_entry
    # Her words, without the history her client quoted.
    assert answer_entry.body == "Thank you. Branch staff cannot log in either."
    assert (answer_entry.author_name, answer_entry.is_public) == ("Karen", True)
    ticket.refresh_from_db()
    assert ticket.state == State.IN_PROGRESS
    # Jane, who answers for the ticket, is told; Karen is not mailed about her own message.
    assert [m["Subject"] for m in wire_mail("jane@example.com")] == [
        f"[#{ticket.number}] Karen wrote: {ticket.subject}"
    ]
    assert wire_mail("karen@example.com") == []

    # 7. Jane's second reply follows Karen's answer in the thread.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            ticket=ticket, actor=lab.jane, body="Cause found, fix in place: it is up again."
        )
    (second,) = wire_mail("karen@example.com")
    assert second["In-Reply-To"] == "<CAK-answer-4712@mail.example.com>"
    assert second["References"] == f"{mailids.root_id(ticket.pk)} <CAK-answer-4712@mail.example.com>"

    # 8. Resolved, then closed: the same trail as Example 1 in the portal.
    services.ticket_resolve(
        ticket=ticket, actor=lab.jane, message="Fixed: the gateway certificate was renewed."
    )
    services.ticket_close(ticket=ticket, actor=lab.jane)
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    assert [(t.name, t.actor_label) for t in ticket.transitions.all()] == [
        ("create", "Karen"),
        ("intake", "system: intake"),
        ("assign", "John Doe"),
        ("claim", "Jane Doe"),
        ("start_work", "Jane Doe"),
        ("resolve", "Jane Doe"),
        ("close", "Jane Doe"),
    ]
    messages = [(e.kind, e.author_name, e.body) for e in ticket.thread.exclude(kind=ThreadEntry.Kind.EVENT)]
    assert messages == [
        ("message", "Karen", first.body),
        ("reply", "Jane Doe", ON_IT),
        ("message", "Karen", "Thank you. Branch staff cannot log in either."),
        ("reply", "Jane Doe", FIXED),
        ("reply", "Jane Doe", RESOLUTION),
    ]
