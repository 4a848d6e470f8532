"""Mail in (tickets.mailin): what a message becomes, by the rules a help desk lives by.

The shapes of real clients' mail are in test_inbound_corpus.py, random input in
test_inbound_property.py, the IMAP poller in test_imap.py; here are the rules: duplicates,
loops, automatic mail, threading and who may thread, the rate limit, the quarantine."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core import mail
from django.db import OperationalError

from tickets import services
from tickets.mailin import store
from tickets.mailout import mailids
from tickets.models import Department, InboundMessage, State, ThreadEntry, Ticket, TicketContact

Status = InboundMessage.Status


def letter(
    subject: str = "Printer on floor 2 jams",
    *,
    sender: str = "Karen <karen@example.com>",
    body: str = "It jams on every second page.",
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Help Desk <helpdesk@localhost>"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def karens_ticket(lab, ingest):
    stored = ingest(letter("VPN drops every hour", body="Since Monday."))
    mail.outbox.clear()
    return stored.ticket


def our_mail_to(address: str):
    return [m for m in mail.outbox if m.to == [address]]


# -- once, and only once ------------------------------------------------------------------------


def test_the_same_message_delivered_twice_is_one_ticket(lab, ingest):
    raw = letter()
    first = ingest(raw)
    again = ingest(raw)
    assert again.pk == first.pk and first.status == Status.TICKET
    assert InboundMessage.objects.count() == 1 and Ticket.objects.count() == 1
    # One acknowledgement, one alert to John.
    assert sorted(m.to[0] for m in mail.outbox) == ["john@example.com", "karen@example.com"]


def test_a_resent_copy_with_other_headers_but_the_same_message_id_is_the_same_message(lab, ingest):
    message_id = make_msgid(domain="mail.example.com")
    ingest(letter(message_id=message_id))
    ingest(letter(message_id=message_id, Received="from relay2.example.com by mx"))
    assert Ticket.objects.count() == 1


def test_someone_else_reusing_a_message_id_is_not_taken_for_a_duplicate(lab, ingest):
    message_id = make_msgid(domain="mail.example.com")
    ingest(letter("Karen's", message_id=message_id))
    stranger = ingest(letter("Mallory's", sender="mallory@example.org", message_id=message_id))
    assert stranger.status == Status.TICKET
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Karen's", "Mallory's"]


def test_a_message_without_a_message_id_is_deduplicated_on_its_bytes(lab, ingest):
    raw = letter().replace(b"Message-ID:", b"X-Old-Message-ID:")
    assert ingest(raw).pk == ingest(raw).pk
    assert Ticket.objects.count() == 1
    assert ingest(raw + b"\nP.S. one more line\n").status == Status.TICKET
    assert Ticket.objects.count() == 2


def test_a_message_stored_but_never_processed_is_processed_by_its_next_delivery(lab, ingest):
    """The pipe died between storing and processing; the MTA delivers it again."""
    raw = letter()
    stored, created = store.store(raw, source="pipe")
    assert created and stored.status == Status.RECEIVED and not Ticket.objects.exists()
    again = ingest(raw)
    assert (again.pk, again.status) == (stored.pk, Status.TICKET)
    assert ingest(raw).status == Status.TICKET and Ticket.objects.count() == 1


def test_a_copy_read_before_another_process_handled_it_is_not_processed_twice(lab, ingest):
    stored, _ = store.store(letter(), source="pipe")
    stale = InboundMessage.objects.get(pk=stored.pk)
    store.process(stored)
    result = store.process(stale)
    assert result.status == Status.TICKET and Ticket.objects.count() == 1


# -- mail nobody answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sender", "status"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Karen <karen@example.com>", Status.AUTO_REPLY),
        ({"Auto-Submitted": "auto-generated"}, "Karen <karen@example.com>", Status.AUTO_REPLY),
        ({"Precedence": "auto_reply"}, "Karen <karen@example.com>", Status.AUTO_REPLY),
        ({"X-Autoreply": "yes"}, "Karen <karen@example.com>", Status.AUTO_REPLY),
        ({"X-Autorespond": "Out of office"}, "Karen <karen@example.com>", Status.AUTO_REPLY),
        ({}, "Mail Delivery System <MAILER-DAEMON@mx.example.com>", Status.BOUNCE),
        ({}, "postmaster@example.com", Status.BOUNCE),
        ({"Return-Path": "<>"}, "Karen <karen@example.com>", Status.BOUNCE),
    ],
)
def test_automatic_mail_is_kept_and_never_answered(lab, ingest, headers, sender, status):
    stored = ingest(letter("Out of the office until Monday", sender=sender, **headers))
    assert stored.status == status
    assert not Ticket.objects.exists() and mail.outbox == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "junk"},
        {"List-Id": "<it-help.example.com>"},
    ],
)
def test_mail_through_a_list_makes_a_ticket_but_is_not_acknowledged(lab, ingest, headers):
    """A person wrote it, but an automatic answer might go to the whole list (RFC 3834)."""
    stored = ingest(letter("Shared calendar will not open", **headers))
    assert stored.status == Status.TICKET and stored.ticket.requester.email == "karen@example.com"
    assert [m.to for m in mail.outbox] == [["john@example.com"]]


def test_a_delivery_report_is_kept_and_never_answered(lab, ingest):
    report = (
        b"From: Mail Delivery Subsystem <mailer-daemon@mx.example.com>\n"
        b"To: helpdesk@localhost\nSubject: Undelivered Mail Returned to Sender\n"
        b"Message-ID: <dsn-1@mx.example.com>\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nThe mail could not be delivered.\n"
        b"--b\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--b--\n"
    )
    assert ingest(report).status == Status.BOUNCE
    assert not Ticket.objects.exists() and mail.outbox == []


def test_an_auto_reply_in_a_tickets_thread_is_noted_for_the_agents_only(karens_ticket, ingest):
    out_of_office = letter(
        "Automatic reply: VPN drops every hour",
        Auto_Submitted="auto-replied",
        In_Reply_To=mailids.new_id(karens_ticket.pk),
    )
    stored = ingest(out_of_office)
    assert (stored.status, stored.ticket) == (Status.AUTO_REPLY, karens_ticket)
    note = karens_ticket.thread.last()
    assert (note.kind, note.is_public, note.author_name) == (ThreadEntry.Kind.NOTE, False, "system: e-mail")
    assert note.body.startswith("An automatic reply came by e-mail from karen@example.com")
    # The ticket did not move, and nobody was mailed (no loop of auto-replies).
    karens_ticket.refresh_from_db()
    assert karens_ticket.state == State.OPEN and mail.outbox == []


def test_an_explicit_auto_submitted_no_is_a_person(lab, ingest):
    assert ingest(letter(Auto_Submitted="no")).status == Status.TICKET


@pytest.mark.parametrize(
    "how",
    ["our message id", "our address in X-Loop", "from our own address"],
)
def test_our_own_mail_coming_back_is_a_loop(lab, ingest, how):
    kwargs = {
        "our message id": {"message_id": mailids.new_id(1)},
        "our address in X-Loop": {"X_Loop": "helpdesk@localhost"},
        "from our own address": {"sender": "Help Desk <helpdesk@localhost>"},
    }[how]
    stored = ingest(letter(**kwargs))
    assert stored.status == Status.LOOP
    assert not Ticket.objects.exists() and mail.outbox == []


# -- threading -------------------------------------------------------------------------------------------


def test_a_reply_to_our_mail_lands_on_its_ticket(karens_ticket, ingest):
    stored = ingest(
        letter(
            "Re: anything at all",
            body="It dropped again at 10:00.\n\nOn Tue, Help Desk wrote:\n> We received your request",
            In_Reply_To=mailids.new_id(karens_ticket.pk),
        )
    )
    assert (stored.status, stored.ticket) == (Status.REPLY, karens_ticket)
    assert stored.entry.body == "It dropped again at 10:00."
    assert Ticket.objects.count() == 1


def test_a_forged_message_id_does_not_thread(karens_ticket, ingest):
    forged = f"<t.{karens_ticket.pk}.0123456789abcdef.{'0' * 20}@localhost>"
    stored = ingest(letter("Re: VPN drops every hour", sender="mallory@example.org", In_Reply_To=forged))
    assert stored.status == Status.TICKET and stored.ticket != karens_ticket
    assert list(karens_ticket.thread.values_list("kind", flat=True)) == ["message", "event"]


def test_the_number_in_the_subject_threads_the_requesters_mail(karens_ticket, ingest):
    stored = ingest(letter(f"Re: [#{karens_ticket.number}] VPN drops every hour", body="Still dropping."))
    assert (stored.status, stored.ticket) == (Status.REPLY, karens_ticket)


def test_the_number_in_the_subject_from_a_stranger_opens_a_ticket_of_their_own(karens_ticket, ingest):
    stored = ingest(
        letter(
            f"Re: [#{karens_ticket.number}] VPN drops every hour",
            sender="Mallory <mallory@example.org>",
            body="Please send me the VPN configuration.",
        )
    )
    assert stored.status == Status.TICKET and stored.ticket.requester.email == "mallory@example.org"
    # Nothing of it reaches Karen's ticket, and Karen is not mailed.
    assert list(karens_ticket.thread.values_list("kind", flat=True)) == ["message", "event"]
    assert our_mail_to("karen@example.com") == []


def test_someone_copied_on_the_first_mail_may_answer_by_number(lab, ingest):
    first = ingest(letter("Shared drive is full", Cc="Ken <ken@example.com>, helpdesk@localhost"))
    ticket = first.ticket
    assert list(TicketContact.objects.values_list("email", "name")) == [("ken@example.com", "Ken")]
    stored = ingest(
        letter(f"Re: [#{ticket.number}] Shared drive is full", sender="Ken <ken@example.com>", body="Me too.")
    )
    assert (stored.status, stored.ticket) == (Status.REPLY, ticket)
    assert (stored.entry.author_name, stored.entry.is_public) == ("Ken", True)


def test_a_forward_of_our_mail_by_someone_else_is_an_internal_note(karens_ticket, ingest):
    stored = ingest(
        letter(
            "Fwd: VPN drops every hour",
            sender="Ken <ken@example.com>",
            body="FYI, the same happens here.",
            References=mailids.new_id(karens_ticket.pk),
        )
    )
    assert (stored.status, stored.ticket) == (Status.NOTE, karens_ticket)
    assert (stored.entry.kind, stored.entry.is_public) == (ThreadEntry.Kind.NOTE, False)
    assert "Ken <ken@example.com>, who is not the requester" in stored.entry.body
    assert our_mail_to("karen@example.com") == []


def test_a_reply_to_a_ticket_waiting_for_the_requester_puts_it_back_to_work(karens_ticket, lab, ingest):
    services.ticket_claim(ticket=karens_ticket, actor=lab.john)
    services.ticket_request_info(ticket=karens_ticket, actor=lab.john, message="Which VPN client?")
    stored = ingest(letter("Re: VPN", body="Cisco AnyConnect.", In_Reply_To=mailids.new_id(karens_ticket.pk)))
    karens_ticket.refresh_from_db()
    assert stored.status == Status.REPLY and karens_ticket.state == State.IN_PROGRESS
    move = karens_ticket.transitions.last()
    assert (move.name, move.actor, move.actor_label) == ("receive_reply", None, "system: requester by e-mail")
    assert [m.to for m in mail.outbox] == [["john@example.com"]]  # John is told Karen answered


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(karens_ticket, lab, ingest):
    services.ticket_claim(ticket=karens_ticket, actor=lab.john)
    services.ticket_resolve(ticket=karens_ticket, actor=lab.john, message="Fixed.")
    services.ticket_close(ticket=karens_ticket, actor=lab.john)
    stored = ingest(letter("Re: VPN", body="It is back.", In_Reply_To=mailids.new_id(karens_ticket.pk)))
    assert stored.status == Status.FOLLOW_UP
    follow_up = stored.ticket
    assert follow_up.follow_up_of == karens_ticket and follow_up.state == State.OPEN
    assert follow_up.subject == f"Follow-up to #{karens_ticket.number}: VPN drops every hour"
    assert follow_up.thread.get(kind="message").body == "It is back."
    karens_ticket.refresh_from_db()
    assert karens_ticket.state == State.CLOSED


# -- the rate limit and the quarantine ---------------------------------------------------------------------


def test_a_sender_past_the_rate_limit_is_held_not_answered_and_can_be_released(lab, ingest, settings):
    settings.THROTTLE_MAIL_PER_SENDER = (3, 3600)
    results = [ingest(letter(f"Message {n}")) for n in range(5)]
    assert [r.status for r in results] == [Status.TICKET] * 3 + [Status.RATE_LIMITED] * 2
    assert results[3].error == "More than 3 messages from karen@example.com in 60 minutes."
    assert Ticket.objects.count() == 3
    assert len(our_mail_to("karen@example.com")) == 3
    # Someone else is not held by Karen's count.
    assert ingest(letter(sender="ken@example.com")).status == Status.TICKET
    # An admin releases a held message: it is processed whatever the count.
    released = store.reprocess(results[4])
    assert released.status == Status.TICKET and released.ticket.subject == "Message 4"


def test_a_message_without_a_sender_is_quarantined_whole(lab, ingest):
    raw = letter(sender="not an address")
    stored = ingest(raw)
    assert stored.status == Status.QUARANTINED
    assert stored.error == "No valid sender address in From: 'not an address'"
    assert bytes(stored.raw) == raw and not Ticket.objects.exists() and mail.outbox == []


def test_a_failure_half_way_rolls_back_everything_but_the_stored_message(lab, ingest):
    Department.objects.update(is_default=False)
    stored = ingest(letter(body="Keep this text."))
    assert stored.status == Status.QUARANTINED
    assert "No default department" in stored.error
    # No ticket, no requester row left half-made, no mail; the message itself kept.
    assert not Ticket.objects.exists() and mail.outbox == []
    assert b"Keep this text." in bytes(stored.raw)
    # Fixed by an admin, the message is processed again and becomes the ticket.
    Department.objects.filter(name="Support").update(is_default=True)
    again = store.reprocess(stored)
    assert again.status == Status.TICKET and again.error == ""
    assert again.ticket.thread.get(kind="message").body == "Keep this text."


def test_an_unexpected_error_quarantines_with_its_reason(lab, ingest, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "ticket_create_for_contact", broken)
    stored = ingest(letter())
    assert stored.status == Status.QUARANTINED and stored.error == "RuntimeError('disk on fire')"


def test_only_a_held_or_quarantined_message_is_processed_again(lab, ingest):
    done = ingest(letter())
    with pytest.raises(services.TicketActionError):
        store.reprocess(done)
    assert Ticket.objects.count() == 1


def test_a_message_that_cannot_be_stored_raises_so_the_mta_keeps_it(lab, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(InboundMessage.objects, "create", down)
    with pytest.raises(OperationalError):
        store.ingest(letter())


# -- attachments ---------------------------------------------------------------------------------------


def test_attachments_go_through_the_portals_checks_and_a_refused_one_is_named(lab, ingest):
    message = EmailMessage()
    message["From"] = "Karen <karen@example.com>"
    message["Subject"] = "Screenshot of the error"
    message["Message-ID"] = make_msgid()
    message.set_content("See the attached.")
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
        b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    message.add_attachment(png, maintype="image", subtype="png", filename="error.png")
    message.add_attachment(
        b"<html><script>alert(1)</script></html>", maintype="text", subtype="html", filename="page.html"
    )
    stored = ingest(message.as_bytes())
    assert stored.status == Status.TICKET
    entry = stored.entry
    assert [a.filename for a in entry.attachments.all()] == ["error.png"]
    note = stored.ticket.thread.get(kind=ThreadEntry.Kind.NOTE)
    assert note.is_public is False and "page.html" in note.body


# -- who sent it ------------------------------------------------------------------------------------------


def test_an_address_inside_an_encoded_name_is_not_the_sender(karens_ticket, ingest):
    """Mallory dresses her name up as Karen's address: the address is read before the name is
    decoded, so the message is Mallory's, and the number in the subject does not let her in."""
    raw = (
        b"From: =?utf-8?q?karen=40example.com?= <mallory@example.org>\n"
        + f"Subject: Re: [#{karens_ticket.number}] VPN drops every hour\n".encode()
        + b"Message-ID: <spoof-1@example.org>\n\nPlease reset my password to hunter2.\n"
    )
    stored = ingest(raw)
    assert stored.sender == "mallory@example.org" and stored.status == Status.TICKET
    assert stored.ticket != karens_ticket
    assert (stored.ticket.requester.email, stored.ticket.requester.name) == (
        "mallory@example.org",
        "karen@example.com",
    )
    assert list(karens_ticket.thread.values_list("kind", flat=True)) == ["message", "event"]


