"""A ticket's thread: its entries and attachments, the append-only transition log, and the
people copied on its mail."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from tickets import markup
from tickets.models.states import State
from tickets.models.ticket import Ticket


class ThreadEntry(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message from the requester")
        REPLY = "reply", _("Reply to the requester")
        NOTE = "note", _("Internal note")
        EVENT = "event", _("Event")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="thread", verbose_name=_("ticket")
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("author"),
    )
    author_name = models.CharField(
        max_length=150, help_text=_("Who wrote it, as shown then."), verbose_name=_("author name")
    )
    body = models.TextField(verbose_name=_("body"))
    # The body rendered once, when saved: a page or a mail never parses Markdown. Rows put in
    # by SQL (the bench's seed) get the database default, and show their body as plain text.
    body_html = models.TextField(
        _("body as HTML"),
        blank=True,
        editable=False,
        db_default="",
        help_text=_("Sanitized; derived from the body."),
    )
    is_public = models.BooleanField(help_text=_("Shown to the requester."), verbose_name=_("is public"))
    # An agent wrote the requester's words down for them (the call notes of a phone ticket): the
    # author is the agent, the words are the requester's, and both views say so.
    on_behalf_of_requester = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("Written by the agent (the author) for the requester, e.g. from a phone call."),
        verbose_name=_("on behalf of requester"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("thread entry")
        ordering = ["created_at", "id"]
        verbose_name_plural = _("thread entries")
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="thread_in_order")]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="note") | Q(is_public=False), name="notes_are_internal"),
            models.CheckConstraint(
                condition=~Q(kind__in=["message", "reply"]) | Q(is_public=True),
                name="messages_are_public",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id} by {self.author_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A column derived from this row's own body, kept beside it (no other row is written):
        # every way of creating an entry (services, factories, the demo loader) gets it.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.body_html = markup.render_markdown(self.body)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    @property
    def html(self) -> SafeString:
        """What pages and mail show: the stored HTML, or the body as plain text without it."""
        if self.body_html:
            return mark_safe(self.body_html)  # noqa: S308 - nh3 output, stored by save()
        return markup.plain_text(self.body)


def _attachment_path(instance: Attachment, filename: str) -> str:
    # Stored under a generated name: the requester's file name is only ever shown, never used.
    return f"attachments/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()[:10]}"


class Attachment(models.Model):
    entry = models.ForeignKey(
        ThreadEntry, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("entry")
    )
    file = models.FileField(upload_to=_attachment_path, verbose_name=_("file"))
    filename = models.CharField(
        max_length=255, help_text=_("The name the file was sent with."), verbose_name=_("filename")
    )
    content_type = models.CharField(max_length=120, verbose_name=_("content type"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TicketTransition(models.Model):
    """One row per lifecycle move, never changed: the ticket's audit trail and its clocks."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("ticket")
    )
    name = models.CharField(max_length=32, verbose_name=_("name"))
    source = models.CharField(max_length=16, choices=State.choices, blank=True, verbose_name=_("source"))
    target = models.CharField(max_length=16, choices=State.choices, verbose_name=_("target"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(
        max_length=150,
        help_text=_('The person, or "system: <rule or timer>".'),
        verbose_name=_("actor label"),
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    # Set by the services to the moment the SLA clock was computed for, so the two agree.
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ticket transition")
        verbose_name_plural = _("ticket transitions")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="transition_in_order")]

    def __str__(self) -> str:
        return f"{self.name}: {self.source or '-'} → {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Ticket transitions are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Ticket transitions are append-only.")



class TicketContact(models.Model):
    """Someone copied on a ticket's mail (Cc): they may answer it by e-mail as the requester can."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("ticket")
    )
    email = models.EmailField(max_length=254, verbose_name=_("email"))
    name = models.CharField(max_length=120, blank=True, verbose_name=_("name"))

    class Meta:
        verbose_name = _("ticket contact")
        verbose_name_plural = _("ticket contacts")
        constraints = [models.UniqueConstraint("ticket", Lower("email"), name="one_contact_per_address")]

    def __str__(self) -> str:
        return self.email


class RelatedLink(models.Model):
    """Two tickets an agent said are related (the same cause, the same customer's two
    problems): shown on both, neither changed by it. Stored once per pair, the lower id first."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket"))
    other = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("other"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("related link")
        verbose_name_plural = _("related links")
        indexes = [models.Index(fields=["other"], name="related_link_other")]
        constraints = [
            models.UniqueConstraint("ticket", "other", name="one_link_per_pair"),
            models.CheckConstraint(condition=Q(ticket__lt=models.F("other")), name="related_link_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} ~ {self.other_id}"
