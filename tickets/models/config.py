"""Configuration the admin edits: priorities, business hours, SLA plans, departments, teams,
agents' profiles, help topics, canned responses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Priority(models.Model):
    name = models.CharField(max_length=60, unique=True, verbose_name=_("name"))
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text=_("Higher is more urgent."), verbose_name=_("rank")
    )
    colour = models.CharField(
        max_length=7, default="#6c757d", help_text=_("Hex colour, e.g. #dc3545."), verbose_name=_("colour")
    )
    is_default = models.BooleanField(default=False, verbose_name=_("is default"))

    class Meta:
        verbose_name = _("priority")
        ordering = ["rank"]
        verbose_name_plural = _("priorities")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_priority"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """A weekly working calendar with a time zone and holidays, for SLA plans."""

    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    time_zone = models.CharField(max_length=64, default="UTC", verbose_name=_("time zone"))

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self) -> str:
        return self.name


class BusinessHoursWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    schedule = models.ForeignKey(
        BusinessHours, on_delete=models.CASCADE, related_name="windows", verbose_name=_("schedule")
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, verbose_name=_("weekday"))
    opens = models.TimeField(verbose_name=_("opens"))
    closes = models.TimeField(verbose_name=_("closes"))

    class Meta:
        verbose_name = _("business hours window")
        verbose_name_plural = _("business hours windows")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="window_opens_before_closes"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    schedule = models.ForeignKey(
        BusinessHours, on_delete=models.CASCADE, related_name="holidays", verbose_name=_("schedule")
    )
    date = models.DateField(verbose_name=_("date"))
    name = models.CharField(max_length=80, verbose_name=_("name"))

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="one_holiday_per_day")]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class SLAPlan(models.Model):
    class Schedule(models.TextChoices):
        ALWAYS = "24/7", _("24/7")
        BUSINESS_HOURS = "business", _("Business hours")

    class OnOverdue(models.TextChoices):
        ALERT = "alert", _("Alert the assignee, team lead and department manager")
        ESCALATE = "escalate", _("Alert them and escalate the ticket")

    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    grace_hours = models.PositiveSmallIntegerField(
        help_text=_("Hours to resolve the ticket."), verbose_name=_("grace hours")
    )
    first_response_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Hours to the first public reply; blank for none."),
        verbose_name=_("first response hours"),
    )
    schedule = models.CharField(
        max_length=10, choices=Schedule.choices, default=Schedule.ALWAYS, verbose_name=_("schedule")
    )
    business_hours = models.ForeignKey(
        BusinessHours, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("business hours")
    )
    on_overdue = models.CharField(
        _("when a ticket is overdue"), max_length=10, choices=OnOverdue.choices, default=OnOverdue.ALERT
    )
    escalate_to_team = models.ForeignKey(
        "Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where an overdue ticket is escalated to (a team or a department of a higher tier)."),
        verbose_name=_("escalate to team"),
    )
    escalate_to_department = models.ForeignKey(
        "Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("escalate to department"),
    )
    is_default = models.BooleanField(default=False, verbose_name=_("is default"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name_plural = _("sla plans")
        ordering = ["name"]
        verbose_name = _("SLA plan")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_sla"
            ),
            models.CheckConstraint(
                condition=Q(schedule="24/7") | Q(business_hours__isnull=False),
                name="business_schedule_has_hours",
            ),
            models.CheckConstraint(condition=Q(grace_hours__gt=0), name="sla_grace_positive"),
            models.CheckConstraint(
                condition=~Q(on_overdue="escalate")
                | Q(escalate_to_team__isnull=False)
                | Q(escalate_to_department__isnull=False),
                name="sla_escalation_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.schedule == self.Schedule.BUSINESS_HOURS and self.business_hours_id is None:
            raise ValidationError({"business_hours": gettext("A business-hours plan needs a calendar.")})
        if self.on_overdue == self.OnOverdue.ESCALATE and not (
            self.escalate_to_team_id or self.escalate_to_department_id
        ):
            raise ValidationError(
                {"escalate_to_team": gettext("Name the team or department overdue tickets are escalated to.")}
            )


class SLATarget(models.Model):
    """A plan's hours for one priority, instead of the plan's own (Emergency sooner than Low)."""

    plan = models.ForeignKey(
        SLAPlan, on_delete=models.CASCADE, related_name="targets", verbose_name=_("plan")
    )
    priority = models.ForeignKey(
        "Priority", on_delete=models.CASCADE, related_name="+", verbose_name=_("priority")
    )
    grace_hours = models.PositiveSmallIntegerField(
        help_text=_("Hours to resolve a ticket of this priority."), verbose_name=_("grace hours")
    )
    first_response_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Hours to the first public reply; blank for none."),
        verbose_name=_("first response hours"),
    )

    class Meta:
        verbose_name = _("target per priority")
        verbose_name_plural = _("targets per priority")
        constraints = [
            models.UniqueConstraint(fields=["plan", "priority"], name="one_target_per_priority"),
            models.CheckConstraint(condition=Q(grace_hours__gt=0), name="sla_target_grace_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.priority}"


class Department(models.Model):
    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("parent"),
    )
    sla = models.ForeignKey(
        SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("default SLA")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("manager"),
    )
    tier = models.PositiveSmallIntegerField(
        default=1, help_text=_("Support tier; escalation moves up."), verbose_name=_("tier")
    )
    is_public = models.BooleanField(default=True, verbose_name=_("is public"))
    is_default = models.BooleanField(
        default=False, help_text=_("Where tickets land when nothing routes them."),
        verbose_name=_("is default"),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_department"
            ),
            models.CheckConstraint(condition=Q(tier__gte=1), name="department_tier_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(max_length=80, unique=True, verbose_name=_("name"))
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("lead"),
    )
    tier = models.PositiveSmallIntegerField(
        default=1, help_text=_("Support tier; escalation moves up."), verbose_name=_("tier")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(tier__gte=1), name="team_tier_positive")]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What makes a staff user an agent: the departments and teams whose tickets they see.

    What an agent may *do* is their role: the Django groups of ``tickets.roles``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent", verbose_name=_("user")
    )
    departments = models.ManyToManyField(
        Department, blank=True, related_name="agents", verbose_name=_("departments")
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="members", verbose_name=_("teams"))
    # The alerts this agent gets by e-mail; each can be turned off (console: My alerts).
    alert_new_ticket = models.BooleanField(_("a new ticket in my departments"), default=True)
    alert_assigned = models.BooleanField(_("a ticket assigned to me or my team"), default=True)
    alert_escalated = models.BooleanField(_("a ticket escalated to my team or department"), default=True)
    alert_overdue = models.BooleanField(_("a ticket I answer for is overdue"), default=True)
    alert_requester_reply = models.BooleanField(_("the requester wrote on a ticket of mine"), default=True)
    # The console's language and the zone its times are shown in, and the alerts' too; blank
    # is the help desk's own (settings.LANGUAGE_CODE, settings.TIME_ZONE).
    language = models.CharField(max_length=10, blank=True, verbose_name=_("language"))
    time_zone = models.CharField(max_length=64, blank=True, verbose_name=_("time zone"))

    ALERTS = (
        "alert_new_ticket",
        "alert_assigned",
        "alert_escalated",
        "alert_overdue",
        "alert_requester_reply",
    )

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return display_name(self.user)


def display_name(user: Any) -> str:
    """How a person is named everywhere (threads, logs, payloads): their full name, else their
    user name; "System" for no one (an action of the help desk itself)."""
    return (user.get_full_name() or user.get_username()) if user is not None else "System"


class HelpTopic(models.Model):
    name = models.CharField(max_length=80, verbose_name=_("name"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("parent"),
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("department")
    )
    priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("priority")
    )
    sla = models.ForeignKey(
        SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("SLA plan")
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("team"))
    is_public = models.BooleanField(default=True, verbose_name=_("is public"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("help topic")
        verbose_name_plural = _("help topics")
        ordering = ["parent__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="unique_topic_per_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="unique_top_level_topic"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        """ "Report a Problem / Business Critical Outage"; select_related("parent") avoids a query."""
        return f"{self.parent.full_name} / {self.name}" if self.parent_id else self.name



class CannedResponse(models.Model):
    """A prepared reply an agent can start from, for one department or for all of them.

    Placeholders are replaced when it is inserted: {requester_name}, {ticket_number},
    {subject}, {agent_name}.
    """

    title = models.CharField(max_length=120, verbose_name=_("title"))
    body = models.TextField(verbose_name=_("body"))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Leave empty to offer it in every department."),
        verbose_name=_("department"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