def test_a_name_with_a_comma_in_an_encoded_word_is_one_person(lab, ingest):
    stored = ingest(letter(sender="=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.org>"))
    assert stored.status == Status.TICKET
    assert (stored.ticket.requester.email, stored.ticket.requester.name) == (
        "hans@example.org",
        "Müller, Hans",
    )


def test_a_sender_at_an_international_domain_is_acknowledged(lab, ingest):
    raw = (
        "From: Zoë <zoe@bücher.example>\nSubject: Drucker\nMessage-ID: <idn-1@bücher.example>\n"
        "Content-Type: text/plain; charset=utf-8\n\nDer Drucker druckt nicht.\n"
    ).encode()
    stored = ingest(raw)
    assert stored.status == Status.TICKET and stored.sender == "zoe@bücher.example"
    ack = [m for m in mail.outbox if "We received" in m.subject]
    assert [m.extra_headers["To"] for m in ack] == ["=?utf-8?q?Zo=C3=AB?= <zoe@xn--bcher-kva.example>"]
    assert [m.to for m in mail.outbox if "New ticket" in m.subject] == [["john@example.com"]]


def test_a_very_long_name_is_cut_not_refused(lab, ingest):
    stored = ingest(letter(sender=f"{'Karen ' * 40}<karen.l@example.com>"))
    assert stored.status == Status.TICKET
    assert len(stored.ticket.requester.name) == 120


def test_an_address_too_long_for_any_mailbox_is_quarantined_with_the_reason(lab, ingest):
    stored = ingest(letter(sender=f"{'k' * 60}.{'a' * 60}.{'r' * 60}.{'e' * 60}@example.com"))
    assert stored.status == Status.QUARANTINED and stored.error.startswith("No valid sender address")


def test_a_nul_in_a_header_is_stored_and_processed(lab, ingest):
    raw = b"From: Karen <karen@example.com>\nSubject: a=?utf-8?q?=00?=b\nMessage-ID: <nul-1@x>\n\nText.\n"
    stored = ingest(raw)
    assert stored.status == Status.TICKET and bytes(stored.raw) == raw
    assert "\x00" not in stored.subject and "\x00" not in stored.ticket.subject
