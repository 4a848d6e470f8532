"""Reading the IMAP mailboxes configured in the admin (a periodic job, like the timers).

Each poll takes the mailbox's lease (so two polls of it never overlap), fetches the messages
not yet marked as stored, stores each one (``tickets.store.ingest``, committed), and only
processes it, and only then marks it on the server as stored (read and flagged
``$HelpdeskStored``) or deletes it, as the mailbox says. A poll killed half-way leaves the rest
unmarked: the next poll fetches them again, the Message-ID makes each one stored once, and a
stored message that was never processed is processed then.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import secrets
import ssl
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tickets.mailin import store
from tickets.models import Mailbox

logger = logging.getLogger(__name__)

STORED = "$HelpdeskStored"
# Messages one poll takes on; the rest wait for the next one.
BATCH = 200


@dataclass
class PollReport:
    mailbox: str
    fetched: int = 0
    stored: int = 0
    skipped: bool = False
    error: str = ""


class MailboxError(Exception):
    """The mailbox cannot be read; the message says why (shown in the admin)."""


def _lease() -> timedelta:
    return timedelta(seconds=settings.MAILBOX_LOCK_SECONDS)


def acquire(mailbox: Mailbox) -> str | None:
    """Take the mailbox's lease; None if another poll holds it (and it has not expired)."""
    token, now = secrets.token_hex(16), timezone.now()
    taken = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + _lease(), lock_token=token)
    )
    return token if taken else None


def _renew(mailbox: Mailbox, token: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, lock_token=token).update(locked_until=timezone.now() + _lease())


def release(mailbox: Mailbox, token: str) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, lock_token=token).update(locked_until=None, lock_token="")


def _context() -> ssl.SSLContext:
    """Certificates are always checked; IMAP_CA_FILE adds a private CA to the trusted ones."""
    context = ssl.create_default_context()
    if settings.IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.IMAP_CA_FILE)
    return context


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    password = os.environ.get(mailbox.password_env, "") if mailbox.password_env else ""
    if not password:
        raise MailboxError(
            f"The environment variable {mailbox.password_env!r} holding the password is not set."
        )
    timeout = settings.IMAP_TIMEOUT_SECONDS
    if mailbox.security == Mailbox.Security.IMAPS:
        connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=_context(), timeout=timeout
        )
    else:
        connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
        connection.starttls(ssl_context=_context())
    connection.login(mailbox.username, password)
    status, _ = connection.select(_quoted(mailbox.folder))
    if status != "OK":
        raise MailboxError(f"The folder {mailbox.folder!r} cannot be opened.")
    return connection


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unstored(connection: imaplib.IMAP4) -> list[bytes]:
    status, data = connection.uid("SEARCH", None, "UNDELETED", "UNKEYWORD", STORED)
    if status != "OK":
        raise MailboxError(f"The server refused the search: {data!r}")
    return (data[0] or b"").split()[:BATCH]


def _fetch(connection: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = connection.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"The server refused to send message {uid!r}: {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    return None  # gone in the meantime (another client deleted it)


def _mark(connection: imaplib.IMAP4, uid: bytes, mailbox: Mailbox) -> None:
    """Only for a message that is stored: flag it, or delete it (expunged at the end)."""
    flags = r"(\Deleted)" if mailbox.after_store == Mailbox.AfterStore.DELETE else rf"(\Seen {STORED})"
    status, data = connection.uid("STORE", uid, "+FLAGS", flags)
    if status != "OK":
        raise MailboxError(f"The server refused to mark message {uid!r}: {data!r}")


def poll(mailbox: Mailbox) -> PollReport:
    """Fetch, store and mark what is new in one mailbox."""
    report = PollReport(mailbox=mailbox.name)
    token = acquire(mailbox)
    if token is None:
        report.skipped = True
        return report
    connection: imaplib.IMAP4 | None = None
    try:
        connection = connect(mailbox)
        for uid in _unstored(connection):
            raw = _fetch(connection, uid)
            if raw is None:
                continue
            report.fetched += 1
            stored, created = store.store(raw, source=f"imap:{mailbox.name}"[:100], mailbox=mailbox)
            report.stored += created
            # Processed before it is marked: a poll that dies in between leaves it unmarked, and
            # the next one finds the stored copy waiting and processes it then.
            store.process_pending(stored)
            _mark(connection, uid, mailbox)
            _renew(mailbox, token)
        if mailbox.after_store == Mailbox.AfterStore.DELETE:
            connection.expunge()
    except (MailboxError, imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("Mailbox %s: %s", mailbox.name, report.error)
    finally:
        if connection is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                connection.logout()
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=report.error)
        release(mailbox, token)
    return report


def poll_all() -> list[PollReport]:
    return [poll(mailbox) for mailbox in Mailbox.objects.filter(is_active=True)]
