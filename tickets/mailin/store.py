"""Mail in: every message is stored first, with its raw bytes, then processed.

``ingest(raw)`` stores the message (once: a second delivery of the same Message-ID is the same
row) and then processes it in a transaction of its own:

- our own mail come back is a loop; an automatic reply or a delivery report is kept and never
  answered (a note on its ticket, when it threads onto one);
- too many messages from one sender in an hour wait, unprocessed; a new ticket from a sender
  with too many open tickets, or acknowledged too often lately, is opened but mails nobody
  (counted from the stored messages, so every process shares the counts);
- a reply finds its ticket by our signed Message-IDs in In-Reply-To / References, or by the
  ``[#number]`` in the subject when the sender is the requester or was copied on the ticket;
  the quoted history and the signature are left out of the thread entry (the raw message is
  kept), and the services do the rest (a waiting ticket goes back to work, a closed one opens
  a follow-up);
- anything else opens a ticket through the normal creation and intake.

A message that fails to process is put in quarantine with the reason; nothing is lost, and the
admin can process it again. Nothing here raises for a bad message.
"""

from __future__ import annotations

import hashlib
import logging
import traceback

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets import locales, services, uploads
from tickets.mailin.caps import _log_capped, _one_sender_at_a_time, _past_a_cap, _past_the_limit
from tickets.mailin.parse import Unprocessable, _header_text, _headers, _message_id, _sender, parse
from tickets.mailin.quotes import strip_quoted
from tickets.mailin.threads import (
    _bounced_ticket,
    _may_answer,
    _thread_of,
    automatic_kind,
    is_list_mail,
    is_loop,
)
from tickets.mailout import notifications
from tickets.models import InboundMessage, Mailbox, Ticket, TicketContact

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# Beyond these a message is still stored whole; only what the ticket shows is cut.
MAX_BODY_CHARS = 100_000
EMAIL_RULE = "requester by e-mail"
NO_TEXT = "(The message had no text.)"



# -- storing ----------------------------------------------------------------------------------------



def store(raw: bytes, *, source: str, mailbox: Mailbox | None = None) -> tuple[InboundMessage, bool]:
    """Keep the message (committed before anything else happens); False if it was here already."""
    headers = _headers(raw)
    message_id = _message_id(headers)
    sender = _sender(headers)[1][:320]
    # The same message is the same Message-ID from the same sender: a stranger who reuses
    # someone's Message-ID makes a message of their own, not a duplicate that is dropped.
    identity = f"{message_id}\n{sender.lower()}".encode() if message_id else b"raw:" + raw
    key = hashlib.sha256(identity).hexdigest()
    existing = InboundMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            stored = InboundMessage.objects.create(
                key=key,
                message_id=message_id,
                raw=raw,
                size=len(raw),
                source=source[:100],
                mailbox=mailbox,
                sender=sender,
                subject=_header_text(headers, "Subject")[:255],
            )
    except IntegrityError:  # another delivery of it stored it first
        return InboundMessage.objects.get(key=key), False
    return stored, True


def ingest(raw: bytes, *, source: str = "pipe", mailbox: Mailbox | None = None) -> InboundMessage:
    """Store the message, then process it; returns its row (status says what became of it)."""
    stored, _created = store(raw, source=source, mailbox=mailbox)
    return process_pending(stored)


def process_pending(stored: InboundMessage) -> InboundMessage:
    """Process a stored message unless that was done: a delivery that died between storing and
    processing is finished by the next delivery of the same message."""
    if stored.status == Status.RECEIVED and stored.processed_at is None:
        return process(stored)
    return stored


