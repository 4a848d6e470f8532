"""Reading a stored message: its headers, decoded, and its text, files and forwarded parts."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
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

from tickets import uploads
from tickets.mailout import notifications

MAX_PARTS = 500
# The longest address the requester and contact columns hold (RFC 5321's limit too).
MAX_ADDRESS = 254


class Unprocessable(Exception):
    """The message cannot become a ticket or a reply; the message says why (quarantine)."""


def _own_addresses() -> set[str]:
    """The help desk's addresses: the one requesters answer to, and the sender's."""
    return {
        parseaddr(notifications.reply_address())[1].lower(),
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(),
    }



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
            raise ValidationError("")  # caught just below: the reason stored is Unprocessable's
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
