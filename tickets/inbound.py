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
import html
import logging
import re
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.utils import timezone

from tickets import mailids, notifications, services, uploads
from tickets.models import ACTIVE_STATES, InboundMessage, Mailbox, Ticket, TicketContact

logger = logging.getLogger(__name__)

Status = InboundMessage.Status

# Beyond these a message is still stored whole; only what the ticket shows is cut.
MAX_BODY_CHARS = 100_000
MAX_PARTS = 500
# The longest address the requester and contact columns hold (RFC 5321's limit too).
MAX_ADDRESS = 254
EMAIL_RULE = "requester by e-mail"
NO_TEXT = "(The message had no text.)"

_SUBJECT_NUMBER = re.compile(r"\[#(\d{4,12})\]")


class Unprocessable(Exception):
    """The message cannot become a ticket or a reply; the message says why (quarantine)."""


# -- storing ----------------------------------------------------------------------------------------


def _headers(raw: bytes) -> Message:
    """The headers alone, parsed leniently (compat32 never raises on a bad header)."""
    return BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)


# Labels under which mail clients send text in a larger character set; read as the larger one,
# as browsers do (WHATWG Encoding): "ISO-8859-1" text from Windows is Windows-1252 (€, “ ”),
# "Shift_JIS" from Windows is CP932 (①, 髙), and so on.
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in the charset it names (or its superset); UTF-8, then Windows-1252, when it names
    none, a wrong one or one Python does not know. Never raises."""
    label = (charset or "").strip().strip('"').lower()
    if label in ("", "us-ascii", "ascii", "utf-8", "utf8", "unknown-8bit", "x-unknown"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    try:
        return data.decode(_SUPERSETS.get(label, label), errors="replace")
    except (LookupError, ValueError):
        return decode_bytes(data, None)


def _eight_bit(value: str) -> str:
    """Raw 8-bit bytes in a header (RFC 6532 UTF-8, or a form's Latin-1), which the parser keeps
    as surrogate escapes, read as text."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    try:
        return decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    except UnicodeEncodeError:  # a surrogate the parser did not make: left as it is
        return value


def decode_header_value(value: str) -> str:
    """A header's text: RFC 2047 words in their charsets, raw 8-bit bytes as text. Never raises."""
    value = _eight_bit(value)
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset) for chunk, charset in chunks
    )


def _raw_header(message: Message, name: str) -> str | None:
    """The header's value as it came (the parser's own reading gives 8-bit bytes up as U+FFFD)."""
    value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else str(value)


def _header_text(message: Message, name: str) -> str:
    """A header decoded to text however it is encoded, or "" (never raises); no NUL, which no
    database column takes."""
    value = _raw_header(message, name)
    if value is None:
        return ""
    return " ".join(decode_header_value(value).replace("\x00", " ").split())


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) of each address in an address header. The addresses are found
    before the names are decoded: an encoded name may hold "@", "," or "<…>", and must never
    become the address (``=?utf-8?q?karen=40example.com?= <mallory@…>`` is Mallory)."""
    value = _raw_header(message, name)
    if not value:
        return []
    return [
        (" ".join(decode_header_value(display).split()), address.strip())
        for display, address in getaddresses([_eight_bit(value).replace("\x00", " ")])
    ]


def _sender(message: Message) -> tuple[str, str]:
    """The From header's (display name, address); ("", "") when it names nobody."""
    found = _addresses(message, "From")
    return found[0] if found else ("", "")


def _message_id(headers: Message) -> str:
    found = re.search(r"<[^<>\s]{1,900}>", _header_text(headers, "Message-ID"))
    return found.group(0) if found else ""


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
    stored, _ = store(raw, source=source, mailbox=mailbox)
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
            logger.warning("Inbound message %s quarantined:\n%s", stored.pk, traceback.format_exc())
        InboundMessage.objects.filter(pk=stored.pk).update(
            status=Status.QUARANTINED,
            error=reason[:2000],
            processed_at=timezone.now(),
            ticket=None,
            entry=None,
        )
        stored.refresh_from_db()
    return stored


