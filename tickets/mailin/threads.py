"""What a message is (our own come back, an automatic reply, list mail, a bounce) and which
ticket a reply threads onto."""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr

from tickets import selectors
from tickets.mailin.parse import (
    MAX_PARTS,
    _decode_part,
    _header_text,
    _headers,
    _message_id,
    _own_addresses,
    _sender,
)
from tickets.mailout import mailids, notifications
from tickets.models import InboundMessage, Ticket

Status = InboundMessage.Status


_SUBJECT_NUMBER = re.compile(r"\[#(\d{4,12})\]")

# -- what a message is -------------------------------------------------------------------------------


def is_loop(headers: Message) -> bool:
    """Our own mail, come back (a forward loop, an auto-forward to our own mailbox)."""
    loop_marker = parseaddr(notifications.reply_address())[1].lower()  # our X-Loop value
    return (
        mailids.is_ours(_message_id(headers))
        or loop_marker in _header_text(headers, "X-Loop").lower()
        or _sender(headers)[1].lower() in _own_addresses()
    )


def automatic_kind(headers: Message) -> str | None:
    """ "bounce" for a delivery report, "auto_reply" for any other mail a machine sent by
    itself (RFC 3834 and the headers auto-responders use in practice), else None."""
    content_type = _header_text(headers, "Content-Type").lower()
    sender = _sender(headers)[1].lower()
    return_path = _header_text(headers, "Return-Path")
    if content_type.startswith("multipart/report"):
        return Status.BOUNCE
    if sender.split("@")[0] in ("mailer-daemon", "postmaster") or (
        headers.get("Return-Path") is not None and return_path.strip() in ("<>", "")
    ):
        return Status.BOUNCE
    auto_submitted = _header_text(headers, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return Status.AUTO_REPLY
    if _header_text(headers, "Precedence").lower() == "auto_reply":
        return Status.AUTO_REPLY
    if any(headers.get(name) is not None for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse")):
        return Status.AUTO_REPLY
    return None


def is_list_mail(headers: Message) -> bool:
    """Mail that came through a list or a group (Google Groups and the like): a person wrote
    it, but an automatic answer could go to everyone on the list (RFC 3834), so none is sent."""
    precedence = _header_text(headers, "Precedence").lower()
    return precedence in ("bulk", "junk", "list") or headers.get("List-Id") is not None


def _bounced_ticket(raw: bytes) -> Ticket | None:
    """The ticket of our message that a delivery report returns: reports name it only in the
    copy of the message they carry (message/rfc822 or text/rfc822-headers)."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    for number, part in enumerate(message.walk()):
        if number > MAX_PARTS:
            break
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part.is_multipart():
            returned = part.get_payload(0)
        elif content_type == "text/rfc822-headers":
            returned = _headers(_decode_part(part).encode("utf-8", "replace"))
        else:
            continue
        pk = mailids.ticket_pk_from(
            [_header_text(returned, "Message-ID"), _header_text(returned, "References")]
        )
        if pk is not None:
            return Ticket.objects.filter(pk=pk).exclude(number=None).first()
    return None


# The line (or two: clients wrap it) with which a client introduces the history it quotes:
# "On Mon, 30 Nov 2026 at 10:02, Help Desk <…> wrote:" (Gmail, Apple Mail, Thunderbird),
# "Le … a écrit :", "Am … schrieb Help Desk <…>:", "El … escribió:".

def _thread_of(headers: Message, sender: str) -> Ticket | None:
    """The ticket a reply answers; a merged ticket's reply goes to the ticket it was merged
    into (whose contacts include the merged ticket's requester and contacts)."""
    references = [_header_text(headers, "In-Reply-To"), _header_text(headers, "References")]
    pk = mailids.ticket_pk_from(references)
    if pk is not None:
        ticket = Ticket.objects.select_related("requester").filter(pk=pk).exclude(number=None).first()
        return None if ticket is None else selectors.surviving_ticket(ticket)
    found = _SUBJECT_NUMBER.search(_header_text(headers, "Subject"))
    if found is None:
        return None
    ticket = Ticket.objects.select_related("requester").filter(number=found.group(1)).first()
    # A number in a subject is easy to guess: only the requester or a copied person may use it.
    if ticket is not None and _may_answer(ticket, sender):
        return selectors.surviving_ticket(ticket)
    return None


def _may_answer(ticket: Ticket, sender: str) -> bool:
    return (
        ticket.requester.email.lower() == sender.lower()
        or ticket.contacts.filter(email__iexact=sender).exists()
    )
