"""Mail in, from a corpus of messages shaped as real clients write them (``eml/*.eml``): each one
is ingested as it would come from the MTA pipe or the IMAP poll, and the table says what must
become of it: its status, the ticket it lands on, the thread entry as shown, the files kept or
refused, who was mailed, and the raw bytes kept whole.

A reply needs a ticket to answer: the ticket is made first (Karen's Thunderbird message, then an
agent's question or the closure), and the placeholders in the file are replaced by what we really
sent her: ``{{NUMBER}}``, ``{{MESSAGE_ID}}`` and ``{{REFERENCES}}`` of our last mail to her,
``{{PLAIN_ID}}`` of a mail about no ticket. The file is otherwise read and ingested byte for byte.
The files from Exchange Online (Outlook's replies and invitation, the NDR, the out-of-office) have
CRLF line ends, as an IMAP server hands them over; the others LF, as an MTA pipes them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from tickets import services
from tickets.mailin import store
from tickets.mailout import notifications
from tickets.models import InboundMessage, State, ThreadEntry, Ticket, TicketContact

EML = Path(__file__).resolve().parent / "eml"
Status = InboundMessage.Status

# The question John asks Karen; the subject of her ticket.
QUESTION = "Which VPN client version do you use?"
SUBJECT = "VPN drops every few minutes"
ALLOWED = ".csv, .docx, .gif, .jpeg, .jpg, .log, .md, .ods, .odt, .pdf, .png, .pptx, .txt, .webp, .xlsx, .zip"
NO_TEXT = "(The message had no text.)"

# The files of the corpus, as generated for it: (size, SHA-256).
INVOICE_PDF = (601, "e036aaf696be3a3c5ed808568bb3dc9cb55b8f190390de35df9e106bda2ac636")
SCAN_PDF = (608, "02583ef552e5b2829f8a04c512683833b92c4dd26b2e6428c5ddbfaebee0616b")
PHOTO_PNG = (73, "55262e823ae8050468a869d55ab8c93f532cbfead2a480ded98324940df0f697")
SCREENSHOT_PNG = (74, "25d2456aaac00dee6fd9d66e9a4b6718c1794ba9812257482eff65f8dd29a548")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# -- the tickets a message answers -------------------------------------------------------------------


def read(name: str) -> bytes:
    return (EML / name).read_bytes()


def fill(raw: bytes, values: dict[str, str]) -> bytes:
    for name, value in values.items():
        raw = raw.replace(b"{{" + name.encode() + b"}}", value.encode())
    left = re.findall(rb"\{\{[A-Z_]+\}\}", raw)
    assert not left, f"placeholders with no value: {left}"
    return raw


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def last_mail_to(address: str):
    return [m for m in mail.outbox if m.to == [address]][-1]


def threading(ticket: Ticket, sent) -> dict[str, str]:
    return {
        "NUMBER": ticket.number,
        "MESSAGE_ID": sent.extra_headers["Message-ID"],
        "REFERENCES": sent.extra_headers["References"],
    }


def karen_writes(commit) -> Ticket:
    """Karen's first message, by Thunderbird: a ticket, Karen acknowledged."""
    with commit(execute=True):
        stored = store.ingest(read("thunderbird_new_ticket.eml"))
    assert stored.status == Status.TICKET
    return stored.ticket


def question(lab, commit):
    """John takes Karen's ticket and asks her a question: the ticket waits for her."""
    ticket = karen_writes(commit)
    with commit(execute=True):
        services.ticket_claim(ticket=ticket, actor=lab.john)
        services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message=QUESTION)
    sent = last_mail_to("karen@example.com")
    assert sent.subject == f"[#{ticket.number}] We need your reply: {SUBJECT}"
    return fresh(ticket), threading(ticket, sent)


def question_ken_copied(lab, commit):
    """As ``question``, and Karen copied Ken on the ticket."""
    ticket, values = question(lab, commit)
    TicketContact.objects.create(ticket=ticket, email="ken@example.com", name="Ken Adams")
    return ticket, values


def closed(lab, commit):
    """Karen's ticket, resolved by John and closed: Karen got the closure."""
    ticket = karen_writes(commit)
    with commit(execute=True):
        services.ticket_claim(ticket=ticket, actor=lab.john)
        services.ticket_resolve(ticket=fresh(ticket), actor=lab.john, message="Replaced the VPN profile.")
        services.ticket_close(ticket=fresh(ticket), actor=lab.john)
    sent = last_mail_to("karen@example.com")
    assert sent.subject == f"[#{ticket.number}] Closed: {SUBJECT}"
    return fresh(ticket), threading(ticket, sent)


def account_mail(lab, commit):
    """Ken was mailed about his account (about no ticket)."""
    payload = notifications.account_confirmation(lab.ken)
    return None, {"PLAIN_ID": payload["headers"]["Message-ID"]}


PARENTS = {
    "question": question,
    "question_ken_copied": question_ken_copied,
    "closed": closed,
    "account_mail": account_mail,
}


