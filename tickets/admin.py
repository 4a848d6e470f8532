"""The Django admin: configuration is edited here; tickets are only looked at and moved.

Tickets are read-only in the admin. Their lifecycle moves go through the same services as
the console (``tickets.services``), offered as buttons for the transitions the admin user
may run now (``available_actions``); a move that needs input shows a small form first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from tickets import imap, inbound, selectors, services
from tickets.models import (
    AgentProfile,
    BusinessHours,
    BusinessHoursWindow,
    CannedResponse,
    Department,
    HelpTopic,
    Holiday,
    InboundMessage,
    LifecycleTimers,
    Mailbox,
    Priority,
    Requester,
    RoutingCondition,
    RoutingRule,
    SLAPlan,
    SLATarget,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)

User = get_user_model()


# -- configuration -------------------------------------------------------------------------


@admin.register(Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "colour", "is_default")
    list_filter = ("is_default",)
    search_fields = ("name",)
    ordering = ("rank",)


class BusinessHoursWindowInline(admin.TabularInline):
    model = BusinessHoursWindow
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "window_count", "holiday_count")
    list_filter = ("time_zone",)
    search_fields = ("name",)
    inlines = (BusinessHoursWindowInline, HolidayInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessHours]:
        return (
            super()
            .get_queryset(request)
            .annotate(_windows=Count("windows", distinct=True), _holidays=Count("holidays", distinct=True))
        )

    @admin.display(description="windows", ordering="_windows")
    def window_count(self, obj: BusinessHours) -> int:
        return obj._windows  # type: ignore[attr-defined]

    @admin.display(description="holidays", ordering="_holidays")
    def holiday_count(self, obj: BusinessHours) -> int:
        return obj._holidays  # type: ignore[attr-defined]


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    extra = 0


@admin.register(SLAPlan)
class SLAPlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "grace_hours",
        "first_response_hours",
        "schedule",
        "business_hours",
        "on_overdue",
        "is_default",
        "is_active",
    )
    list_filter = ("schedule", "on_overdue", "is_default", "is_active")
    search_fields = ("name",)
    list_select_related = ("business_hours",)
    fieldsets = (
        (None, {"fields": ("name", "is_default", "is_active")}),
        (
            "Targets",
            {
                "fields": ("grace_hours", "first_response_hours", "schedule", "business_hours"),
                "description": "The hours count around the clock, or only inside the calendar's "
                "business hours. The clock stops while a ticket waits on the requester or is "
                "resolved. Targets per priority below replace these hours for that priority.",
            },
        ),
        (
            "Overdue",
            {
                "fields": ("on_overdue", "escalate_to_team", "escalate_to_department"),
                "description": "The assignee, the team lead and the department manager are always "
                "alerted; escalation moves the ticket to a team or department of a higher tier.",
            },
        ),
    )
    inlines = (SLATargetInline,)


class SubDepartmentInline(admin.TabularInline):
    model = Department
    fk_name = "parent"
    fields = ("name", "tier", "is_public")
    extra = 0
    show_change_link = True
    verbose_name = "sub-department"
    verbose_name_plural = "sub-departments"


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "sla", "manager", "tier", "is_public", "is_default")
    list_filter = ("tier", "is_public", "is_default", "sla")
    search_fields = ("name",)
    list_select_related = ("parent", "sla", "manager")
    autocomplete_fields = ("parent", "manager")
    inlines = (SubDepartmentInline,)


class TeamMemberInline(admin.TabularInline):
    model = AgentProfile.teams.through
    autocomplete_fields = ("agentprofile",)
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "lead", "tier", "is_active", "member_count")
    list_filter = ("tier", "is_active")
    search_fields = ("name",)
    list_select_related = ("lead",)
    autocomplete_fields = ("lead",)
    inlines = (TeamMemberInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(_members=Count("members", distinct=True))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members  # type: ignore[attr-defined]


class SubTopicInline(admin.TabularInline):
    model = HelpTopic
    fk_name = "parent"
    fields = ("name", "is_public", "is_active")
    extra = 0
    show_change_link = True
    verbose_name = "sub-topic"
    verbose_name_plural = "sub-topics"


@admin.register(HelpTopic)
class HelpTopicAdmin(admin.ModelAdmin):
    list_display = ("full_name", "department", "priority", "sla", "team", "is_public", "is_active")
    list_filter = ("is_public", "is_active", "department", "team", "priority")
    search_fields = ("name", "parent__name")
    list_select_related = ("parent__parent", "department", "priority", "sla", "team")
    inlines = (SubTopicInline,)

    @admin.display(description="help topic", ordering="name")
    def full_name(self, obj: HelpTopic) -> str:
        return obj.full_name

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "parent":
            # Each choice is named with its parents; fetch them with the choices.
            kwargs["queryset"] = HelpTopic.objects.select_related("parent__parent")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RoutingConditionInline(admin.TabularInline):
    model = RoutingCondition
    extra = 0
    min_num = 1
    verbose_name = "condition"
    verbose_name_plural = "conditions (a rule without any matches nothing)"


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Intake rules, run in order of position on every new ticket (like osTicket's filters)."""

    list_display = ("name", "position", "is_active", "match", "stop_on_match", "action_summary")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "conditions__value")
    list_select_related = (
        "set_department",
        "set_team",
        "set_agent",
        "set_priority",
        "set_sla",
        "set_help_topic__parent__parent",
    )
    autocomplete_fields = ("set_agent",)
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active", "match", "stop_on_match")}),
        (
            "Actions",
            {
                "fields": (
                    "set_department",
                    "set_team",
                    "set_agent",
                    "set_priority",
                    "set_sla",
                    "set_help_topic",
                    "reject_as_spam",
                    "suppress_auto_response",
                ),
                "description": "What the rule sets on a ticket it matches; a later rule's action "
                "replaces an earlier one's. Naming an agent assigns the ticket to them.",
            },
        ),
    )
    inlines = (RoutingConditionInline,)

    @admin.display(description="actions")
    def action_summary(self, obj: RoutingRule) -> str:
        parts = [
            f"{label} {value}"
            for label, value in (
                ("department", obj.set_department),
                ("team", obj.set_team),
                ("agent", obj.set_agent),
                ("priority", obj.set_priority),
                ("SLA", obj.set_sla),
                ("topic", obj.set_help_topic),
            )
            if value is not None
        ]
        if obj.reject_as_spam:
            parts.append("reject as spam")
        if obj.suppress_auto_response:
            parts.append("no auto-response")
        return ", ".join(parts) or "-"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "set_help_topic":
            kwargs["queryset"] = HelpTopic.objects.select_related("parent__parent")
        if db_field.name == "set_agent":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(LifecycleTimers)
class LifecycleTimersAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it, and it is neither added twice nor deleted."""

    fieldsets = (
        (
            "Waiting for the requester",
            {"fields": ("remind_after_days", "expire_after_days", "expire_action")},
        ),
        ("Resolved tickets", {"fields": ("close_resolved_after_days",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        timers = LifecycleTimers.load()
        return HttpResponseRedirect(reverse("admin:tickets_lifecycletimers_change", args=[timers.pk]))


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("title", "department", "is_active")
    list_filter = ("is_active", "department")
    search_fields = ("title", "body")
    list_select_related = ("department",)


@admin.register(Requester)
class RequesterAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "user", "created_at")
    search_fields = ("email", "name", "phone")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "department_names", "team_names")
    list_filter = ("departments", "teams")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    filter_horizontal = ("departments", "teams")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentProfile]:
        return super().get_queryset(request).prefetch_related("departments", "teams")

    @admin.display(description="departments")
    def department_names(self, obj: AgentProfile) -> str:
        return ", ".join(d.name for d in obj.departments.all()) or "-"

    @admin.display(description="teams")
    def team_names(self, obj: AgentProfile) -> str:
        return ", ".join(t.name for t in obj.teams.all()) or "-"


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    fk_name = "user"
    can_delete = True
    max_num = 1
    filter_horizontal = ("departments", "teams")
    verbose_name = "agent profile"
    verbose_name_plural = "agent profile (the departments and teams whose tickets this user sees)"


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin, with the agent profile and the role on the same page."""

    inlines = (*BaseUserAdmin.inlines, AgentProfileInline)
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            "Agent",
            {
                "fields": ("first_name", "last_name", "email", "is_staff", "groups"),
                "description": "Agents are staff users; their role is their group.",
            },
        ),
    )