def process(stored: InboundMessage, *, rate_limit: bool = True) -> InboundMessage:
    """Process a stored message; a failure rolls its effects back and quarantines it.

    The row is locked and must still be as the caller read it: two deliveries of one message
    (a retried pipe beside a poll, two admins) process it once."""
    seen = (stored.status, stored.processed_at)
    try:
        with transaction.atomic():
            current = (
                InboundMessage.objects.select_for_update().only("status", "processed_at").get(pk=stored.pk)
            )
            if (current.status, current.processed_at) != seen:
                stored.refresh_from_db()
                return stored
            # A reprocessed message's old reasons; _process may give new ones.
            stored.error = stored.mail_suppressed = ""
            _process(stored, rate_limit=rate_limit)
            stored.processed_at = timezone.now()
            stored.save()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, Unprocessable | services.TicketActionError) else repr(exc)
        if not isinstance(exc, Unprocessable):
            # Where it failed, without the exception's text (it may quote the message); all of
            # it at DEBUG.
            logger.warning(
                "Inbound message %s quarantined: %s at\n%s",
                stored.pk,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            logger.debug("Inbound message %s quarantined:\n%s", stored.pk, traceback.format_exc())
        InboundMessage.objects.filter(pk=stored.pk).update(
            status=Status.QUARANTINED,
            error=reason[:2000],
            processed_at=timezone.now(),
            ticket=None,
            entry=None,
        )
        stored.refresh_from_db()
    return stored


# -- processing ---------------------------------------------------------------------------------------


def _checked_files(files: list[SimpleUploadedFile]) -> tuple[list[SimpleUploadedFile], list[str]]:
    """Each file through the portal's checks on its own: a refused one is named, not fatal."""
    good: list[SimpleUploadedFile] = []
    refused: list[str] = []
    for upload in files:
        if len(good) >= settings.ATTACHMENT_MAX_COUNT:
            refused.append(f"{upload.name}: more than {settings.ATTACHMENT_MAX_COUNT} files in one message")
            continue
        try:
            uploads.check_uploads([upload])
        except uploads.UploadError as exc:
            refused.append(f"{upload.name}: {exc}")
        else:
            upload.seek(0)
            good.append(upload)
    return good, refused


def _body(text: str) -> str:
    text = text.strip() or NO_TEXT
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + "\n\n(The message was cut here; the whole of it is kept.)"
    return text


def _remember_contacts(ticket: Ticket, copied: list[tuple[str, str]]) -> None:
    for name, email in copied[:20]:
        try:
            validate_email(email)
        except ValidationError:
            continue
        if not ticket.contacts.filter(email__iexact=email).exists():
            TicketContact.objects.create(ticket=ticket, email=email.lower(), name=name[:120])


def _process(stored: InboundMessage, *, rate_limit: bool) -> None:
    raw = bytes(stored.raw)
    headers = _headers(raw)
    if is_loop(headers):
        stored.status = Status.LOOP
        return
    automatic = automatic_kind(headers)
    if automatic is not None:
        stored.status = automatic
        ticket = _thread_of(headers, _sender(headers)[1])
        if ticket is None and automatic == Status.BOUNCE:
            ticket = _bounced_ticket(raw)
        if ticket is not None:
            stored.ticket = ticket
            label = "A delivery report" if automatic == Status.BOUNCE else "An automatic reply"
            stored.entry = services.ticket_system_note(
                ticket=ticket,
                body=f"{label} came by e-mail from {stored.sender or 'an unknown sender'}: "
                f"“{stored.subject or '(no subject)'}”. Nobody was answered.",
                source="e-mail",
            )
        return
    parsed = parse(raw)
    _one_sender_at_a_time(parsed.sender)
    held = _past_the_limit(stored, parsed.sender) if rate_limit else ""
    if held:
        # The reason names the sender: kept on the message, in the log only at DEBUG.
        logger.warning("Inbound message %s held, not processed: its sender is past a limit", stored.pk)
        logger.debug("Inbound message %s from %s held: %s", stored.pk, parsed.sender, held)
        stored.status = Status.RATE_LIMITED
        stored.error = held
        return
    files, refused = _checked_files(parsed.files)
    ticket = _thread_of(headers, parsed.sender)
    if ticket is not None and _may_answer(ticket, parsed.sender):
        requester = ticket.requester.email.lower() == parsed.sender.lower()
        # A reply that finds the ticket closed opens a follow-up, a new ticket, under the same
        # caps (whether it is closed is decided under the ticket's lock, so both are ready).
        capped = _past_a_cap(parsed.sender)
        if requester:  # what the requester's own mail says of their language
            services.requester_heard_from(
                ticket.requester, language=locales.content_language(_header_text(headers, "Content-Language"))
            )
        landed, entry = services.ticket_receive_reply(
            ticket=ticket,
            body=_body(strip_quoted(parsed.text)),
            actor=None,
            system_rule=EMAIL_RULE,
            attachments=files,
            author_name=None if requester else (parsed.sender_name or parsed.sender)[:150],
            follow_up_mail=not capped,
        )
        stored.status = Status.REPLY if landed.pk == ticket.pk else Status.FOLLOW_UP
        if stored.status == Status.FOLLOW_UP and capped:
            stored.mail_suppressed = capped
            _log_capped(stored, parsed.sender, landed)
    elif ticket is not None:
        # A reply to our mail from someone who is neither the requester nor copied (a forward):
        # the agents see it; it moves nothing and is not shown to the requester.
        landed = ticket
        entry = services.ticket_system_note(
            ticket=ticket,
            body=f"By e-mail from {notifications.address(parsed.sender_name, parsed.sender)}, who is not "
            f"the requester:\n\n{_body(strip_quoted(parsed.text))}",
            source="e-mail",
            attachments=files,
        )
        stored.status = Status.NOTE
    else:
        mailbox = stored.mailbox
        stored.mail_suppressed = _past_a_cap(parsed.sender)
        _requester, landed = services.ticket_create_for_contact(
            email=parsed.sender,
            name=parsed.sender_name or parsed.sender,
            subject=parsed.subject,
            body=_body(parsed.text),
            source=Ticket.Source.EMAIL,
            help_topic=mailbox.help_topic
            if mailbox and mailbox.help_topic and mailbox.help_topic.is_active
            else None,
            department=mailbox.department if mailbox else None,
            attachments=files,
            language=locales.content_language(_header_text(headers, "Content-Language")),
            acknowledge=not is_list_mail(headers) and not stored.mail_suppressed,
            alert_agents=not stored.mail_suppressed,
        )
        entry = landed.thread.get(kind="message")
        stored.status = Status.TICKET
        if stored.mail_suppressed:
            _log_capped(stored, parsed.sender, landed)
    _remember_contacts(landed, parsed.copied)
    if refused:
        services.ticket_system_note(
            ticket=landed,
            body="Files in the e-mail that were not attached (the raw message keeps them):\n\n"
            + "\n".join(f"- {line}" for line in refused),
            source="e-mail",
        )
    stored.ticket, stored.entry = landed, entry


def download_response(stored: InboundMessage) -> HttpResponse:
    """The message exactly as it came, as a file to download, never shown as a page of ours."""
    response = HttpResponse(bytes(stored.raw), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="message-{stored.pk}.eml"'
    return response


def reprocess(stored: InboundMessage) -> InboundMessage:
    """Process a quarantined or held message again (the admin's action): the sender's rate
    limit does not apply, since a person decided."""
    if not stored.can_reprocess:
        raise services.TicketActionError(_("Only a quarantined or held message is processed again."))
    # What processing writes (a quarantine reason, the thread's notes) is a record, kept in
    # English whatever the language of the admin who asked.
    with translation.override(None):
        return process(stored, rate_limit=False)
