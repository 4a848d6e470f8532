"""Intake routing rules and their conditions, and the lifecycle timers (edited in the admin)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from tickets.models.config import Department, HelpTopic, Priority, SLAPlan, Team


class RoutingRule(models.Model):
    """An intake rule, like osTicket's ticket filters: when its conditions match a new ticket,
    its actions set the ticket's properties. Rules run in order at intake; each one that
    applies is named in the intake's log row; "stop on match" ends the run."""

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0, help_text="Rules run from the lowest position up.")
    is_active = models.BooleanField(default=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    stop_on_match = models.BooleanField(default=False, help_text="Run no later rule when this one applies.")
    set_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    set_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_sla = models.ForeignKey(
        SLAPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="set SLA plan",
    )
    set_help_topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reject_as_spam = models.BooleanField(
        default=False, help_text="Close the ticket at once as spam, with no mail to anyone."
    )
    suppress_auto_response = models.BooleanField(
        default=False, help_text="Send the requester no “we received your request” mail."
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RoutingCondition(models.Model):
    class Field(models.TextChoices):
        EMAIL = "email", "Requester e-mail"
        SUBJECT = "subject", "Subject"
        BODY = "body", "Body"
        HELP_TOPIC = "help_topic", "Help topic"
        SOURCE = "source", "Source"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        CONTAINS = "contains", "contains"
        REGEX = "regex", "matches the regular expression"
        DOMAIN = "domain", "is at the domain (or a subdomain)"

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(max_length=10, choices=Field.choices)
    operator = models.CharField(max_length=8, choices=Operator.choices)
    value = models.CharField(
        max_length=255,
        help_text="Compared without regard to case; a source is web, email, phone or api; "
        "a help topic is its full name, e.g. “Report a Problem / Access Issue”.",
    )

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value!r}"

    def clean(self) -> None:
        """Refuse a condition that could never work (the admin sees the message); the rules are
        evaluated at intake by ``tickets.routing``."""
        if not self.value.strip():
            raise ValidationError({"value": "Give a value to compare with."})
        if self.operator == self.Operator.DOMAIN and self.field != self.Field.EMAIL:
            raise ValidationError({"value": "“is at the domain” applies to the requester e-mail only."})
        if self.operator == self.Operator.REGEX:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValidationError({"value": f"This is not a valid regular expression: {exc}."}) from None


class LifecycleTimers(models.Model):
    """The timers on waiting states, one row for the whole help desk (edited in the admin)."""

    class Expiry(models.TextChoices):
        RESOLVE = "resolve", "Resolve it (the requester can still reopen it)"
        CLOSE = "close", "Resolve and close it"

    remind_after_days = models.PositiveSmallIntegerField(
        "remind the requester after (days)",
        null=True,
        blank=True,
        default=3,
        help_text="Days a ticket waits for the requester before they are reminded; blank: never.",
    )
    expire_after_days = models.PositiveSmallIntegerField(
        "then give up after (days)",
        null=True,
        blank=True,
        default=4,
        help_text="Days after the reminder with no answer before the ticket is given up; blank: never.",
    )
    expire_action = models.CharField(
        "on giving up", max_length=8, choices=Expiry.choices, default=Expiry.RESOLVE
    )
    close_resolved_after_days = models.PositiveSmallIntegerField(
        "close resolved tickets after (days)",
        null=True,
        blank=True,
        default=7,
        help_text="Days a resolved ticket stays open to a reopen before it closes; blank: never.",
    )

    class Meta:
        verbose_name = "lifecycle timers"
        verbose_name_plural = "lifecycle timers"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_timer_configuration")]

    def __str__(self) -> str:
        return "Lifecycle timers"

    @classmethod
    def load(cls) -> LifecycleTimers:
        timers, _ = cls.objects.get_or_create(pk=1)
        return timers
