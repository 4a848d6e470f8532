"""A phone ticket's first entry is the agent's notes of the call, written on the requester's
behalf: the portal and the console say so, the acknowledgement does not claim the requester wrote
it, and the requester stays the ticket's requester."""

import importlib
import re

import pytest
from django.apps import apps
from django.core import mail
from django.urls import reverse

from tickets import services
from tickets.models import ThreadEntry, Ticket

NEW = reverse("agents:new_ticket")
NOTES = "Karen says the payroll export stops at 80 percent since Monday."


def _header(page: str, entry: ThreadEntry) -> str:
    """The visible text of one thread entry's card header."""
    card = page.split(f'id="entry-{entry.pk}">', 1)[1].split("</div>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


@pytest.fixture
def phone_ticket(client, lab, karen, django_capture_on_commit_callbacks):
    client.force_login(lab.john)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            NEW,
            {
                "email": "karen@example.com",
                "name": "Karen",
                "phone": "",
                "help_topic": lab.topic("Report a Problem").pk,
                "subject": "Payroll export stops halfway",
                "body": NOTES,
            },
        )
    client.logout()
    return Ticket.objects.get(subject="Payroll export stops halfway")


def test_the_notes_are_the_agents_written_for_the_requester(phone_ticket, lab, karen):
    assert phone_ticket.requester == karen and phone_ticket.source == Ticket.Source.PHONE
    notes = phone_ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert (notes.author, notes.author_name, notes.on_behalf_of_requester) == (lab.john, "John Doe", True)
    assert notes.is_public and notes.body == NOTES


def test_the_portal_shows_who_logged_them_on_the_requesters_behalf(client, phone_ticket, lab):
    client.force_login(lab.karen)
    page = client.get(reverse("portal:ticket", args=[phone_ticket.number])).content.decode()
    notes = phone_ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert _header(page, notes).startswith("Logged by John Doe from a phone call, on your behalf")
    assert NOTES in page


def test_the_console_shows_who_logged_them_from_a_call_with_whom(client, phone_ticket, lab):
    client.force_login(lab.john)
    page = client.get(reverse("agents:ticket", args=[phone_ticket.number])).content.decode()
    notes = phone_ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert _header(page, notes).startswith("Requester Logged by John Doe from a call with Karen")


def test_the_acknowledgement_speaks_of_the_call(phone_ticket):
    (ack,) = mail.outbox
    assert ack.to == ["karen@example.com"]
    assert "Thank you for your call" in ack.body and "our notes of the call" in ack.body
    assert "We received your request" not in ack.body


def test_a_requesters_own_ticket_is_still_theirs(client, new_ticket, lab):
    ticket = new_ticket()
    message = ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert (message.author, message.author_name) == (lab.karen, "Karen")
    assert not message.on_behalf_of_requester
    client.force_login(lab.karen)
    page = client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert _header(page, message).startswith("Karen") and "on your behalf" not in page
    assert "Thank you for your call" not in "".join(m.body for m in mail.outbox)


def test_the_requesters_follow_up_to_a_closed_phone_ticket_is_their_own(phone_ticket, lab):
    services.ticket_cancel(ticket=phone_ticket, actor=lab.john, reason="Fixed on the call")
    phone_ticket.refresh_from_db()
    follow_up, _ = services.ticket_receive_reply(ticket=phone_ticket, actor=lab.karen, body="Stopped again.")
    assert follow_up != phone_ticket and follow_up.source == Ticket.Source.PHONE
    message = follow_up.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    assert (message.author, message.on_behalf_of_requester) == (lab.karen, False)


def test_the_migration_gives_old_phone_tickets_their_real_author(phone_ticket, new_ticket, lab):
    notes = phone_ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    # As the code before migration 0021 stored them: the requester's name, no author.
    old_style = {"author": None, "author_name": "Karen", "on_behalf_of_requester": False}
    ThreadEntry.objects.filter(pk=notes.pk).update(**old_style)
    own = new_ticket().thread.get(kind=ThreadEntry.Kind.MESSAGE)
    migration = importlib.import_module("tickets.migrations.0021_entry_on_behalf_of_requester")
    migration.mark_call_notes(apps, None)
    notes.refresh_from_db()
    own.refresh_from_db()
    assert (notes.author, notes.author_name, notes.on_behalf_of_requester) == (lab.john, "John Doe", True)
    assert (own.author, own.author_name, own.on_behalf_of_requester) == (lab.karen, "Karen", False)
