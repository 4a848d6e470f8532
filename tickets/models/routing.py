"""Intake routing rules and their conditions, and the lifecycle timers (edited in the admin)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets.models.config import Department, HelpTopic, Priority, SLAPlan, Team


class RoutingRule(models.Model):
    """An intake rule, like osTicket's ticket filters: when its conditions match a new ticket,
    its actions set the ticket's properties. Rules run in order at intake; each one that
    applies is named in the intake's log row; "stop on match" ends the run."""

    class Match(models.TextChoices):
        ALL = "all", _("All conditions")
        ANY = "any", _("Any condition")

    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    position = models.PositiveIntegerField(
        default=0, help_text=_("Rules run from the lowest position up."), verbose_name=_("position")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL, verbose_name=_("match"))
    stop_on_match = models.BooleanField(
        default=False, help_text=_("Run no later rule when this one applies."),
        verbose_name=_("stop on match"),
    )
    set_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("set department"),
    )
    set_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("set team")
    )
    set_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("set agent"),
    )
    set_priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("set priority"),
    )
    set_sla = models.ForeignKey(
        SLAPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("set SLA plan"),
    )
    set_help_topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("set help topic"),
    )
    reject_as_spam = models.BooleanField(
        default=False, help_text=_("Close the ticket at once as spam, with no mail to anyone."),
        verbose_name=_("reject as spam"),
    )
    suppress_auto_response = models.BooleanField(
        default=False, help_text=_("Send the requester no “we received your request” mail."),
        verbose_name=_("suppress auto response"),
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RoutingCondition(models.Model):
    class Field(models.TextChoices):
        EMAIL = "email", _("Requester e-mail")
        SUBJECT = "subject", _("Subject")
        BODY = "body", _("Body")
        HELP_TOPIC = "help_topic", _("Help topic")
        SOURCE = "source", _("Source")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals")
        CONTAINS = "contains", _("contains")
        REGEX = "regex", _("matches the regular expression")
        DOMAIN = "domain", _("is at the domain (or a subdomain)")

    rule = models.ForeignKey(
        RoutingRule, on_delete=models.CASCADE, related_name="conditions", verbose_name=_("rule")
    )
    field = models.CharField(max_length=10, choices=Field.choices, verbose_name=_("field"))
    operator = models.CharField(max_length=8, choices=Operator.choices, verbose_name=_("operator"))
    value = models.CharField(
        max_length=255,
        help_text=_(
            "Compared without regard to case; a source is web, email, phone or api; "
            "a help topic is its full name, e.g. “Report a Problem / Access Issue”."
        ),
        verbose_name=_("value"),
    )

    class Meta:
        verbose_name = _("routing condition")
        verbose_name_plural = _("routing conditions")

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value!r}"

    def clean(self) -> None:
        """Refuse a condition that could never work (the admin sees the message); the rules are
        evaluated at intake by ``tickets.routing``."""
        if not self.value.strip():
            raise ValidationError({"value": gettext("Give a value to compare with.")})
        if self.operator == self.Operator.DOMAIN and self.field != self.Field.EMAIL:
            message = gettext("“is at the domain” applies to the requester e-mail only.")
            raise ValidationError({"value": message})
        if self.operator == self.Operator.REGEX:
            try:
                re.compile(self.value)
            except re.error as exc:
                # Translators: error is Python's own message about the regular expression.
                message = gettext("This is not a valid regular expression: %(error)s.") % {"error": exc}
                raise ValidationError({"value": message}) from None


class LifecycleTimers(models.Model):
    """The timers on waiting states, one row for the whole help desk (edited in the admin)."""

    class Expiry(models.TextChoices):
        RESOLVE = "resolve", _("Resolve it (the requester can still reopen it)")
        CLOSE = "close", _("Resolve and close it")

    remind_after_days = models.PositiveSmallIntegerField(
        _("remind the requester after (days)"),
        null=True,
        blank=True,
        default=3,
        help_text=_("Days a ticket waits for the requester before they are reminded; blank: never."),
    )
    expire_after_days = models.PositiveSmallIntegerField(
        _("then give up after (days)"),
        null=True,
        blank=True,
        default=4,
        help_text=_("Days after the reminder with no answer before the ticket is given up; blank: never."),
    )
    expire_action = models.CharField(
        _("on giving up"), max_length=8, choices=Expiry.choices, default=Expiry.RESOLVE
    )
    close_resolved_after_days = models.PositiveSmallIntegerField(
        _("close resolved tickets after (days)"),
        null=True,
        blank=True,
        default=7,
        help_text=_("Days a resolved ticket stays open to a reopen before it closes; blank: never."),
    )

    class Meta:
        verbose_name = _("lifecycle timers")
        verbose_name_plural = _("lifecycle timers")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_timer_configuration")]

    def __str__(self) -> str:
        return gettext("Lifecycle timers")

    @classmethod
    def load(cls) -> LifecycleTimers:
        timers, _ = cls.objects.get_or_create(pk=1)
        return timers