# -- tickets: read-only, moved through the services -------------------------------------------


class _ReadOnlyTicketInline(admin.TabularInline):
    """Rows shown with the ticket to whoever may see the ticket; never added or changed here."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Seeing the ticket is what counts, not a permission on the row model.
        return request.user.has_perm("tickets.view_ticket")


class ThreadEntryInline(_ReadOnlyTicketInline):
    model = ThreadEntry
    fields = readonly_fields = ("kind", "author_name", "body", "is_public", "created_at")
    verbose_name = "thread entry"
    verbose_name_plural = "thread"


class TicketTransitionInline(_ReadOnlyTicketInline):
    model = TicketTransition
    fields = readonly_fields = ("name", "source", "target", "actor_label", "reason", "created_at")
    verbose_name = "transition"
    verbose_name_plural = "transition log"


# The transition forms. Each carries the ticket's version as the user saw it, so that a
# move decided on a stale page is refused rather than applied to a ticket that changed.


class TransitionForm(forms.Form):
    required_css_class = "required"  # the admin's bold labels
    error_css_class = "errors"

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssignForm(TransitionForm):
    agent = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        required=False,
        label="Transfer to department",
        help_text="Leave empty to keep the ticket in its department.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = User.objects.filter(is_active=True, is_staff=True).order_by(
            User.USERNAME_FIELD
        )
        self.fields["team"].queryset = Team.objects.filter(is_active=True)
        self.fields["department"].queryset = Department.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("agent") and not data.get("team"):
            raise forms.ValidationError("Name an agent, a team or both.")
        return data


class EscalateForm(TransitionForm):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text="A hand-off summary for the team that takes over (internal).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(is_active=True)
        self.fields["department"].queryset = Department.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("team") and not data.get("department"):
            raise forms.ValidationError("Name a team or a department to escalate to.")
        return data


class MessageForm(TransitionForm):
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "cols": 60}))


class ReasonForm(TransitionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))


class OptionalReasonForm(TransitionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False)


@dataclass(frozen=True)
class AdminTransition:
    form: type[TransitionForm]
    run: Callable[[Ticket, Any, dict[str, Any]], Any]
    needs_input: bool = True
    help: str = ""


ADMIN_TRANSITIONS: dict[str, AdminTransition] = {
    "assign": AdminTransition(
        AssignForm,
        lambda t, u, d: services.ticket_assign(
            ticket=t, actor=u, agent=d["agent"], team=d["team"], department=d["department"]
        ),
        help="Assign the ticket to an agent and/or a team; naming a department transfers it.",
    ),
    "claim": AdminTransition(
        TransitionForm,
        lambda t, u, d: services.ticket_claim(ticket=t, actor=u),
        needs_input=False,
        help="Assign the ticket to yourself.",
    ),
    "start_work": AdminTransition(
        TransitionForm,
        lambda t, u, d: services.ticket_start_work(ticket=t, actor=u),
        needs_input=False,
        help="Mark the ticket as being worked on.",
    ),
    "request_info": AdminTransition(
        MessageForm,
        lambda t, u, d: services.ticket_request_info(ticket=t, actor=u, message=d["message"]),
        help="Your question is e-mailed to the requester; the ticket waits for their reply.",
    ),
    "escalate": AdminTransition(
        EscalateForm,
        lambda t, u, d: services.ticket_escalate(
            ticket=t, actor=u, summary=d["summary"], team=d["team"], department=d["department"]
        ),
        help="Hand the ticket to a team or department of a higher tier.",
    ),
    "resolve": AdminTransition(
        MessageForm,
        lambda t, u, d: services.ticket_resolve(ticket=t, actor=u, message=d["message"]),
        help="The message tells the requester what was done; it is e-mailed to them.",
    ),
    "reopen": AdminTransition(
        ReasonForm,
        lambda t, u, d: services.ticket_reopen(ticket=t, actor=u, reason=d["reason"]),
        help="Send the resolved ticket back to work.",
    ),
    "close": AdminTransition(
        OptionalReasonForm,
        lambda t, u, d: services.ticket_close(ticket=t, actor=u, reason=d["reason"]),
        help="Close the resolved ticket; a reason is optional.",
    ),
    "cancel": AdminTransition(
        ReasonForm,
        lambda t, u, d: services.ticket_cancel(ticket=t, actor=u, reason=d["reason"]),
        help="Close a ticket that needs no work (spam, duplicate) with the reason.",
    ),
}


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "subject",
        "requester",
        "state_display",
        "department",
        "team",
        "assignee",
        "priority",
        "last_activity_at",
    )
    list_display_links = ("number", "subject")
    list_filter = ("state", "department", "team", "priority", "source")
    search_fields = ("number", "subject", "requester__email")
    list_select_related = ("requester", "department", "team", "assignee", "priority")
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/tickets/ticket/change_form.html"
    transition_form_template = "admin/tickets/ticket/transition_form.html"
    inlines = (ThreadEntryInline, TicketTransitionInline)
    fieldsets = (
        (
            None,
            {"fields": ("number", "subject", "requester", "source", "help_topic", "follow_up_of")},
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    "state",
                    "public_stage",
                    "department",
                    "team",
                    "assignee",
                    "tier",
                    "priority",
                    "sla",
                )
            },
        ),
        (
            "Clocks",
            {
                "fields": (
                    "created_at",
                    "last_activity_at",
                    "first_response_due",
                    "first_responded_at",
                    "resolution_due",
                    "resolved_at",
                    "closed_at",
                    "reopen_count",
                    "version",
                )
            },
        ),
    )
    readonly_fields = tuple(f for _, options in fieldsets for f in options["fields"])

    # -- who sees what: the console's rules, and nothing is edited through the form ---------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        tickets = selectors.tickets_visible_to(request.user).select_related(
            *selectors.LIST_RELATED, "follow_up_of"
        )
        ordering = self.get_ordering(request)
        return tickets.order_by(*ordering) if ordering else tickets

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from the portal, the console and e-mail

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only: moves go through the transition buttons

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state", ordering="state")
    def state_display(self, obj: Ticket) -> str:
        return obj.get_state_display()

    @admin.display(description="the requester sees")
    def public_stage(self, obj: Ticket) -> str:
        return obj.public_stage

    # -- transitions ---------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="{}_{}_transition".format(*info),
            ),
            *super().get_urls(),
        ]

    def _transition_url(self, ticket: Ticket, name: str) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_transition",
            args=[ticket.pk, name],
        )

    def _change_url(self, ticket: Ticket) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[ticket.pk],
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Ticket | None = None,
    ) -> HttpResponse:
        if obj is not None:
            # The moves this user may run now, in the order of the lifecycle.
            order = list(ADMIN_TRANSITIONS)
            actions = [
                a
                for a in services.available_actions(ticket=obj, actor=request.user)
                if a.name in ADMIN_TRANSITIONS
            ]
            context["ticket_actions"] = [
                {
                    "name": action.name,
                    "label": action.label,
                    "url": self._transition_url(obj, action.name),
                    "needs_input": ADMIN_TRANSITIONS[action.name].needs_input,
                }
                for action in sorted(actions, key=lambda a: order.index(a.name))
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        """GET shows the transition's form; POST runs it through its service.

        The change page's buttons post with ``_start``: a move that needs no input runs
        at once, one that does shows its form first.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        spec = ADMIN_TRANSITIONS.get(name)
        if spec is None:
            raise Http404("No such transition.")
        ticket = self.get_object(request, unquote(object_id))  # limited to visible tickets
        if ticket is None:
            raise Http404("No such ticket.")
        if not self.has_view_permission(request, ticket):
            raise PermissionDenied
        change_url = self._change_url(ticket)
        action = next(
            (a for a in services.available_actions(ticket=ticket, actor=request.user) if a.name == name),
            None,
        )
        label = action.label if action else services.ACTION_LABELS.get(name, name)

        if request.method == "POST" and (not spec.needs_input or "_start" not in request.POST):
            form = spec.form(request.POST)
            if form.is_valid():
                return self._run_transition(request, ticket, label, spec, form.cleaned_data)
        else:
            if action is None:
                self.message_user(request, f"You cannot {label.lower()} this ticket now.", messages.ERROR)
                return HttpResponseRedirect(change_url)
            version = request.POST.get("version") if request.method == "POST" else None
            form = spec.form(initial={"version": version or ticket.version})

        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: {ticket}",
            "subtitle": None,
            "opts": self.opts,
            "original": ticket,
            "ticket": ticket,
            "form": form,
            "action_label": label,
            "action_help": spec.help,
            "change_url": change_url,
            "has_view_permission": True,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.transition_form_template, context)

    def _run_transition(
        self,
        request: HttpRequest,
        ticket: Ticket,
        label: str,
        spec: AdminTransition,
        data: dict[str, Any],
    ) -> HttpResponse:
        change_url = self._change_url(ticket)
        try:
            services.ticket_ensure_unchanged(ticket, version=data.get("version"))
            spec.run(ticket, request.user, data)
        except (services.TicketActionError, PermissionDenied) as exc:
            # TicketConflict is a TicketActionError; the service rolled everything back.
            self.message_user(
                request, str(exc) or f"You may not {label.lower()} this ticket.", messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        self.message_user(
            request,
            f"{label}: ticket {ticket} is now {ticket.get_state_display().lower()}.",
            messages.SUCCESS,
        )
        if not self.get_queryset(request).filter(pk=ticket.pk).exists():
            # E.g. transferred to a department this user does not see.
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        return HttpResponseRedirect(change_url)


# -- mail in ---------------------------------------------------------------------------------


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "username",
        "host",
        "folder",
        "department",
        "last_polled_at",
        "last_error",
    )
    list_filter = ("is_active", "security", "after_store")
    search_fields = ("name", "host", "username")
    list_select_related = ("department",)
    readonly_fields = ("last_polled_at", "last_error", "locked_until")
    fieldsets = (
        (None, {"fields": ("name", "is_active")}),
        (
            "Server",
            {
                "fields": ("host", "port", "security", "username", "password_env", "folder", "after_store"),
                "description": "IMAP over TLS; the certificate is always checked (IMAP_CA_FILE adds a "
                "private CA). A message is marked or deleted on the server only once it is stored here.",
            },
        ),
        ("New tickets", {"fields": ("department", "help_topic")}),
        ("Last poll", {"fields": ("last_polled_at", "last_error", "locked_until")}),
    )
    actions = ("poll_now",)

    @admin.action(description="Read the selected mailboxes now")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        for mailbox in queryset:
            report = imap.poll(mailbox)
            if report.skipped:
                self.message_user(request, f"{mailbox}: another poll is running.", messages.WARNING)
            elif report.error:
                self.message_user(request, f"{mailbox}: {report.error}", messages.ERROR)
            else:
                self.message_user(request, f"{mailbox}: {report.stored} new of {report.fetched} fetched.")


