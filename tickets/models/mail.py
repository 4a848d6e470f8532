"""Mail in: the IMAP mailboxes read, and every message received, stored whole."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets.models.config import Department, HelpTopic
from tickets.models.thread import ThreadEntry
from tickets.models.ticket import Ticket


class Mailbox(models.Model):
    """An IMAP mailbox the help desk reads (tickets.mailin.imap); its password stays out of the
    database, in the environment variable the row names."""

    class Security(models.TextChoices):
        IMAPS = "imaps", _("TLS from the start (IMAPS, port 993)")
        STARTTLS = "starttls", _("STARTTLS (port 143)")

    class AfterStore(models.TextChoices):
        FLAG = "flag", _("Mark it read and flagged, and leave it")
        DELETE = "delete", _("Delete it from the server")

    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    host = models.CharField(max_length=255, verbose_name=_("host"))
    port = models.PositiveIntegerField(default=993, verbose_name=_("port"))
    security = models.CharField(
        max_length=8, choices=Security.choices, default=Security.IMAPS, verbose_name=_("security")
    )
    username = models.CharField(max_length=255, verbose_name=_("username"))
    password_env = models.CharField(
        _("password environment variable"),
        max_length=100,
        help_text=_(
            "The name of the environment variable that holds the password, e.g. "
            "HELPDESK_MAILBOX_SUPPORT_PASSWORD; the password itself is never stored here."
        ),
    )
    folder = models.CharField(max_length=255, default="INBOX", verbose_name=_("folder"))
    after_store = models.CharField(
        _("once a message is stored"), max_length=6, choices=AfterStore.choices, default=AfterStore.FLAG
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Where its new tickets go unless a help topic or a routing rule says otherwise."),
        verbose_name=_("department"),
    )
    help_topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("help topic")
    )
    last_polled_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last polled at")
    )
    last_error = models.TextField(blank=True, editable=False, verbose_name=_("last error"))
    # A lease, so that two polls of one mailbox never overlap (tickets.mailin.imap).
    locked_until = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("locked until"))
    lock_token = models.CharField(max_length=32, blank=True, editable=False, verbose_name=_("lock token"))

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundMessage(models.Model):
    """Every message the help desk accepted, with its raw bytes, whatever became of it.

    A message is stored before it is processed, and kept: once accepted it is never lost.
    What could not be processed waits in the quarantine (admin: reprocess)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, not processed yet")
        TICKET = "ticket", _("Opened a ticket")
        REPLY = "reply", _("Added to its ticket")
        FOLLOW_UP = "follow_up", _("Opened a follow-up to its closed ticket")
        NOTE = "note", _("Added to its ticket as a note (not from the requester)")
        AUTO_REPLY = "auto_reply", _("Automatic reply: stored, not answered")
        BOUNCE = "bounce", _("Delivery report: stored, not answered")
        LOOP = "loop", _("Our own mail come back: stored, not answered")
        RATE_LIMITED = "rate_limited", _("Too many from this sender: stored, not processed")
        QUARANTINED = "quarantined", _("Could not be processed: in quarantine")

    # What became nothing on the help desk: an admin may delete these.
    DISPOSABLE = frozenset(
        {Status.AUTO_REPLY, Status.BOUNCE, Status.LOOP, Status.RATE_LIMITED, Status.QUARANTINED}
    )
    # What was never processed to the end: an admin may have it processed again.
    REPROCESSABLE = frozenset({Status.RECEIVED, Status.RATE_LIMITED, Status.QUARANTINED})

    key = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text=_("What duplicates share."),
        verbose_name=_("key"),
    )
    message_id = models.CharField(max_length=998, blank=True, verbose_name=_("message id"))
    raw = models.BinaryField(verbose_name=_("raw"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    source = models.CharField(
        max_length=100, help_text=_("“pipe”, or the mailbox it was fetched from."), verbose_name=_("source")
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("mailbox")
    )
    sender = models.CharField(max_length=320, blank=True, verbose_name=_("sender"))
    subject = models.CharField(max_length=255, blank=True, verbose_name=_("subject"))
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.RECEIVED, verbose_name=_("status")
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages",
        verbose_name=_("ticket"),
    )
    entry = models.ForeignKey(
        ThreadEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("entry"),
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    mail_suppressed = models.CharField(
        _("nobody mailed"),
        max_length=300,
        blank=True,
        help_text=_("Why neither the sender nor the agents were mailed about it (a cap on its sender)."),
    )
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_by_status"),
            models.Index(fields=["ticket", "-received_at"], name="inbound_of_ticket"),
            # What one sender sent lately: the per-sender limit and caps (tickets.mailin).
            models.Index(Lower("sender"), models.F("received_at").desc(), name="inbound_by_sender"),
        ]

    def __str__(self) -> str:
        sender = self.sender or gettext("(no sender)")
        subject = self.subject or gettext("(no subject)")
        return f"{sender}: {subject}"

    @property
    def can_reprocess(self) -> bool:
        return self.status in self.REPROCESSABLE
