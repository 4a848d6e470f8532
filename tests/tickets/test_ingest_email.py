"""manage.py ingest_email: one message on standard input, as an MTA's pipe alias delivers it.
It exits non-zero only when the message could not be stored (the MTA then keeps it and tries
again); a message that is stored but cannot be processed is the help desk's to keep."""

from __future__ import annotations

import io
import sys

import pytest
from django.core.management import call_command
from django.db import OperationalError

from tickets.models import InboundMessage, Ticket

MESSAGE = (
    b"From: Karen <karen@example.com>\n"
    b"To: helpdesk@localhost\n"
    b"Subject: Monitor flickers\n"
    b"Message-ID: <pipe-1@mail.example.com>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"The left monitor flickers since this morning.\n"
)


def pipe(monkeypatch, raw: bytes) -> str:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("ingest_email", stdout=out, stderr=out)
    return out.getvalue()


def test_a_piped_message_becomes_a_ticket(lab, monkeypatch):
    said = pipe(monkeypatch, MESSAGE)
    ticket = Ticket.objects.get()
    stored = InboundMessage.objects.get()
    assert said == f"Stored message {stored.pk}: Opened a ticket #{ticket.number}\n"
    assert (stored.source, bytes(stored.raw)) == ("pipe", MESSAGE)
    assert ticket.thread.get(kind="message").body == "The left monitor flickers since this morning."


def test_a_message_it_cannot_process_is_kept_and_the_mta_told_all_is_well(lab, monkeypatch):
    said = pipe(monkeypatch, b"this is not a mail message at all")
    stored = InboundMessage.objects.get()
    assert said == f"Stored message {stored.pk}: Could not be processed: in quarantine\n"
    assert stored.status == InboundMessage.Status.QUARANTINED and not Ticket.objects.exists()


def test_the_same_message_piped_twice_is_stored_once(lab, monkeypatch):
    pipe(monkeypatch, MESSAGE)
    pipe(monkeypatch, MESSAGE)
    assert InboundMessage.objects.count() == 1 and Ticket.objects.count() == 1


def test_when_the_message_cannot_be_stored_it_exits_75_so_the_mta_retries(lab, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(InboundMessage.objects, "create", down)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSAGE)))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ingest_email", stdout=io.StringIO(), stderr=err)
    assert exit_.value.code == 75
    assert err.getvalue() == "The message was not stored: could not connect to server\n"
    assert not Ticket.objects.exists()
