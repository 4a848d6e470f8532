"""The help desk's domain: configuration, tickets and their lifecycle.

The lifecycle (docs/lifecycle.md) lives on ``Ticket``: every stage is a value of ``state``
and every move is a ``django_fsm`` transition below. Transition methods change only the
ticket's own fields; the services in ``tickets.services`` run them, save, log and notify.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_fsm import (
    GET_STATE,
    ConcurrentTransition,
    ConcurrentTransitionMixin,
    FSMField,
    transition,
)

from tickets import markup, rules


class Priority(models.Model):
    name = models.CharField(max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="Higher is more urgent.")
    colour = models.CharField(max_length=7, default="#6c757d", help_text="Hex colour, e.g. #dc3545.")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "priorities"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_priority"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """A weekly working calendar with a time zone and holidays, for SLA plans."""

    name = models.CharField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        return self.name


class BusinessHoursWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    schedule = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="window_opens_before_closes"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    schedule = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="one_holiday_per_day")]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class SLAPlan(models.Model):
    class Schedule(models.TextChoices):
        ALWAYS = "24/7", "24/7"
        BUSINESS_HOURS = "business", "Business hours"

    class OnOverdue(models.TextChoices):
        ALERT = "alert", "Alert the assignee, team lead and department manager"
        ESCALATE = "escalate", "Alert them and escalate the ticket"

    name = models.CharField(max_length=80, unique=True)
    grace_hours = models.PositiveSmallIntegerField(help_text="Hours to resolve the ticket.")
    first_response_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hours to the first public reply; blank for none."
    )
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.ALWAYS)
    business_hours = models.ForeignKey(BusinessHours, null=True, blank=True, on_delete=models.PROTECT)
    on_overdue = models.CharField(
        "when a ticket is overdue", max_length=10, choices=OnOverdue.choices, default=OnOverdue.ALERT
    )
    escalate_to_team = models.ForeignKey(
        "Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where an overdue ticket is escalated to (a team or a department of a higher tier).",
    )
    escalate_to_department = models.ForeignKey(
        "Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA plan"
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
            raise ValidationError({"business_hours": "A business-hours plan needs a calendar."})
        if self.on_overdue == self.OnOverdue.ESCALATE and not (
            self.escalate_to_team_id or self.escalate_to_department_id
        ):
            raise ValidationError(
                {"escalate_to_team": "Name the team or department overdue tickets are escalated to."}
            )


class SLATarget(models.Model):
    """A plan's hours for one priority, instead of the plan's own (Emergency sooner than Low)."""

    plan = models.ForeignKey(SLAPlan, on_delete=models.CASCADE, related_name="targets")
    priority = models.ForeignKey("Priority", on_delete=models.CASCADE, related_name="+")
    grace_hours = models.PositiveSmallIntegerField(help_text="Hours to resolve a ticket of this priority.")
    first_response_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hours to the first public reply; blank for none."
    )

    class Meta:
        verbose_name = "target per priority"
        verbose_name_plural = "targets per priority"
        constraints = [
            models.UniqueConstraint(fields=["plan", "priority"], name="one_target_per_priority"),
            models.CheckConstraint(condition=Q(grace_hours__gt=0), name="sla_target_grace_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.priority}"


class Department(models.Model):
    name = models.CharField(max_length=80, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    sla = models.ForeignKey(
        SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name="default SLA"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tier = models.PositiveSmallIntegerField(default=1, help_text="Support tier; escalation moves up.")
    is_public = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Where tickets land when nothing routes them.")

    class Meta:
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
    name = models.CharField(max_length=80, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tier = models.PositiveSmallIntegerField(default=1, help_text="Support tier; escalation moves up.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(tier__gte=1), name="team_tier_positive")]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What makes a staff user an agent: the departments and teams whose tickets they see.

    What an agent may *do* is their role: the Django groups of ``tickets.roles``.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    departments = models.ManyToManyField(Department, blank=True, related_name="agents")
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    # The alerts this agent gets by e-mail; each can be turned off (console: My alerts).
    alert_new_ticket = models.BooleanField("a new ticket in my departments", default=True)
    alert_assigned = models.BooleanField("a ticket assigned to me or my team", default=True)
    alert_escalated = models.BooleanField("a ticket escalated to my team or department", default=True)
    alert_overdue = models.BooleanField("a ticket I answer for is overdue", default=True)
    alert_requester_reply = models.BooleanField("the requester wrote on a ticket of mine", default=True)

    ALERTS = (
        "alert_new_ticket",
        "alert_assigned",
        "alert_escalated",
        "alert_overdue",
        "alert_requester_reply",
    )

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class HelpTopic(models.Model):
    name = models.CharField(max_length=80)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT)
    priority = models.ForeignKey(Priority, null=True, blank=True, on_delete=models.PROTECT)
    sla = models.ForeignKey(SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name="SLA plan")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT)
    is_public = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)

    class Meta:
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


class Requester(models.Model):
    """The person a ticket is for; a portal account is optional (guests, e-mail, phone)."""

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requester",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="unique_requester_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class State(models.TextChoices):
    """The eight stages, with what the requester is told (docs/lifecycle.md)."""

    NEW = "new", "New"
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    AWAITING_USER = "awaiting_user", "Awaiting user"
    IN_PROGRESS = "in_progress", "In progress"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


PUBLIC_STAGE_LABELS: dict[str, str] = {
    State.NEW: "Received",
    State.OPEN: "Received",
    State.ASSIGNED: "Assigned to our team",
    State.AWAITING_USER: "Waiting for your reply",
    State.IN_PROGRESS: "Being worked on",
    State.ESCALATED: "With a specialist team",
    State.RESOLVED: "Resolved: please confirm",
    State.CLOSED: "Closed",
}

ACTIVE_STATES = (
    State.OPEN,
    State.ASSIGNED,
    State.AWAITING_USER,
    State.IN_PROGRESS,
    State.ESCALATED,
)


def _back_to_work(ticket: Ticket) -> str:
    """A ticket that comes back from the requester returns to the tier it was at."""
    return State.ESCALATED if ticket.tier > 1 else State.IN_PROGRESS


class Ticket(ConcurrentTransitionMixin, models.Model):
    class Source(models.TextChoices):
        WEB = "web", "Web portal"
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"
        API = "api", "API"

    number = models.CharField(max_length=12, unique=True, null=True, blank=True, editable=False)
    subject = models.CharField(max_length=255)
    requester = models.ForeignKey(Requester, on_delete=models.PROTECT, related_name="tickets")
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.WEB)
    help_topic = models.ForeignKey(HelpTopic, null=True, blank=True, on_delete=models.PROTECT)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    priority = models.ForeignKey(Priority, null=True, blank=True, on_delete=models.PROTECT)
    sla = models.ForeignKey(SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name="SLA plan")
    tier = models.PositiveSmallIntegerField(default=1)
    state = FSMField(default=State.NEW, choices=State.choices, protected=True, db_index=False)
    version = models.PositiveIntegerField(default=0, editable=False)
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # When the overdue job found a due time missed; cleared when the target moves into the
    # future again, so each miss is acted on once (tickets.jobs).
    first_response_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The time of the last transition (the log has it too): indexed for the state timers.
    state_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    reminded_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the waiting requester was reminded."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        permissions = [
            ("assign_ticket", "Assign and transfer tickets"),
            ("claim_ticket", "Claim tickets of their departments and teams"),
            ("work_ticket", "Reply to, note, work on and reopen tickets"),
            ("escalate_ticket", "Escalate tickets to a higher tier"),
            ("close_ticket", "Close and cancel tickets"),
            ("supervise_ticket", "Act on visible tickets assigned to others"),
            ("view_all_tickets", "See the tickets of every department"),
        ]
        indexes = [
            # The queues: each filters on one of these and orders by last activity.
            models.Index(fields=["state", "-last_activity_at"], name="ticket_state_activity"),
            models.Index(fields=["department", "state", "-last_activity_at"], name="ticket_dept_queue"),
            models.Index(fields=["team", "state", "-last_activity_at"], name="ticket_team_queue"),
            models.Index(fields=["assignee", "state", "-last_activity_at"], name="ticket_assignee_queue"),
            models.Index(fields=["requester", "-last_activity_at"], name="ticket_requester_activity"),
            models.Index(
                fields=["resolution_due"],
                condition=Q(state__in=ACTIVE_STATES),
                name="ticket_active_due",
            ),
            # Measured at a million tickets (bench/README.md): "All I can see" and its pages
            # walk the activity order and stop after a page; the working queues walk only the
            # active tickets; overdue needs both due times; the SLA sort, the due order; the
            # sidebar's counts read one index and no table.
            models.Index(fields=["-last_activity_at", "-id"], name="ticket_activity"),
            models.Index(
                fields=["-last_activity_at", "-id"],
                condition=Q(state__in=ACTIVE_STATES),
                name="ticket_active_activity",
            ),
            models.Index(
                fields=["assignee", "-last_activity_at", "-id"],
                condition=Q(state__in=ACTIVE_STATES),
                name="ticket_assignee_active",
            ),
            models.Index(
                fields=["first_response_due"],
                condition=Q(state__in=ACTIVE_STATES),
                name="ticket_active_first_due",
            ),
            models.Index(fields=["resolution_due", "id"], name="ticket_due"),
            models.Index(
                fields=[
                    "state",
                    "department",
                    "team",
                    "assignee",
                    "resolution_due",
                    "first_response_due",
                    "id",
                ],
                condition=Q(state__in=[*ACTIVE_STATES, "resolved"]),
                name="ticket_working_counts",
            ),
            # The periodic job (tickets.jobs) reads only the tickets due and not yet acted on,
            # in the order it takes them: each index holds just its candidates, so a minute with
            # nothing due costs the same at any size (bench/README.md, the periodic job).
            models.Index(
                fields=["resolution_due", "id"],
                condition=Q(
                    state__in=ACTIVE_STATES, resolution_breached_at__isnull=True, resolution_due__isnull=False
                ),
                name="ticket_resolution_watch",
            ),
            models.Index(
                fields=["first_response_due", "id"],
                # Answered tickets have no first-response due: most active tickets stay out.
                condition=Q(
                    state__in=ACTIVE_STATES,
                    first_response_breached_at__isnull=True,
                    first_response_due__isnull=False,
                ),
                name="ticket_first_response_watch",
            ),
            models.Index(
                fields=["state_changed_at", "id"],
                condition=Q(state=State.AWAITING_USER, reminded_at__isnull=True),
                name="ticket_reminder_timer",
            ),
            models.Index(
                fields=["reminded_at", "id"],
                condition=Q(state=State.AWAITING_USER, reminded_at__isnull=False),
                name="ticket_expiry_timer",
            ),
            models.Index(
                fields=["state_changed_at", "id"],
                condition=Q(state=State.RESOLVED),
                name="ticket_close_timer",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(tier__gte=1), name="ticket_tier_positive"),
            models.CheckConstraint(
                condition=Q(state="new") | Q(number__isnull=False),
                name="ticket_numbered_after_intake",
            ),
            models.CheckConstraint(
                condition=~Q(state="assigned") | Q(assignee__isnull=False) | Q(team__isnull=False),
                name="assigned_ticket_has_assignee_or_team",
            ),
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved_version = self.version

    def __str__(self) -> str:
        return f"#{self.number or '-'} {self.subject}"

    # -- optimistic locking ---------------------------------------------------------------
    # ConcurrentTransitionMixin guards the state; the version guards every other field, so a
    # stale copy cannot overwrite a change that left the state as it was (two claims).

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            self.version = self._saved_version + 1
        super().save(*args, **kwargs)
        self._saved_version = self.version

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        # django-fsm's own refresh lifts the protection of the state field for the whole class
        # while it reloads, which a second thread reloading at the same time can meet half-way
        # ("Direct state modification is not allowed"). Dropping this copy's state first lets
        # the reload set it with the protection left on.
        if fields is None:
            self._prefetched_objects_cache = {}
            deferred = self.get_deferred_fields()
            fields = [f.attname for f in self._meta.concrete_fields if f.attname not in deferred]
        if "state" in fields:
            self.__dict__.pop("state", None)
        models.Model.refresh_from_db(self, using=using, fields=fields, from_queryset=from_queryset)
        self._update_initial_state()
        self._saved_version = self.version

    @property
    def loaded_version(self) -> int:
        """The version this copy was loaded (or last saved) at."""
        return self._saved_version

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs):  # type: ignore[no-untyped-def]
        unchanged = base_qs.filter(version=self._saved_version)
        updated = super()._do_update(
            unchanged, using, pk_val, values, update_fields, forced_update, *args, **kwargs
        )
        if not updated and base_qs.filter(pk=pk_val).exists():
            raise ConcurrentTransition("The ticket changed since it was loaded.")
        return updated

    @property
    def public_stage(self) -> str:
        return PUBLIC_STAGE_LABELS[self.state]

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    # -- the lifecycle (docs/lifecycle.md) ------------------------------------------------
    # Each method checks its arguments before touching a field, so a refused call leaves
    # the instance as it was.

    @transition(field=state, source=State.NEW, target=State.OPEN, permission=rules.nobody)
    def intake(
        self,
        *,
        number: str,
        help_topic: HelpTopic | None,
        department: Department,
        priority: Priority | None,
        sla: SLAPlan | None,
        team: Team | None,
    ) -> None:
        self.number = number
        self.help_topic = help_topic
        self.department = department
        self.priority = priority
        self.sla = sla
        self.team = team

    @transition(
        field=state,
        source=[State.OPEN, State.ASSIGNED, State.IN_PROGRESS],
        target=State.ASSIGNED,
        permission="tickets.assign_ticket",
    )
    @transition(
        field=state,
        source=State.ESCALATED,
        target=State.ESCALATED,
        permission="tickets.assign_ticket",
    )
    def assign(self, *, agent: Any | None, team: Team | None, department: Department | None = None) -> None:
        if agent is None and team is None:
            raise ValueError("Name an agent, a team or both.")
        if department is not None:
            self.department = department
        self.assignee = agent
        self.team = team

    @transition(
        field=state,
        source=[State.OPEN, State.ASSIGNED],
        target=State.ASSIGNED,
        permission=rules.can_claim,
    )
    @transition(field=state, source=State.ESCALATED, target=State.ESCALATED, permission=rules.can_claim)
    def claim(self, *, agent: Any) -> None:
        self.assignee = agent

    @transition(
        field=state,
        source=State.ASSIGNED,
        target=State.IN_PROGRESS,
        conditions=[rules.has_assignee],
        permission=rules.is_assignee,
    )
    def start_work(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.ASSIGNED, State.IN_PROGRESS, State.ESCALATED],
        target=State.AWAITING_USER,
        conditions=[rules.has_assignee],
        permission=rules.is_assignee_or_supervisor,
    )
    def request_info(self) -> None:
        pass

    @transition(
        field=state,
        source=State.AWAITING_USER,
        target=GET_STATE(_back_to_work, states=[State.IN_PROGRESS, State.ESCALATED]),
        permission=rules.is_requester,
    )
    def receive_reply(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED],
        target=State.ESCALATED,
        permission=rules.can_escalate,
    )
    def escalate(self, *, team: Team | None, department: Department | None) -> None:
        targets = [t for t in (team, department) if t is not None]
        if not targets:
            raise ValueError("Name a team or a department to escalate to.")
        if max(t.tier for t in targets) <= self.tier:
            names = " / ".join(str(t) for t in targets)
            raise ValueError(f"{names} is not of a higher tier than this ticket (tier {self.tier}).")
        self.tier += 1
        if team is not None:
            self.team = team
        if department is not None:
            self.department = department
        self.assignee = None

    @transition(
        field=state,
        source=[State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED],
        target=State.RESOLVED,
        permission=rules.is_assignee_or_supervisor,
    )
    def resolve(self, *, at: Any) -> None:
        self.resolved_at = at

    @transition(
        field=state,
        source=State.RESOLVED,
        target=GET_STATE(_back_to_work, states=[State.IN_PROGRESS, State.ESCALATED]),
        permission=rules.can_reopen,
    )
    def reopen(self) -> None:
        self.reopen_count += 1
        self.resolved_at = None

    @transition(field=state, source=State.RESOLVED, target=State.CLOSED, permission=rules.can_close)
    def close(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(
        field=state,
        source=[State.NEW, State.OPEN, State.ASSIGNED],
        target=State.CLOSED,
        permission="tickets.close_ticket",
    )
    def cancel(self, *, at: Any) -> None:
        self.closed_at = at


class ThreadEntry(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", "Message from the requester"
        REPLY = "reply", "Reply to the requester"
        NOTE = "note", "Internal note"
        EVENT = "event", "Event"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="thread")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150, help_text="Who wrote it, as shown then.")
    body = models.TextField()
    # The body rendered once, when saved: a page or a mail never parses Markdown. Rows put in
    # by SQL (the bench's seed) get the database default, and show their body as plain text.
    body_html = models.TextField(
        "body as HTML",
        blank=True,
        editable=False,
        db_default="",
        help_text="Sanitized; derived from the body.",
    )
    is_public = models.BooleanField(help_text="Shown to the requester.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "thread entries"
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
    entry = models.ForeignKey(ThreadEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path)
    filename = models.CharField(max_length=255, help_text="The name the file was sent with.")
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class TicketTransition(models.Model):
    """One row per lifecycle move, never changed: the ticket's audit trail and its clocks."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="transitions")
    name = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=State.choices, blank=True)
    target = models.CharField(max_length=16, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text='The person, or "system: <rule or timer>".')
    reason = models.TextField(blank=True)
    # Set by the services to the moment the SLA clock was computed for, so the two agree.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
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