# -- reading a message -----------------------------------------------------------------------------------


@dataclass
class Parsed:
    sender: str
    sender_name: str
    subject: str
    text: str
    files: list[SimpleUploadedFile] = field(default_factory=list)
    copied: list[tuple[str, str]] = field(default_factory=list)


def _payload(part: Message) -> bytes:
    """A leaf's content, its transfer encoding undone; as it stands when that is broken."""
    try:
        return part.get_payload(decode=True) or b""
    except Exception:
        return str(part.get_payload()).encode("utf-8", "surrogateescape")


def _decode_part(part: Message) -> str:
    return decode_bytes(_payload(part), part.get_content_charset())


def html_to_text(markup: str) -> str:
    """The text of an HTML body: sanitized by nh3 down to no tags at all, so nothing of it
    (scripts, remote images, styles) is ever rendered; line breaks kept."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|blockquote)\s*>", "\n", markup)
    text = html.unescape(nh3.clean(markup, tags=set(), attributes={}, strip_comments=True))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _disposition(part: Message) -> str:
    return str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()


def _is_file(part: Message) -> bool:
    """A leaf that is a file rather than text to read: declared an attachment, not text
    (inline images too), named, or text of another kind (a calendar, a vCard, CSV)."""
    if _disposition(part) == "attachment" or part.get_content_maintype() != "text":
        return True
    try:
        named = bool(part.get_filename())
    except Exception:
        named = False
    return named or part.get_content_type() not in ("text/plain", "text/html")


def _filename(part: Message, number: int) -> str:
    """The part's name, cleaned as the portal's are (``uploads.clean_filename``); a made-up one
    when it has none or nothing of it is usable (".", "..", control characters only)."""
    try:
        name = part.get_filename()
    except Exception:
        name = None
    made_up = f"attachment-{number}.{part.get_content_subtype() or 'bin'}"
    return uploads.clean_filename(decode_header_value(str(name)) if name else "", fallback=made_up)


def _chosen_alternative(alternatives: list[Message]) -> Message | None:
    """The one of a multipart/alternative to read: its plain text unless that is empty, else
    its HTML (or the related or mixed part holding it), else the first."""
    plain = [a for a in alternatives if a.get_content_type() == "text/plain" and not _is_file(a)]
    for part in plain:
        if _decode_part(part).strip():
            return part
    for part in alternatives:
        if part.get_content_type() == "text/html" or part.get_content_maintype() == "multipart":
            return part
    return alternatives[0] if alternatives else None


def _forward_header(inner: Message) -> str:
    lines = [
        f"{label}: {_header_text(inner, name)}"
        for label, name in (("From", "From"), ("Date", "Date"), ("Subject", "Subject"))
        if _header_text(inner, name)
    ]
    return "\n".join(["---------- Forwarded message ----------", *lines])


@dataclass
class _Found:
    texts: list[str] = field(default_factory=list)
    files: list[SimpleUploadedFile] = field(default_factory=list)
    parts: int = 0


def _walk(part: Message, found: _Found, *, read: bool = True) -> None:
    """Collect the text to read and the files of a MIME tree. Of a multipart/alternative only
    the chosen version is read, but the files of every version are kept (an HTML version's
    inline images); a forwarded message (message/rfc822) is read with its own header lines."""
    found.parts += 1
    if found.parts > MAX_PARTS:
        raise Unprocessable(f"The message has more than {MAX_PARTS} parts.")
    content_type = part.get_content_type()
    if part.is_multipart():
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if content_type == "message/rfc822":
            if read and subparts:
                found.texts.append(_forward_header(subparts[0]))
        elif content_type.startswith("message/"):  # delivery-status and the like: not for people
            read = False
        chosen = _chosen_alternative(subparts) if content_type == "multipart/alternative" else None
        for sub in subparts:
            _walk(sub, found, read=read and (chosen is None or sub is chosen))
        return
    if _is_file(part):
        if read or part.get_content_maintype() != "text" or _disposition(part) == "attachment":
            found.files.append(SimpleUploadedFile(_filename(part, found.parts), _payload(part), content_type))
        return
    if not read:
        return
    text = _decode_part(part)
    found.texts.append(html_to_text(text) if content_type == "text/html" else text)


def parse(raw: bytes) -> Parsed:
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    name, sender = _sender(message)
    try:
        validate_email(sender)
        if len(sender) > MAX_ADDRESS:
            raise ValidationError("too long")
    except ValidationError:
        raise Unprocessable(
            f"No valid sender address in From: {_header_text(message, 'From')[:200]!r}"
        ) from None
    found = _Found()
    _walk(message, found)
    text = "\n\n".join(t.strip() for t in found.texts if t.strip())
    copied = [
        (cc_name, cc)
        for cc_name, cc in _addresses(message, "Cc")
        if cc and cc.lower() not in _own_addresses() | {sender.lower()}
    ]
    subject = _header_text(message, "Subject")[:255] or "(no subject)"
    return Parsed(sender, name, subject, text.replace("\x00", ""), found.files, copied)


# -- what a message is -------------------------------------------------------------------------------


def _own_addresses() -> set[str]:
    """The help desk's addresses: the one requesters answer to, and the sender's."""
    return {
        parseaddr(notifications.reply_address())[1].lower(),
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(),
    }


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
_ATTRIBUTION = re.compile(
    r"^\s*(On|Le|Am|El)\b.{0,300}\b(wrote|a écrit|schrieb|escribió)\b.{0,200}:\s*$", re.I
)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Le|Am|El)\b", re.I)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Forwarded message|Weitergeleitete Nachricht|Message transféré)\s*-{2,}\s*$",
    re.I,
)
# Outlook: "From: …" then "Sent: …" (or "Date:") within the next lines, often after a rule;
# French Outlook puts a (no-break) space before the colon: "De : …", "Envoyé : …".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De)\*?[ \u00a0]?:\s.+$")
_OUTLOOK_SENT = re.compile(r"^\s*\*?(Sent|Gesendet|Envoyé|Date)\*?[ \u00a0]?:\s")
_SIGNATURE = re.compile(
    r"^\s*(-- ?|Sent from my .{1,40}|Sent from Outlook for .{1,40}|Get Outlook for .{1,40}|"
    r"Von meinem .{1,40} gesendet|Envoyé de mon .{1,40})\s*$",
    re.I,
)


def _quote_start(lines: list[str], index: int) -> int:
    """How many lines the introduction of a quoted history at ``index`` takes (0: none)."""
    line = lines[index]
    after = lines[index + 1 : index + 4]
    if _ATTRIBUTION.match(line) or _SEPARATOR.match(line):
        return 1
    if _ATTRIBUTION_START.match(line) and after and _ATTRIBUTION.match(f"{line} {after[0].strip()}"):
        return 2
    if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(a) for a in after):
        return 1
    return 0


def _without_signature(lines: list[str]) -> list[str]:
    signature = next((i for i, line in enumerate(lines) if _SIGNATURE.match(line)), len(lines))
    kept = lines[:signature]
    # Trailing quoted lines (">"), rules and blank lines go too.
    while kept and (
        not kept[-1].strip() or kept[-1].lstrip().startswith(">") or set(kept[-1].strip()) <= {"_", "-"}
    ):
        kept.pop()
    return kept


def strip_quoted(text: str) -> str:
    """What the sender wrote, without the history they quote and their signature; the whole
    text if nothing would be left. Above the quote (most clients) or below it (a reply written
    under the quoted lines, Thunderbird's way): then the "> " lines are what goes."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut, span = next(((i, n) for i in range(len(lines)) if (n := _quote_start(lines, i))), (len(lines), 0))
    kept = _without_signature(lines[:cut])
    if not any(line.strip() for line in kept) and span:
        below = [line for line in lines[cut + span :] if not line.lstrip().startswith(">")]
        kept = _without_signature(below)
    return "\n".join(kept).strip() or text.strip()


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


def _thread_of(headers: Message, sender: str) -> Ticket | None:
    references = [_header_text(headers, "In-Reply-To"), _header_text(headers, "References")]
    pk = mailids.ticket_pk_from(references)
    if pk is not None:
        return Ticket.objects.select_related("requester").filter(pk=pk).exclude(number=None).first()
    found = _SUBJECT_NUMBER.search(_header_text(headers, "Subject"))
    if found is None:
        return None
    ticket = Ticket.objects.select_related("requester").filter(number=found.group(1)).first()
    # A number in a subject is easy to guess: only the requester or a copied person may use it.
    if ticket is not None and _may_answer(ticket, sender):
        return ticket
    return None


def _may_answer(ticket: Ticket, sender: str) -> bool:
    return (
        ticket.requester.email.lower() == sender.lower()
        or ticket.contacts.filter(email__iexact=sender).exists()
    )


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


# -- one sender's limits ----------------------------------------------------------------------------
# Counted from the stored messages, so that pipe processes, IMAP polls and workers share one
# count with no cache: a message counts once it is processed.

# What a person's mail became (a machine's, auto-replies, bounces and loops, never counts
# against its sender; a message still waiting for processing does not count yet).
_COUNTED = (
    Status.TICKET,
    Status.REPLY,
    Status.FOLLOW_UP,
    Status.NOTE,
    Status.RATE_LIMITED,
    Status.QUARANTINED,
)


def _one_sender_at_a_time(sender: str) -> None:
    """Messages from one sender are decided one after the other, across processes, so each
    counts every one decided before it; the lock ends with the transaction. SQLite needs none:
    its writers take turns (transactions begin IMMEDIATE, helpdesk.settings)."""
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"inbound-sender:{sender.lower()}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _from(sender: str) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.alias(address=Lower("sender")).filter(address=Lower(Value(sender)))


def _past_the_limit(stored: InboundMessage, sender: str) -> str:
    """Why the message is held unprocessed (THROTTLE_MAIL_PER_SENDER), or ""."""
    limit, window = settings.THROTTLE_MAIL_PER_SENDER
    since = timezone.now() - timedelta(seconds=window)
    earlier = _from(sender).filter(status__in=_COUNTED, received_at__gte=since).exclude(pk=stored.pk)
    if earlier.count() < limit:
        return ""
    return f"More than {limit} messages from {sender} in {window // 60} minutes."


def _past_a_cap(sender: str) -> str:
    """Why a new ticket from this sender is to mail nobody (THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER,
    THROTTLE_MAIL_ACKS_PER_SENDER), or "". The acknowledgements counted are the tickets the
    sender's mail opened in the window and did not hold back (one by list mail, which got no
    acknowledgement, counts too: the cap errs on the quiet side)."""
    open_cap = settings.THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER
    opened = Ticket.objects.filter(requester__email__iexact=sender, state__in=ACTIVE_STATES).count()
    if opened >= open_cap:
        return f"The cap on open tickets from {sender} ({open_cap}) is reached."
    ack_cap, window = settings.THROTTLE_MAIL_ACKS_PER_SENDER
    acknowledged = _from(sender).filter(
        status__in=(Status.TICKET, Status.FOLLOW_UP),
        mail_suppressed="",
        processed_at__gte=timezone.now() - timedelta(seconds=window),
    )
    if acknowledged.count() >= ack_cap:
        return f"The cap on acknowledgements to {sender} ({ack_cap} in {window // 60} minutes) is reached."
    return ""


def _log_capped(stored: InboundMessage, sender: str, opened: Ticket) -> None:
    logger.warning(
        "Inbound message %s from %s opened ticket #%s and mailed nobody: %s",
        stored.pk,
        sender,
        opened.number,
        stored.mail_suppressed,
    )


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
        logger.warning("Inbound message %s from %s held, not processed: %s", stored.pk, parsed.sender, held)
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
        _, landed = services.ticket_create_for_contact(
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
        raise services.TicketActionError("Only a quarantined or held message is processed again.")
    return process(stored, rate_limit=False)