# -- the table -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What must become of one message. Texts may name ``{number}`` (the ticket answered) and
    ``{new}`` (the ticket the message made)."""

    eml: str
    status: str
    message_id: str  # as stored ("" when the message has none)
    sender: str  # as stored
    stored_subject: str  # the Subject header, decoded, as stored
    parent: str | None = None  # the ticket answered, made first (PARENTS)
    lands: str = "new"  # "new" ticket, the "parent", a "follow_up" of it, or "none"
    requester: tuple[str, str] = ("", "")  # the ticket's requester (e-mail, name)
    subject: str = ""  # the ticket's subject as shown
    kind: str = ThreadEntry.Kind.MESSAGE  # the thread entry the message made
    author: str = ""  # its author's name as shown
    body: str | None = None  # its exact text (None: the message made no entry)
    hides: tuple[str, ...] = ()  # what it must not show (quoted history, markup, ...)
    files: tuple[tuple[str, str, tuple[int, str]], ...] = ()  # (name, content type, (size, sha256))
    note: str | None = None  # the system note it left on the ticket, if any
    mailed: tuple[tuple[str, str], ...] = ()  # (to, subject) of every mail sent
    state: str | None = None  # the ticket's state afterwards
    contacts: tuple[str, ...] = ()  # the ticket's copied contacts afterwards


def new_ticket_mail(to: str, subject: str) -> tuple[tuple[str, str], ...]:
    """The acknowledgement to the sender and the alert to Support's agent."""
    return (
        (to, f"[#{{new}}] We received your request: {subject}"),
        ("john@example.com", f"[#{{new}}] New ticket in Support: {subject}"),
    )


DRUCKER = "Drucker im Büro druckt nur leere Seiten"
KAREN_WROTE = (("john@example.com", f"[#{{number}}] Karen wrote: {SUBJECT}"),)
QUOTED = (QUESTION, "wrote", "Help Desk", "helpdesk@localhost", ">", "Where your ticket is now")
SCRIPTS = ("<", ">", "script", "alert", "fetch", "onerror", "onmouseover", "document.")

