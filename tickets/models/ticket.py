"""The ticket and its state machine: the states, and ``Ticket`` with its ``django_fsm``
transitions (who may run each one is in ``tickets.rules``); the requester is in ``requester``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import (
    GET_STATE,
    ConcurrentTransition,
    ConcurrentTransitionMixin,
    FSMField,
    transition,
)

from tickets import rules
from tickets.models.config import Department, HelpTopic, Priority, SLAPlan, Team, display_name
from tickets.models.requester import Requester
from tickets.models.states import ACTIVE_STATES, PUBLIC_STAGE_LABELS, State

# A ticket's priority_rank without a priority: sorted after every rank (ranks are >= 0).
NO_PRIORITY_RANK = -1

# What the reports read of every ticket they count: its stage, and what the filters and the
# visibility rules look at (tickets.reports.filters).
_REPORTED = ["state", "department", "team", "assignee", "help_topic", "priority", "source"]


def _back_to_work(ticket: Ticket) -> str:
    """A ticket that comes back from the requester returns to the tier it was at."""
    return State.ESCALATED if ticket.tier > 1 else State.IN_PROGRESS


class Ticket(ConcurrentTransitionMixin, models.Model):
    class Source(models.TextChoices):
        WEB = "web", _("Web portal")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        API = "api", _("API")

    number = models.CharField(
        max_length=12, unique=True, null=True, blank=True, editable=False, verbose_name=_("number")
    )
    subject = models.CharField(max_length=255, verbose_name=_("subject"))
    requester = models.ForeignKey(
        Requester, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("requester")
    )
    source = models.CharField(
        max_length=5, choices=Source.choices, default=Source.WEB, verbose_name=_("source")
    )
    help_topic = models.ForeignKey(
        HelpTopic, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("help topic")
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets",
        verbose_name=_("department"),
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("team")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("priority")
    )
    # The priority's rank, kept beside it (``set_priority``; an admin's change of a rank is
    # carried over by ``services.priority_rank_changed``), -1 without a priority: the "most
    # urgent first" sort walks one index of the ticket table instead of sorting every visible
    # ticket after a join.
    priority_rank = models.SmallIntegerField(
        default=NO_PRIORITY_RANK, editable=False, verbose_name=_("priority rank")
    )
    sla = models.ForeignKey(
        SLAPlan, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("SLA plan")
    )
    tier = models.PositiveSmallIntegerField(default=1, verbose_name=_("tier"))
    state = FSMField(
        default=State.NEW, choices=State.choices, protected=True, db_index=False, verbose_name=_("state")
    )
    version = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("version"))
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups",
        verbose_name=_("follow up of"),
    )
    # A major incident (an outage many people report) gathers the tickets reporting it: they
    # wait on it, get its public updates, and are resolved with it (tickets.services.incidents).
    is_major_incident = models.BooleanField(
        default=False, db_default=False, verbose_name=_("is major incident")
    )
    incident_status = models.CharField(
        _("public status line"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("What every reporter of the incident reads on their ticket."),
    )
    incident = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        editable=False,
        help_text=_("The major incident this ticket reports."),
        verbose_name=_("incident"),
    )
    # A true duplicate merged into another ticket: closed, its thread moved to the survivor,
    # its number leading there (tickets.services.merge).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged", editable=False,
        verbose_name=_("merged into"),
    )
    first_response_due = models.DateTimeField(null=True, blank=True, verbose_name=_("first response due"))
    resolution_due = models.DateTimeField(null=True, blank=True, verbose_name=_("resolution due"))
    first_responded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first responded at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    reopen_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("reopen count"))
    # Whether the first response, and the last resolve, came by the due time the SLA clock had
    # set when each happened (None: no target). Stored by the services as they happen, so the
    # reports count them without replaying the log; ``manage.py rebuild_reports`` recomputes
    # them from the log (tickets.reports.sla).
    first_response_met = models.BooleanField(
        null=True, blank=True, editable=False, verbose_name=_("first response met")
    )
    resolution_met = models.BooleanField(
        null=True, blank=True, editable=False, verbose_name=_("resolution met")
    )
    # When the overdue job found a due time missed; cleared when the target moves into the
    # future again, so each miss is acted on once (tickets.sla.jobs).
    first_response_breached_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("first response breached at")
    )
    resolution_breached_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("resolution breached at")
    )
    # The time of the last transition (the log has it too): indexed for the state timers.
    state_changed_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("state changed at")
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("When the waiting requester was reminded."),
        verbose_name=_("reminded at"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_activity_at = models.DateTimeField(auto_now=True, verbose_name=_("last activity at"))

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-last_activity_at", "-id"]
        permissions = [
            ("assign_ticket", "Assign and transfer tickets"),
            ("claim_ticket", "Claim tickets of their departments and teams"),
            ("work_ticket", "Reply to, note, work on and reopen tickets"),
            ("escalate_ticket", "Escalate tickets to a higher tier"),
            ("close_ticket", "Close and cancel tickets"),
            ("supervise_ticket", "Act on visible tickets assigned to others"),
            ("view_all_tickets", "See the tickets of every department"),
            ("view_reports", "View lifecycle reports"),
            ("manage_incidents", "Declare major incidents and send their updates to every report"),
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
            models.Index(fields=["-priority_rank", "-last_activity_at", "-id"], name="ticket_priority_order"),
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
            # The periodic job (tickets.sla.jobs) reads only the tickets due and not yet acted on,
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
            # The reports (tickets.reports): the tickets created, first answered and resolved in
            # a period, and the active ones, each read from its own index without the table:
            # after the time, the columns each figure, the filters and the visibility rules
            # read (as key columns: SQLite has no INCLUDE). Measured in bench/reports.py.
            models.Index(fields=["created_at", *_REPORTED, "tier", "follow_up_of"], name="ticket_created"),
            models.Index(
                fields=["first_responded_at", *_REPORTED, "first_response_met"],
                condition=Q(first_responded_at__isnull=False),
                name="ticket_first_responded",
            ),
            models.Index(
                fields=["resolved_at", *_REPORTED, "created_at", "resolution_met", "id"],
                condition=Q(resolved_at__isnull=False),
                name="ticket_resolved",
            ),
            models.Index(
                fields=_REPORTED, condition=Q(state__in=ACTIVE_STATES), name="ticket_active_reported"
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

    def set_priority(self, priority: Priority | None) -> None:
        """The priority, and its rank beside it for the "most urgent first" sort."""
        self.priority = priority
        self.priority_rank = priority.rank if priority is not None else NO_PRIORITY_RANK

    def stored_as(self, **fields: Any) -> None:
        """This copy after a queryset ``update()`` stored ``fields`` on its row and raised its
        version by one (a batch that holds the rows' locks writes them so, not row by row)."""
        for name, value in fields.items():
            setattr(self, name, value)
        self.version = self._saved_version = self._saved_version + 1

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
        return str(PUBLIC_STAGE_LABELS[self.state])

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
        self.set_priority(priority)
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
            raise ValueError(gettext("Name an agent, a team or both."))
        if (
            getattr(agent, "pk", None) == self.assignee_id
            and getattr(team, "pk", None) == self.team_id
            and (department is None or department.pk == self.department_id)
        ):
            # A move that changes nothing is refused, so the thread gets no empty event.
            who = " / ".join(str(p) for p in (agent and display_name(agent), team) if p)
            raise ValueError(gettext("This ticket is already assigned to %(who)s.") % {"who": who})
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
            raise ValueError(gettext("Name a team or a department to escalate to."))
        if max(t.tier for t in targets) <= self.tier:
            names = " / ".join(str(t) for t in targets)
            message = gettext("%(names)s is not of a higher tier than this ticket (tier %(tier)s).")
            raise ValueError(message % {"names": names, "tier": self.tier})
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

    @transition(
        field=state,
        source=[*ACTIVE_STATES, State.RESOLVED],
        target=State.CLOSED,
        permission="tickets.work_ticket",
    )
    def merge(self, *, into: Ticket, at: Any) -> None:
        if into.pk == self.pk:
            raise ValueError(gettext("A ticket cannot be merged into itself."))
        if into.state == State.CLOSED:
            message = gettext("#%(number)s is closed: merge into an open ticket.")
            raise ValueError(message % {"number": into.number})
        self.merged_into = into
        self.closed_at = at
