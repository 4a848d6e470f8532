"""A sender's limits on mail in, counted from the stored messages (so that every process that
takes mail in, pipe, IMAP poll or worker, shares one count without a cache):

- past THROTTLE_MAIL_PER_SENDER messages an hour, a message is held, unprocessed;
- past THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER open tickets, or THROTTLE_MAIL_ACKS_PER_SENDER
  acknowledgements an hour, a new ticket is opened as the rules say but mails nobody: not the
  sender, not the agents.

Each decision is logged at WARNING with the sender and the reason, and shows in the admin's list
of inbound messages. Separate processes flooding at once: test_ingest_email.py."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.tickets.test_inbound import letter, our_mail_to
from tickets import services
from tickets.mailin import store
from tickets.mailout import mailids
from tickets.models import InboundMessage, Ticket

Status = InboundMessage.Status
KAREN = "karen@example.com"


def stored_elsewhere(sender: str, *, status: str = Status.TICKET, ago: timedelta = timedelta(minutes=5)):
    """A message another process stored and processed: only the database knows of it."""
    when = timezone.now() - ago
    return InboundMessage.objects.create(
        key=f"elsewhere-{InboundMessage.objects.count()}",
        raw=b"",
        size=0,
        source="pipe",
        sender=sender,
        status=status,
        received_at=when,
        processed_at=when,
    )


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.WARNING, logger="tickets.mailin")
    return lambda: [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# -- the per-sender limit: held, unprocessed --------------------------------------------------------------


def test_the_messages_other_processes_stored_count_toward_the_limit(lab, ingest, settings, warnings):
    settings.THROTTLE_MAIL_PER_SENDER = (3, 3600)
    for _ in range(3):
        stored_elsewhere("Karen@Example.COM")  # the address's case is no way around it
    held = ingest(letter("A fourth"))
    assert held.status == Status.RATE_LIMITED and not Ticket.objects.exists() and mail.outbox == []
    assert held.error == f"More than 3 messages from {KAREN} in 60 minutes."
    # The log names the message, not its sender (personal data): the reason is on the message.
    assert warnings() == [f"Inbound message {held.pk} held, not processed: its sender is past a limit"]


def test_what_does_not_count_toward_the_limit(lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (2, 3600)
    stored_elsewhere(KAREN, ago=timedelta(minutes=61))  # before the window
    stored_elsewhere("ken@example.com")  # someone else
    stored_elsewhere(KAREN, status=Status.AUTO_REPLY)  # her out-of-office: a machine's mail
    stored_elsewhere(KAREN, status=Status.BOUNCE)
    stored_elsewhere(KAREN, status=Status.RECEIVED)  # stored, not processed yet
    stored_elsewhere(KAREN)
    assert ingest(letter("The second")).status == Status.TICKET
    assert ingest(letter("The third")).status == Status.RATE_LIMITED


def test_held_messages_count_too_so_a_flood_stays_held(lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (2, 3600)
    results = [ingest(letter(f"Message {n}")).status for n in range(4)]
    assert results == [Status.TICKET, Status.TICKET, Status.RATE_LIMITED, Status.RATE_LIMITED]
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert ingest(letter("An hour later")).status == Status.TICKET


def test_the_count_is_not_in_the_cache(lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (1, 3600)
    assert ingest(letter("One")).status == Status.TICKET
    cache.clear()  # as a restart, or another process with a cache of its own, would have it
    assert ingest(letter("Two")).status == Status.RATE_LIMITED


# -- the caps: a ticket, but nobody mailed -------------------------------------------------------------


def test_past_the_open_tickets_cap_the_ticket_is_opened_but_nobody_is_mailed(
    lab, ingest, settings, warnings
):
    settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER = 2
    first, second = ingest(letter("One")), ingest(letter("Two"))
    assert len(our_mail_to(KAREN)) == 2 and len(our_mail_to("john@example.com")) == 2
    mail.outbox.clear()
    third = ingest(letter("Three"))
    assert third.status == Status.TICKET and third.ticket.subject == "Three"
    assert third.ticket.is_active and third.ticket.department.name == "Support"  # the rules still apply
    assert mail.outbox == []  # no acknowledgement to Karen, no alert to John
    assert third.mail_suppressed == f"The cap on open tickets from {KAREN} (2) is reached."
    assert (first.mail_suppressed, second.mail_suppressed) == ("", "")
    assert warnings() == [
        f"Inbound message {third.pk} opened ticket #{third.ticket.number} and mailed nobody (a cap)"
    ]


def test_resolved_and_closed_tickets_are_not_open(lab, ingest, settings):
    settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER = 1
    first = ingest(letter("One")).ticket
    services.ticket_claim(ticket=first, actor=lab.john)
    services.ticket_resolve(ticket=first, actor=lab.john, message="Fixed.")
    mail.outbox.clear()
    assert ingest(letter("Two")).mail_suppressed == ""
    assert len(our_mail_to(KAREN)) == 1


def test_past_the_acknowledgements_cap_nobody_is_mailed_until_the_hour_is_over(lab, ingest, settings):
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (2, 3600)
    results = [ingest(letter(f"Message {n}")) for n in range(4)]
    assert [r.status for r in results] == [Status.TICKET] * 4
    assert [r.mail_suppressed for r in results] == ["", ""] + [
        f"The cap on acknowledgements to {KAREN} (2 in 60 minutes) is reached."
    ] * 2
    assert len(our_mail_to(KAREN)) == 2 and len(our_mail_to("john@example.com")) == 2
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert ingest(letter("An hour later")).mail_suppressed == ""
    assert len(our_mail_to(KAREN)) == 1


def test_acknowledgements_other_processes_sent_count(lab, ingest, settings):
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (2, 3600)
    stored_elsewhere(KAREN)
    stored_elsewhere(KAREN.upper(), status=Status.FOLLOW_UP)
    stored_elsewhere(KAREN, status=Status.REPLY)  # a reply is not acknowledged
    assert ingest(letter("Third")).mail_suppressed.startswith("The cap on acknowledgements")
    assert mail.outbox == []


def test_a_reply_is_never_capped(lab, ingest, settings):
    settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER = 1
    ticket = ingest(letter("VPN drops")).ticket
    reply = ingest(letter("Re: VPN drops", body="Still.", In_Reply_To=mailids.new_id(ticket.pk)))
    assert (reply.status, reply.mail_suppressed) == (Status.REPLY, "")


def test_an_admin_releasing_a_held_message_processes_it_within_the_caps(lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (1, 3600)
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (1, 3600)
    ingest(letter("One"))
    held = ingest(letter("Two"))
    mail.outbox.clear()
    released = store.reprocess(held)
    assert released.status == Status.TICKET
    assert released.mail_suppressed.startswith("The cap on acknowledgements")
    assert mail.outbox == []


# -- the admin's list ------------------------------------------------------------------------------------


def test_the_admin_lists_what_mailed_nobody_and_what_was_held(browser, lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (3, 3600)
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (1, 3600)
    for n in range(5):
        ingest(letter(f"Flood {n}"))
    admin = browser(lab.admin)
    url = reverse("admin:tickets_inboundmessage_changelist")

    quiet = admin.get(url, {"nobody_mailed": "yes"}).content.decode()
    assert "Flood 1" in quiet and "Flood 2" in quiet and "Flood 0" not in quiet and "Flood 3" not in quiet
    assert quiet.count(f"The cap on acknowledgements to {KAREN} (1 in 60 minutes) is reached.") == 2
    mailed = admin.get(url, {"nobody_mailed": "no"}).content.decode()
    assert "Flood 0" in mailed and "Flood 1" not in mailed

    held = admin.get(url, {"status__exact": Status.RATE_LIMITED}).content.decode()
    assert "Flood 3" in held and "Flood 4" in held and "Flood 2" not in held
    everything = admin.get(url).content.decode()
    assert "nobody mailed" in everything.lower()  # the column and the filter


def test_a_reply_to_a_closed_ticket_past_a_cap_opens_its_follow_up_quietly(lab, ingest, settings, warnings):
    first = ingest(letter("VPN drops every hour"))
    ticket = first.ticket
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="New VPN profile.")
    services.ticket_close(ticket=ticket, actor=lab.john)
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (1, 3600)  # her first ticket was acknowledged
    mail.outbox.clear()
    reply = ingest(letter(f"Re: [#{ticket.number}] VPN drops every hour", body="It is back."))
    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert (reply.status, reply.ticket) == (Status.FOLLOW_UP, follow_up)
    assert follow_up.thread.get(kind="message").body == "It is back."
    assert mail.outbox == []
    assert reply.mail_suppressed == f"The cap on acknowledgements to {KAREN} (1 in 60 minutes) is reached."
    assert warnings()[-1] == (
        f"Inbound message {reply.pk} opened ticket #{follow_up.number} and mailed nobody (a cap)"
    )


def test_a_reply_to_an_open_ticket_is_never_capped(lab, ingest, settings):
    ticket = ingest(letter("VPN drops every hour")).ticket
    services.ticket_claim(ticket=ticket, actor=lab.john)
    settings.THROTTLE_MAIL_ACKS_PER_SENDER = (1, 3600)
    settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER = 1
    mail.outbox.clear()
    reply = ingest(letter(f"Re: [#{ticket.number}] VPN drops every hour", body="Still."))
    assert (reply.status, reply.mail_suppressed) == (Status.REPLY, "")
    assert [m.to for m in mail.outbox] == [["john@example.com"]]