class NobodyMailedFilter(admin.SimpleListFilter):
    """The messages that made a ticket but mailed nobody: their sender was past a cap."""

    title = "nobody mailed"
    parameter_name = "nobody_mailed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes: past a cap on the sender"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> QuerySet[InboundMessage]:
        if self.value() == "yes":
            return queryset.exclude(mail_suppressed="")
        if self.value() == "no":
            return queryset.filter(mail_suppressed="")
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Every message mail brought, with what became of it; the quarantine is the list filtered
    by status, the messages held back from a flooding sender by status ("too many from this
    sender") or by "nobody mailed". Read-only, but a quarantined or held message can be
    processed again."""

    list_display = ("subject", "sender", "status", "mail_suppressed", "ticket", "received_at")
    list_display_links = ("subject",)
    list_filter = ("status", NobodyMailedFilter, "source")
    search_fields = ("sender", "subject", "message_id")
    list_select_related = ("ticket",)
    date_hierarchy = "received_at"
    show_full_result_count = False
    change_form_template = "admin/tickets/inboundmessage/change_form.html"
    fields = (
        "received_at",
        "source",
        "sender",
        "subject",
        "message_id",
        "size",
        "status",
        "error",
        "mail_suppressed",
        "ticket",
        "processed_at",
        "headers",
        "raw_text",
    )
    readonly_fields = fields
    actions = ("reprocess_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only mail that became nothing (spam in the quarantine, bounces, auto-replies) may be
        deleted, one at a time; what made a ticket or a reply is that ticket's record."""
        return (
            obj is not None
            and obj.status in InboundMessage.DISPOSABLE
            and super().has_delete_permission(request, obj)
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return super().get_queryset(request).defer("raw")

    @admin.display(description="headers")
    def headers(self, obj: InboundMessage) -> str:
        parsed = inbound._headers(bytes(obj.raw))
        return "\n".join(
            f"{name}: {inbound._header_text(parsed, name)}" for name in dict.fromkeys(parsed.keys())
        )

    @admin.display(description="raw message (the first 20,000 bytes, as text)")
    def raw_text(self, obj: InboundMessage) -> str:
        return bytes(obj.raw)[:20_000].decode("utf-8", errors="replace")

    @admin.action(description="Process the selected messages again")
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        for stored in queryset:
            self._reprocess(request, stored)

    def _reprocess(self, request: HttpRequest, stored: InboundMessage) -> None:
        if not request.user.has_perm("tickets.change_ticket"):
            raise PermissionDenied
        try:
            result = inbound.reprocess(stored)
        except services.TicketActionError as exc:
            self.message_user(request, f"Message {stored.pk}: {exc}", messages.ERROR)
            return
        level = messages.ERROR if result.status == InboundMessage.Status.QUARANTINED else messages.SUCCESS
        detail = f": {result.error}" if result.error else ""
        self.message_user(request, f"Message {stored.pk}: {result.get_status_display()}{detail}", level)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="{}_{}_raw".format(*info),
            ),
            path(
                "<path:object_id>/reprocess/",
                self.admin_site.admin_view(self.reprocess_view),
                name="{}_{}_reprocess".format(*info),
            ),
            *super().get_urls(),
        ]

    def _get(self, request: HttpRequest, object_id: str) -> InboundMessage:
        if not self.has_view_permission(request):
            raise PermissionDenied
        stored = InboundMessage.objects.filter(pk=unquote(object_id)).first() if object_id.isdigit() else None
        if stored is None:
            raise Http404("No such message.")
        return stored

    def raw_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The message exactly as it came, to download (never shown as a page of ours)."""
        return inbound.download_response(self._get(request, object_id))

    def reprocess_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        stored = self._get(request, object_id)
        if request.method != "POST":
            return HttpResponse(status=405)
        self._reprocess(request, stored)
        return HttpResponseRedirect(reverse("admin:tickets_inboundmessage_change", args=[stored.pk]))