CASES = [
    pytest.param(
        Case(
            "thunderbird_new_ticket.eml",
            Status.TICKET,
            message_id="<5b0e7c1a-3d2f-4e8b-9a61-c4f2d7e0b913@example.com>",
            sender="karen@example.com",
            stored_subject=SUBJECT,
            requester=("karen@example.com", "Karen"),
            subject=SUBJECT,
            author="Karen",
            body="Hello,\n\nsince this morning the VPN connection drops every few minutes and I\n"
            "have to log in again each time. The other people in Accounts have the\nsame problem.\n\n"
            "Thanks,\nKaren\n\n-- \nKaren Smith\nAccounts, Example Ltd",
            mailed=new_ticket_mail("karen@example.com", SUBJECT),
            state=State.OPEN,
        ),
        id="thunderbird-new-ticket",
    ),
    pytest.param(
        Case(
            "outlook_reply.eml",
            Status.REPLY,
            message_id="<DB9PR10MB5641E3A2B7C04F19D2C6B1A4C9A12@DB9PR10MB5641.EURPRD10.PROD.OUTLOOK.COM>",
            sender="karen@example.com",
            stored_subject=f"RE: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="Hello,\n\nWe use FortiClient 7.2.4 on Windows 11. It\u2019s the same on Ken\u2019s laptop, "
            "so I\u2019ve copied him.\n\nKind regards,\nKaren",
            hides=(*QUOTED, "____", "Sent:", "From:", "\r"),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
            contacts=("ken@example.com",),
        ),
        id="outlook-16-reply-cp1252-qp-crlf",
    ),
    pytest.param(
        Case(
            "gmail_reply.eml",
            Status.REPLY,
            message_id="<CAF7s2yPq3Lr0hXnM9wDk1vJ5tQm8bZ4cR6eG2uW0aY3fN7kSdQ@mail.gmail.com>",
            sender="karen@example.com",
            stored_subject=f"Re: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="Version 7.2.4 \u2013 and it only happens on the office Wi-Fi, never at home.",
            hides=QUOTED,
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="gmail-reply-split-attribution",
    ),
    pytest.param(
        Case(
            "apple_mail_inline_image.eml",
            Status.TICKET,
            message_id="<8A6C2E4F-91B3-4D7A-B0E5-3F2C1D9A7B64@example.com>",
            sender="ken@example.com",
            stored_subject="Expense report page shows an error",
            requester=("ken@example.com", "Ken"),
            subject="Expense report page shows an error",
            author="Ken",
            body="Hi,\n\nwhen I open the expense report page I get the error below. "
            "I tried Safari and Chrome.\n\n\nKen",
            hides=("<", "cid:", "apple-inline"),
            files=(("Screenshot 2026-11-30 at 10.51.07.png", "image/png", SCREENSHOT_PNG),),
            mailed=new_ticket_mail("ken@example.com", "Expense report page shows an error"),
            state=State.OPEN,
        ),
        id="apple-mail-related-inline-image",
    ),
    pytest.param(
        Case(
            "iphone_reply.eml",
            Status.REPLY,
            message_id="<4D2B9E71-C0A5-4F38-8B6D-E1F07A3C2B95@example.com>",
            sender="karen@example.com",
            stored_subject=f"Re: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="It works again since the restart, thanks!",
            hides=(*QUOTED, "Sent from my iPhone"),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="iphone-reply-signature",
    ),
    pytest.param(
        Case(
            "thunderbird_latin1_german.eml",
            Status.TICKET,
            message_id="<e91c4a07-6b2d-4f83-a5c0-2d7b8e1f3a64@example.de>",
            sender="juergen.mueller@example.de",
            stored_subject="Drucker im Büro druckt nur leere Seiten",
            requester=("juergen.mueller@example.de", "Jürgen Müller"),
            subject="Drucker im Büro druckt nur leere Seiten",
            author="Jürgen Müller",
            body="Hallo zusammen,\n\nder Drucker im Büro (3. Stock, Raum 312) druckt nur leere Seiten.\n"
            "Größere Aufträge bleiben in der Warteschlange hängen.\n\nViele Grüße\nJürgen Müller",
            # His mail says Content-Language: de: the acknowledgement is in German (docs/i18n.md).
            mailed=(
                ("juergen.mueller@example.de", "[#{new}] Wir haben Ihre Anfrage erhalten: " + DRUCKER),
                ("john@example.com", "[#{new}] New ticket in Support: " + DRUCKER),
            ),
            state=State.OPEN,
        ),
        id="thunderbird-iso-8859-1-qp-rfc2047",
    ),
    pytest.param(
        Case(
            "becky_shift_jis.eml",
            Status.TICKET,
            message_id="<20261130094809.7E3A.5C1B2D4F@example.jp>",
            sender="tanaka@example.jp",
            stored_subject="共有フォルダに接続できません",
            requester=("tanaka@example.jp", "田中 花子"),
            subject="共有フォルダに接続できません",
            author="田中 花子",
            body="ヘルプデスク御中\n\nお世話になっております。経理部の田中です。\n\n"
            "今朝から共有フォルダ（Ｓドライブ）に接続できません。\nエラー番号は 0x80070035 です。\n\n"
            "よろしくお願いいたします。\n田中 花子",
            mailed=new_ticket_mail("tanaka@example.jp", "共有フォルダに接続できません"),
            state=State.OPEN,
        ),
        id="becky-shift-jis-base64-iso-2022-jp-subject",
    ),
    pytest.param(
        Case(
            "outlook_shift_jis_cp932.eml",
            Status.TICKET,
            message_id="<000a01db42f1$8c3e5a20$a4bb0e60$@example.jp>",
            sender="takahashi@example.jp",
            stored_subject="ＶＰＮ接続の件",
            requester=("takahashi@example.jp", "takahashi@example.jp"),
            subject="ＶＰＮ接続の件",
            author="takahashi@example.jp",
            body="お疲れさまです。営業部の髙橋です。\n\nVPN の件、以下の手順で試しました。\n"
            "① PC を再起動\n② FortiClient を再インストール\n\nまだ切断されます。",
            hides=("\ufffd",),
            mailed=new_ticket_mail("takahashi@example.jp", "ＶＰＮ接続の件"),
            state=State.OPEN,
        ),
        id="outlook-shift-jis-label-with-cp932-characters",
    ),
    pytest.param(
        Case(
            "thunderbird_attachments.eml",
            Status.TICKET,
            message_id="<0c7f3b9e-2a14-4d6c-8e5b-a1f9d3c27e08@example.com>",
            sender="ken@example.com",
            stored_subject="Supplier invoice and a strange installer",
            requester=("ken@example.com", "Ken"),
            subject="Supplier invoice and a strange installer",
            author="Ken",
            body="Hi,\n\nthe supplier sent the attached invoice together with an installer and\n"
            'a receipt page, and asks us to run the installer to "view" the invoice.\n'
            "Is this safe? A photo of the letter they posted is attached too.\n\nKen",
            hides=("Receipt 2026", "document.cookie", "<svg"),
            files=(
                ("invoice.pdf", "application/pdf", INVOICE_PDF),
                ("photo.png", "image/png", PHOTO_PNG),
            ),
            note="Files in the e-mail that were not attached (the raw message keeps them):\n\n"
            f"- setup.exe: setup.exe is not a file type we accept. Allowed: {ALLOWED}.\n"
            f"- receipt.html: receipt.html is not a file type we accept. Allowed: {ALLOWED}.\n"
            f"- logo.svg: logo.svg is not a file type we accept. Allowed: {ALLOWED}.",
            mailed=new_ticket_mail("ken@example.com", "Supplier invoice and a strange installer"),
            state=State.OPEN,
        ),
        id="attachments-pdf-png-kept-exe-html-svg-refused",
    ),
    pytest.param(
        Case(
            "gmail_forward_inline.eml",
            Status.TICKET,
            message_id="<CAH3x9Lt2QvNw7Zp0kYb4RmJc8sFd1Ug6TeXa5WoHi3Ln9BrKqE@mail.gmail.com>",
            sender="john@example.com",
            stored_subject="Fwd: Invoice portal shows wrong totals",
            requester=("john@example.com", "John Doe"),
            subject="Fwd: Invoice portal shows wrong totals",
            author="John Doe",
            # A new ticket keeps the whole text: the forwarded message is the request.
            body="Could you log this one for Accounts? Priya also phoned about it.\n\n"
            "---------- Forwarded message ---------\n"
            "From: Priya Natarajan <priya@customer.example>\nDate: Mon, 30 Nov 2026 at 08:47\n"
            "Subject: Invoice portal shows wrong totals\nTo: John Doe <john@example.com>\n\n\n"
            "Hello John,\n\nsince Friday the invoice portal shows every total without VAT, so the\n"
            "PDF invoices we download do not match what we are charged.\n\nBest regards,\nPriya Natarajan",
            mailed=new_ticket_mail("john@example.com", "Fwd: Invoice portal shows wrong totals"),
            state=State.OPEN,
        ),
        id="gmail-forward-inline",
    ),
    pytest.param(
        Case(
            "thunderbird_forward_attached.eml",
            Status.TICKET,
            message_id="<7e2d9a41-5c3b-4f06-b8e1-9a4c2f7d0e35@example.com>",
            sender="ken@example.com",
            stored_subject="Fwd: Planned maintenance on Saturday",
            requester=("ken@example.com", "Ken"),
            subject="Fwd: Planned maintenance on Saturday",
            author="Ken",
            # The attached message follows Ken's text, introduced by its own From, Date and Subject.
            body="Do we need to tell the branches about this?\n\n"
            "---------- Forwarded message ----------\n"
            "From: ISP Network Operations <noc@isp.example>\n"
            "Date: Mon, 30 Nov 2026 13:40:00 +0000\n"
            "Subject: Planned maintenance on Saturday\n\nDear customer,\n\n"
            "on Saturday, 5 December 2026, from 01:00 to 05:00 UTC, your leased line\n"
            "will be down for up to 20 minutes while we replace a router.\n\nISP Network Operations",
            mailed=new_ticket_mail("ken@example.com", "Fwd: Planned maintenance on Saturday"),
            state=State.OPEN,
        ),
        id="thunderbird-forward-as-message-rfc822",
    ),
    pytest.param(
        Case(
            "exchange_ndr.eml",
            Status.BOUNCE,
            message_id="<a71c5e93-0b2d-4f6e-8c14-3d9b7e2f5a08@AM0PR10MB3378.EURPRD10.PROD.OUTLOOK.COM>",
            sender="MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com",
            stored_subject=f"Undeliverable: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            kind=ThreadEntry.Kind.NOTE,
            author="system: e-mail",
            body="A delivery report came by e-mail from "
            "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com: "
            f"\u201cUndeliverable: [#{{number}}] We need your reply: {SUBJECT}\u201d. Nobody was answered.",
            state=State.AWAITING_USER,
        ),
        id="exchange-ndr-threads-a-note",
    ),
    pytest.param(
        Case(
            "postfix_bounce.eml",
            Status.BOUNCE,
            message_id="<20261130100209.4ZqM7b3Xh6z9sX4@mx.helpdesk.test>",
            sender="MAILER-DAEMON@mx.helpdesk.test",
            stored_subject="Undelivered Mail Returned to Sender",
            parent="question",
            lands="parent",
            kind=ThreadEntry.Kind.NOTE,
            author="system: e-mail",
            body="A delivery report came by e-mail from MAILER-DAEMON@mx.helpdesk.test: "
            "\u201cUndelivered Mail Returned to Sender\u201d. Nobody was answered.",
            state=State.AWAITING_USER,
        ),
        id="postfix-dsn-names-our-message-id-in-its-report",
    ),
    pytest.param(
        Case(
            "exchange_out_of_office.eml",
            Status.AUTO_REPLY,
            message_id="<DB9PR10MB5641F0C3D2B1A49E8C7D6B5A4C9B3@DB9PR10MB5641.EURPRD10.PROD.OUTLOOK.COM>",
            sender="karen@example.com",
            stored_subject=f"Automatic reply: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            kind=ThreadEntry.Kind.NOTE,
            author="system: e-mail",
            body="An automatic reply came by e-mail from karen@example.com: "
            f"\u201cAutomatic reply: [#{{number}}] We need your reply: {SUBJECT}\u201d. Nobody was answered.",
            hides=("out of the office",),
            # Still waiting for Karen: an out-of-office is not her answer.
            state=State.AWAITING_USER,
        ),
        id="exchange-out-of-office-threads-a-note",
    ),
    pytest.param(
        Case(
            "autoresponder_to_account_mail.eml",
            Status.AUTO_REPLY,
            message_id="<20261130154003.2A6F91A0B8@mail.example.com>",
            sender="ken@example.com",
            stored_subject="Autoreply: Confirm your e-mail address for the Help Desk",
            parent="account_mail",
            lands="none",
        ),
        id="x-autoreply-precedence-auto-reply-no-ticket",
    ),
    pytest.param(
        Case(
            "html_only_tracker.eml",
            Status.TICKET,
            message_id="<pR4kX9zW2mQ7vT1nB8cY3dF6gH0jL5sA@web02.partner.example>",
            sender="laura.chen@partner.example",
            stored_subject="Booking form rejects December dates",
            requester=("laura.chen@partner.example", "Laura Chen"),
            subject="Booking form rejects December dates",
            author="Laura Chen",
            body="Hello support team,\n\n"
            'The booking form on www.example.com rejects every date in December with "invalid date".\n\n'
            "Please have a look & call me back on +44 20 7946 0958.\n\n"
            "Thanks,\nLaura Chen \u2013 Partner Bookings",
            hides=(*SCRIPTS, "tracker.example", "pixel.gif", "color", "font", "display", "Partner portal"),
            mailed=new_ticket_mail("laura.chen@partner.example", "Booking form rejects December dates"),
            state=State.OPEN,
        ),
        id="html-only-script-tracker-pixel-onerror",
    ),
    pytest.param(
        Case(
            "scanner_no_message_id.eml",
            Status.TICKET,
            message_id="",
            sender="scanner-3f@example.com",
            stored_subject="Scan Data from RICOH IM C3000",
            requester=("scanner-3f@example.com", "RICOH IM C3000 3rd floor"),
            subject="Scan Data from RICOH IM C3000",
            author="RICOH IM C3000 3rd floor",
            body=NO_TEXT,
            files=(("20261130150411.pdf", "application/pdf", SCAN_PDF),),
            mailed=new_ticket_mail("scanner-3f@example.com", "Scan Data from RICOH IM C3000"),
            state=State.OPEN,
        ),
        id="scanner-no-message-id-no-text-only-a-pdf",
    ),
    pytest.param(
        Case(
            "android_gmail_subject_only.eml",
            Status.TICKET,
            message_id="<CAK8pZ2bT6sJw1QxN4vRm9Lc3Yd7Fh0Ue5GiA2XoKt8Wn4BjPzM@mail.gmail.com>",
            sender="ken@example.com",
            stored_subject="Printer on 3rd floor jammed again, please call me on 0161 496 0213",
            requester=("ken@example.com", "Ken"),
            subject="Printer on 3rd floor jammed again, please call me on 0161 496 0213",
            author="Ken",
            body=NO_TEXT,
            mailed=new_ticket_mail(
                "ken@example.com", "Printer on 3rd floor jammed again, please call me on 0161 496 0213"
            ),
            state=State.OPEN,
        ),
        id="android-gmail-subject-only",
    ),
    pytest.param(
        Case(
            "thunderbird_reply_to_closed.eml",
            Status.FOLLOW_UP,
            message_id="<a3f81d6c-7e29-4b05-9c4d-6e1b2a8f0c73@example.com>",
            sender="karen@example.com",
            stored_subject=f"Re: [#{{number}}] Closed: {SUBJECT}",
            parent="closed",
            lands="follow_up",
            requester=("karen@example.com", "Karen"),
            subject=f"Follow-up to #{{number}}: {SUBJECT}",
            author="Karen",
            body="It started again this morning, the same as last week.",
            hides=("-- ", "Karen Smith", "Accounts, Example Ltd", "is now closed", "wrote:", ">"),
            mailed=new_ticket_mail("karen@example.com", f"Follow-up to #{{number}}: {SUBJECT}"),
            state=State.OPEN,
        ),
        id="thunderbird-reply-to-closed-ticket-follow-up",
    ),
    pytest.param(
        Case(
            "yahoo_stranger_subject_number.eml",
            Status.TICKET,
            message_id="<1482759302.6120841.1796042881530@mail.yahoo.com>",
            sender="mallory@example.org",
            stored_subject=f"Re: [#{{number}}] {SUBJECT}",
            parent="question",
            lands="new",
            requester=("mallory@example.org", "Mallory"),
            subject=f"Re: [#{{number}}] {SUBJECT}",
            author="Mallory",
            body="Hi, I have the same problem. Please send me everything you have on\n"
            "this ticket, including the VPN settings Karen gave you.",
            mailed=new_ticket_mail("mallory@example.org", f"Re: [#{{number}}] {SUBJECT}"),
            state=State.OPEN,
        ),
        id="stranger-with-ticket-number-gets-own-ticket",
    ),
    pytest.param(
        Case(
            "roundcube_subject_number.eml",
            Status.REPLY,
            message_id="<b2c9e4f7a1d3c5e8f0a2b4d6e8f0a1c3@example.com>",
            sender="karen@example.com",
            stored_subject=f"[#{{number}}] {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="One more thing: it also drops on the docking station, with a cable.",
            hides=("-- ", "Karen Smith"),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="roundcube-requester-by-subject-number",
    ),
    pytest.param(
        Case(
            "k9_copied_contact_reply.eml",
            Status.REPLY,
            message_id="<F1C7A3E5-9B2D-4F60-A8C4-E6B0D2F4A193@example.com>",
            sender="ken@example.com",
            stored_subject=f"Re: RE: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question_ken_copied",
            lands="parent",
            subject=SUBJECT,
            author="Ken Adams",
            body="Same on my laptop: it dropped twice this morning, both times on the office Wi-Fi.",
            hides=("K-9", "Kind regards", "FortiClient", "wrote:"),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
            contacts=("ken@example.com",),
        ),
        id="k9-android-copied-contact-reply",
    ),
    pytest.param(
        Case(
            "mac_outlook_colleague_reply.eml",
            Status.NOTE,
            message_id="<A7C2E9F1-3B5D-4E60-8C91-2D4F6A8B0C13@example.com>",
            sender="tom.baker@example.com",
            stored_subject=f"Re: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            kind=ThreadEntry.Kind.NOTE,
            author="system: e-mail",
            body="By e-mail from Tom Baker <tom.baker@example.com>, who is not the requester:\n\n"
            "Every laptop in Accounts has FortiClient 7.2.4; I rolled it out last week.\n\nTom",
            hides=("Tom, can you answer", QUESTION, "Date:"),
            state=State.AWAITING_USER,
        ),
        id="mac-outlook-reply-from-someone-not-on-the-ticket-is-a-note",
    ),
    pytest.param(
        Case(
            "loop_own_mail.eml",
            Status.LOOP,
            message_id="{message_id}",
            sender="helpdesk@localhost",
            stored_subject=f"[#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="none",
            state=State.AWAITING_USER,
        ),
        id="our-own-mail-forwarded-back-is-a-loop",
    ),
    # -- found wanting ---------------------------------------------------------------------------
    pytest.param(
        Case(
            "outlook_french_reply.eml",
            Status.REPLY,
            message_id="<DB9PR10MB5641A9E8D7C6B5F4A3B2C1D0E9F87@DB9PR10MB5641.EURPRD10.PROD.OUTLOOK.COM>",
            sender="karen@example.com",
            stored_subject=f"RE : [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="Bonjour,\n\nOui, c'est réglé depuis le redémarrage du poste. "
            "Merci beaucoup\u00a0!\n\nKaren",
            hides=("De :", "Envoyé", "Objet", QUESTION),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="outlook-french-reply-de-envoye",
    ),
    pytest.param(
        Case(
            "gmail_german_reply.eml",
            Status.REPLY,
            message_id="<CAE4r8mNq2Xv7Lt0kZb5WpJd9sGf3Ye1TcRa6UoKi4Hn8ByPwQx@mail.gmail.com>",
            sender="karen@example.com",
            stored_subject=f"Re: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="Danke, seit dem Neustart funktioniert es wieder.",
            hides=("schrieb", "helpdesk@localhost"),
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="gmail-german-reply-am-schrieb",
    ),
    pytest.param(
        Case(
            "thunderbird_bottom_post.eml",
            Status.REPLY,
            message_id="<d6e2b8f4-0a3c-4d7e-91b5-7c3f9e1a2d46@example.com>",
            sender="karen@example.com",
            stored_subject=f"Re: [#{{number}}] We need your reply: {SUBJECT}",
            parent="question",
            lands="parent",
            subject=SUBJECT,
            author="Karen",
            body="FortiClient 7.2.4, installed last week.",
            hides=QUOTED,
            mailed=KAREN_WROTE,
            state=State.IN_PROGRESS,
        ),
        id="thunderbird-reply-below-the-quote",
    ),
    pytest.param(
        Case(
            "outlook_express_cp1252_as_latin1.eml",
            Status.TICKET,
            message_id="<000801db4329$4f1a2b30$0201a8c0@PCCOMPTA02>",
            sender="francois.lefevre@example.fr",
            stored_subject="Invoice portal totals",
            requester=("francois.lefevre@example.fr", "François Lefèvre"),
            subject="Invoice portal totals",
            author="François Lefèvre",
            body="Hello,\n\nthe invoice portal shows \u20ac 1,240.00 \u2013 that\u2019s the total "
            "\u201cexcluding VAT\u201d \u2026 again.\nCould someone have a look?\n\n"
            "Regards,\nFrançois Lefèvre",
            mailed=new_ticket_mail("francois.lefevre@example.fr", "Invoice portal totals"),
            state=State.OPEN,
        ),
        id="iso-8859-1-label-on-windows-1252-text",
    ),
    pytest.param(
        Case(
            "php_form_raw_utf8_headers.eml",
            Status.TICKET,
            message_id="<20261130170218.9C4A21A0E3@web01.example.com>",
            sender="zoe.olberg@example.no",
            stored_subject="Kontaktformular: Rückruf für Zoë Ølberg",
            requester=("zoe.olberg@example.no", "Zoë Ølberg"),
            subject="Kontaktformular: Rückruf für Zoë Ølberg",
            author="Zoë Ølberg",
            body="Name: Zoë Ølberg\nTelefon: +47 912 34 567\n"
            "Nachricht: Bitte rufen Sie mich wegen der Rechnung zurück.",
            mailed=new_ticket_mail("zoe.olberg@example.no", "Kontaktformular: Rückruf für Zoë Ølberg"),
            state=State.OPEN,
        ),
        id="raw-utf-8-subject-and-from-name",
    ),
    pytest.param(
        Case(
            "outlook_meeting_invite.eml",
            Status.TICKET,
            message_id="<DB9PR10MB5641B8C7D6E5F4A3B2C1D0E9F8A76@DB9PR10MB5641.EURPRD10.PROD.OUTLOOK.COM>",
            sender="karen@example.com",
            stored_subject="Laptop handover for the new starter",
            requester=("karen@example.com", "Karen"),
            subject="Laptop handover for the new starter",
            author="Karen",
            body="Could someone bring the new starter's laptop to Accounts at this time, "
            "and show her how to sign in?",
            hides=("VCALENDAR", "DTSTART", "mailto:"),
            mailed=new_ticket_mail("karen@example.com", "Laptop handover for the new starter"),
            state=State.OPEN,
        ),
        id="outlook-meeting-invitation-text-calendar",
    ),
    pytest.param(
        Case(
            "outlook_forward_as_attachment_html_only.eml",
            Status.TICKET,
            message_id="<DB9PR10MB5641D2E1F0A9B8C7D6E5F4A3B2C10@DB9PR10MB5641.EURPRD10.PROD.OUTLOOK.COM>",
            sender="karen@example.com",
            stored_subject="FW: Your password expires today",
            requester=("karen@example.com", "Karen"),
            subject="FW: Your password expires today",
            author="Karen",
            body="Is this phishing? The whole Accounts team got it this morning.\n\nKaren\n\n"
            "---------- Forwarded message ----------\n"
            "From: Microsoft 365 <no-reply@m365-alerts.example>\n"
            "Date: Tue, 1 Dec 2026 06:58:10 +0000\n"
            "Subject: Your password expires today\n\n"
            "Your password expires today\nKeep your current password by confirming your account below.\n"
            "Keep my password\nMicrosoft 365 Security",
            # The forwarded sender is shown (it tells the agents who phishes); the links are not.
            hides=("https://", "o.gif", "<img", "href"),
            mailed=new_ticket_mail("karen@example.com", "FW: Your password expires today"),
            state=State.OPEN,
        ),
        id="outlook-forward-as-attachment-of-an-html-only-message",
    ),
    pytest.param(
        Case(
            "google_group_relay.eml",
            Status.TICKET,
            message_id="<CAJ6tW3xPr8Nz1Lm5QbYk0Vd4sHf7Ug2TeXc9WoAi5Kn3BqRjFs@mail.gmail.com>",
            sender="ken@example.com",
            stored_subject="Cannot open the shared calendar",
            requester=("ken@example.com", "Ken"),
            subject="Cannot open the shared calendar",
            author="Ken",
            body="Hi,\n\nsince this morning Outlook says I have no permission to open the\n"
            "shared Accounts calendar. It worked on Friday.\n\nKen",
            # A ticket, but no acknowledgement: it could go to everyone in the group (RFC 3834).
            mailed=new_ticket_mail("ken@example.com", "Cannot open the shared calendar")[1:],
            state=State.OPEN,
        ),
        id="person-writing-through-a-google-group",
    ),
]


# -- the test ------------------------------------------------------------------------------------------


def attachments_of(entry: ThreadEntry) -> list[tuple[str, str, tuple[int, str]]]:
    found = []
    for attachment in entry.attachments.order_by("pk"):
        with attachment.file.open("rb") as stored:
            data = stored.read()
        assert attachment.size == len(data)
        found.append(
            (attachment.filename, attachment.content_type, (len(data), hashlib.sha256(data).hexdigest()))
        )
    return found


def system_notes(ticket: Ticket, *, besides: ThreadEntry | None = None) -> list[str]:
    notes = ticket.thread.filter(kind=ThreadEntry.Kind.NOTE, author_name="system: e-mail")
    if besides is not None:
        notes = notes.exclude(pk=besides.pk)
    return list(notes.values_list("body", flat=True))


@pytest.mark.parametrize("case", CASES)
def test_a_real_message_becomes_what_it_should(case, lab, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    parent, values = PARENTS[case.parent](lab, commit) if case.parent else (None, {})
    raw = fill(read(case.eml), values)
    words = {"number": parent.number if parent else "", "message_id": values.get("MESSAGE_ID", "")}
    before = set(Ticket.objects.values_list("pk", flat=True))
    parent_entries = set(parent.thread.values_list("pk", flat=True)) if parent else set()
    mail.outbox.clear()

    with commit(execute=True):
        stored = store.ingest(raw)

    stored = InboundMessage.objects.get(pk=stored.pk)
    # Kept as it came, byte for byte, whatever became of it.
    assert bytes(stored.raw) == raw and stored.size == len(raw)
    assert (stored.status, stored.error) == (case.status, "")
    assert stored.processed_at is not None
    assert (stored.message_id, stored.sender, stored.subject) == (
        case.message_id.format(**words),
        case.sender,
        case.stored_subject.format(**words),
    )

    made = list(Ticket.objects.exclude(pk__in=before))
    if case.lands == "none":
        assert made == [] and stored.ticket is None and stored.entry is None
        ticket = None
    elif case.lands == "parent":
        assert made == [] and stored.ticket == parent
        ticket = fresh(parent)
    else:
        assert len(made) == 1 and stored.ticket == made[0]
        ticket = made[0]
        assert ticket.follow_up_of == (parent if case.lands == "follow_up" else None)
        assert (ticket.requester.email, ticket.requester.name) == case.requester
        assert ticket.source == Ticket.Source.EMAIL
    words["new"] = ticket.number if ticket and made else ""
    if parent is not None and ticket != parent:
        # The ticket answered (or whose number was used) is left as it was.
        assert set(parent.thread.values_list("pk", flat=True)) == parent_entries

    if ticket is None and parent is not None:
        assert fresh(parent).state == case.state
    if ticket is not None:
        assert ticket.subject == (case.subject.format(**words) if case.subject else parent.subject)
        assert ticket.state == case.state
        assert sorted(ticket.contacts.values_list("email", flat=True)) == sorted(case.contacts)

    entry = stored.entry
    if case.body is None:
        assert entry is None
    else:
        expected = case.body.format(**words)
        assert entry is not None and entry.ticket == ticket
        assert (entry.kind, entry.author_name, entry.author_id) == (case.kind, case.author, None)
        assert entry.is_public == (case.kind == ThreadEntry.Kind.MESSAGE)
        assert entry.body == expected
        for piece in case.hides:
            assert piece.format(**words) not in entry.body, f"{piece!r} is shown"
        if ticket is not None and made and case.kind == ThreadEntry.Kind.MESSAGE:
            assert entry == ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)  # the ticket's first entry
        assert attachments_of(entry) == list(case.files)

    if ticket is not None:
        besides = entry if case.kind == ThreadEntry.Kind.NOTE else None
        assert system_notes(ticket, besides=besides) == ([case.note.format(**words)] if case.note else [])

    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        (to, subject.format(**words)) for to, subject in case.mailed
    )
    acks = [m for m in mail.outbox if m.to == [case.requester[0]] and "We received" in m.subject]
    if made and stored.message_id and acks:  # (mail through a list is not acknowledged)
        # The acknowledgement answers the message, so the sender's client threads it.
        [ack] = acks
        assert ack.extra_headers["In-Reply-To"] == stored.message_id

    # A second delivery of the same message (a retried pipe, a poll that died before marking it)
    # is the same row and does nothing more.
    counts = (Ticket.objects.count(), ThreadEntry.objects.count(), InboundMessage.objects.count())
    with commit(execute=True):
        again = store.ingest(raw)
    assert again.pk == stored.pk and again.status == case.status
    assert (Ticket.objects.count(), ThreadEntry.objects.count(), InboundMessage.objects.count()) == counts
    assert len(mail.outbox) == len(case.mailed)


def test_every_file_of_the_corpus_is_in_the_table():
    assert sorted(p.name for p in EML.glob("*.eml")) == sorted(p.values[0].eml for p in CASES)


@pytest.mark.parametrize("name", sorted(p.name for p in EML.glob("*.eml")))
def test_the_corpus_is_shaped_like_real_mail(name):
    """The headers a real client and MTA write; CRLF line ends throughout a file, or nowhere."""
    raw = read(name)
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n")[0]
    for header in (b"Received", b"Date", b"From", b"Subject", b"To", b"Mime-Version"):
        assert re.search(rb"(?mi)^" + header + rb": ", head), f"no {header.decode()} header"
    assert raw.count(b"\r\n") in (0, raw.count(b"\n"))


def test_an_html_only_message_shows_its_words_and_nothing_of_its_markup_in_the_console(lab, client):
    """What the agent sees of the HTML-only message: the words, no script, no remote image."""
    stored = store.ingest(read("html_only_tracker.eml"))
    client.force_login(lab.john)
    page = client.get(reverse("agents:ticket", args=[stored.ticket.number])).content.decode()
    assert "rejects every date in December" in page and "Laura Chen" in page
    for piece in ("tracker.example", "pixel.gif", "document.cookie", "onmouseover", "alert("):
        assert piece not in page, f"{piece!r} is in the page"
