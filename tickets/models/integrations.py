"""What other systems use to reach the help desk, and the help desk them: API keys, the
stored answers to idempotent requests, outgoing webhooks and their delivery log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models.config import Department
from tickets.models.ticket import Ticket


class ApiKey(models.Model):
    """A key an integration sends as ``Authorization: Bearer <key>``.

    The key itself is shown once, when it is made (``tickets.apikeys.apikey_create``); only its
    SHA-256 is stored, with its first characters (``prefix``) to tell keys apart in lists.
    """

    class Scope(models.TextChoices):
        CREATE = "create", _("Create tickets only (and add the requester's messages); reads nothing")
        ACT = "act", _("Act as its user: read and write exactly what that user may")
        READ = "read", _("Read only, what its user may see")

    name = models.CharField(max_length=100, help_text=_("What uses the key, e.g. “Monitoring (Zabbix)”."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text=_(
            "Who answers for the key. “Act” and “read” keys act as this user, with their "
            "permissions and what they may see."
        ),
    )
    scope = models.CharField(max_length=6, choices=Scope.choices, default=Scope.CREATE)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_(
            "Optional: the key sees and acts only on this department's tickets, and tickets "
            "it creates start there unless a routing rule or help topic sends them elsewhere."
        ),
    )
    prefix = models.CharField(max_length=12, editable=False, db_index=True)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty: never expires."))
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"),
        default=120,
        help_text=_("Beyond this the key is answered 429 with Retry-After."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API key")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed for the same key
    and body within ``IDEMPOTENCY_KEY_HOURS``: a retried creation opens one ticket."""

    principal = models.CharField(max_length=64, help_text=_("Whose key it is: “key:12” or “user:7”."))
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of the method, path and body."))
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class Webhook(models.Model):
    """An outgoing webhook: the events it hears of are POSTed as signed JSON to its URL."""

    class Event(models.TextChoices):
        CREATED = "ticket.created", _("Ticket created")
        TRANSITION = "ticket.transition", _("Each lifecycle transition")
        PUBLIC_REPLY = "ticket.public_reply", _("Public reply by an agent")
        REQUESTER_MESSAGE = "ticket.requester_message", _("Message from the requester")
        OVERDUE = "ticket.overdue", _("Ticket overdue")

    name = models.CharField(max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(default=list, help_text=_("The events sent; see Webhook.Event."))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Optional: only this department's tickets."),
    )
    secret = models.CharField(
        max_length=128,
        help_text=_("Signs each delivery (X-Signature, HMAC-SHA256); share it with the receiver."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text=_("Told by e-mail when the hook is switched off after repeated failures."),
    )
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_(
            "Deliver to loopback and private network addresses. Off, such URLs are refused, "
            "so that a hook cannot be pointed at the help desk's own network (SSRF)."
        ),
    )
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=255, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with how each try went."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        RETRYING = "retrying", _("Failed, will retry")
        FAILED = "failed", _("Failed, gave up")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    payload = models.JSONField()
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["webhook", "status"], name="delivery_hook_status")]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook} ({self.get_status_display()})"