class CannedResponse(models.Model):
    """A prepared reply an agent can start from, for one department or for all of them.

    Placeholders are replaced when it is inserted: {requester_name}, {ticket_number},
    {subject}, {agent_name}.
    """

    title = models.CharField(max_length=120)
    body = models.TextField()
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Leave empty to offer it in every department.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


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
        from tickets import routing

        try:
            routing.check_condition(self.field, self.operator, self.value)
        except ValueError as exc:
            raise ValidationError({"value": str(exc)}) from None


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


class TicketContact(models.Model):
    """Someone copied on a ticket's mail (Cc): they may answer it by e-mail as the requester can."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("ticket", Lower("email"), name="one_contact_per_address")]

    def __str__(self) -> str:
        return self.email


class Mailbox(models.Model):
    """An IMAP mailbox the help desk reads (tickets.imap); its password stays out of the
    database, in the environment variable the row names."""

    class Security(models.TextChoices):
        IMAPS = "imaps", "TLS from the start (IMAPS, port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143)"

    class AfterStore(models.TextChoices):
        FLAG = "flag", "Mark it read and flagged, and leave it"
        DELETE = "delete", "Delete it from the server"

    name = models.CharField(max_length=80, unique=True)
    is_active = models.BooleanField(default=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=8, choices=Security.choices, default=Security.IMAPS)
    username = models.CharField(max_length=255)
    password_env = models.CharField(
        "password environment variable",
        max_length=100,
        help_text="The name of the environment variable that holds the password, e.g. "
        "HELPDESK_MAILBOX_SUPPORT_PASSWORD; the password itself is never stored here.",
    )
    folder = models.CharField(max_length=255, default="INBOX")
    after_store = models.CharField(
        "once a message is stored", max_length=6, choices=AfterStore.choices, default=AfterStore.FLAG
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Where its new tickets go unless a help topic or a routing rule says otherwise.",
    )
    help_topic = models.ForeignKey(HelpTopic, null=True, blank=True, on_delete=models.PROTECT)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # A lease, so that two polls of one mailbox never overlap (tickets.imap).
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    lock_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "mailboxes"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundMessage(models.Model):
    """Every message the help desk accepted, with its raw bytes, whatever became of it.

    A message is stored before it is processed, and kept: once accepted it is never lost.
    What could not be processed waits in the quarantine (admin: reprocess)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, not processed yet"
        TICKET = "ticket", "Opened a ticket"
        REPLY = "reply", "Added to its ticket"
        FOLLOW_UP = "follow_up", "Opened a follow-up to its closed ticket"
        NOTE = "note", "Added to its ticket as a note (not from the requester)"
        AUTO_REPLY = "auto_reply", "Automatic reply: stored, not answered"
        BOUNCE = "bounce", "Delivery report: stored, not answered"
        LOOP = "loop", "Our own mail come back: stored, not answered"
        RATE_LIMITED = "rate_limited", "Too many from this sender: stored, not processed"
        QUARANTINED = "quarantined", "Could not be processed: in quarantine"

    # What became nothing on the help desk: an admin may delete these.
    DISPOSABLE = frozenset(
        {Status.AUTO_REPLY, Status.BOUNCE, Status.LOOP, Status.RATE_LIMITED, Status.QUARANTINED}
    )
    # What was never processed to the end: an admin may have it processed again.
    REPROCESSABLE = frozenset({Status.RECEIVED, Status.RATE_LIMITED, Status.QUARANTINED})

    key = models.CharField(max_length=64, unique=True, editable=False, help_text="What duplicates share.")
    message_id = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    source = models.CharField(max_length=100, help_text="“pipe”, or the mailbox it was fetched from.")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    entry = models.ForeignKey(ThreadEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    mail_suppressed = models.CharField(
        "nobody mailed",
        max_length=300,
        blank=True,
        help_text="Why neither the sender nor the agents were mailed about it (a cap on its sender).",
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_by_status"),
            models.Index(fields=["ticket", "-received_at"], name="inbound_of_ticket"),
            # What one sender sent lately: the per-sender limit and caps (tickets.inbound).
            models.Index(Lower("sender"), models.F("received_at").desc(), name="inbound_by_sender"),
        ]

    def __str__(self) -> str:
        return f"{self.sender or '(no sender)'}: {self.subject or '(no subject)'}"

    @property
    def can_reprocess(self) -> bool:
        return self.status in self.REPROCESSABLE
