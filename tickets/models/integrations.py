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

    name = models.CharField(
        max_length=100, help_text=_("What uses the key, e.g. “Monitoring (Zabbix)”."), verbose_name=_("name")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text=_(
            "Who answers for the key. “Act” and “read” keys act as this user, with their "
            "permissions and what they may see."
        ),
        verbose_name=_("owner"),
    )
    scope = models.CharField(
        max_length=6, choices=Scope.choices, default=Scope.CREATE, verbose_name=_("scope")
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_(
            "Optional: the key sees and acts only on this department's tickets, and tickets "
            "it creates start there unless a routing rule or help topic sends them elsewhere."
        ),
        verbose_name=_("department"),
    )
    prefix = models.CharField(max_length=12, editable=False, db_index=True, verbose_name=_("prefix"))
    hashed_key = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("hashed key"))
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: never expires."), verbose_name=_("expires at")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last used at"))
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"),
        default=120,
        help_text=_("Beyond this the key is answered 429 with Retry-After."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("api keys")
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

    principal = models.CharField(
        max_length=64, help_text=_("Whose key it is: “key:12” or “user:7”."), verbose_name=_("principal")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(
        max_length=64, help_text=_("SHA-256 of the method, path and body."), verbose_name=_("fingerprint")
    )
    status_code = models.PositiveSmallIntegerField(null=True, verbose_name=_("status code"))
    response_body = models.JSONField(null=True, verbose_name=_("response body"))
    response_headers = models.JSONField(default=dict, verbose_name=_("response headers"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
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

    name = models.CharField(max_length=100, verbose_name=_("name"))
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(
        default=list, help_text=_("The events sent; see Webhook.Event."), verbose_name=_("events")
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Optional: only this department's tickets."),
        verbose_name=_("department"),
    )
    secret = models.CharField(
        max_length=128,
        help_text=_("Signs each delivery (X-Signature, HMAC-SHA256); share it with the receiver."),
        verbose_name=_("secret"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text=_("Told by e-mail when the hook is switched off after repeated failures."),
        verbose_name=_("owner"),
    )
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_(
            "Deliver to loopback and private network addresses. Off, such URLs are refused, "
            "so that a hook cannot be pointed at the help desk's own network (SSRF)."
        ),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    consecutive_failures = models.PositiveIntegerField(
        default=0, editable=False, verbose_name=_("consecutive failures")
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("disabled at"))
    disabled_reason = models.CharField(
        max_length=255, blank=True, editable=False, verbose_name=_("disabled reason")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
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

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    event = models.CharField(max_length=40, verbose_name=_("event"))
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("ticket")
    )
    payload = models.JSONField(verbose_name=_("payload"))
    status = models.CharField(
        max_length=9, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    response_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("response code"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("duration ms"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta:
        verbose_name = _("webhook delivery")
        ordering = ["-pk"]
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["webhook", "status"], name="delivery_hook_status")]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook} ({self.get_status_display()})"
