"""The admin of the configuration: priorities, hours, SLA plans, departments, teams, topics,
routing rules, timers, canned responses, requesters, agents and users."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import services
from tickets.models import (
    AgentProfile,
    BusinessHours,
    BusinessHoursWindow,
    CannedResponse,
    Department,
    HelpTopic,
    Holiday,
    LifecycleTimers,
    Priority,
    Requester,
    RoutingCondition,
    RoutingRule,
    SLAPlan,
    SLATarget,
    Team,
)

User = get_user_model()


# -- configuration -------------------------------------------------------------------------


@admin.register(Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "colour", "is_default")
    list_filter = ("is_default",)
    search_fields = ("name",)
    ordering = ("rank",)

    def save_model(self, request: Any, obj: Priority, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "rank" in form.changed_data:
            services.priority_rank_changed(obj)


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

    @admin.display(description=_("windows"), ordering="_windows")
    def window_count(self, obj: BusinessHours) -> int:
        return obj._windows  # type: ignore[attr-defined]

    @admin.display(description=_("holidays"), ordering="_holidays")
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
            _("Targets"),
            {
                "fields": ("grace_hours", "first_response_hours", "schedule", "business_hours"),
                "description": _("The hours count around the clock, or only inside the calendar's "
                "business hours. The clock stops while a ticket waits on the requester or is "
                "resolved. Targets per priority below replace these hours for that priority."),
            },
        ),
        (
            _("Overdue"),
            {
                "fields": ("on_overdue", "escalate_to_team", "escalate_to_department"),
                "description": _(
                    "The assignee, the team lead and the department manager are always "
                    "alerted; escalation moves the ticket to a team or department of a higher tier."
                ),
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
    verbose_name = _("sub-department")
    verbose_name_plural = _("sub-departments")


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
    verbose_name = _("member")
    verbose_name_plural = _("members")


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

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members  # type: ignore[attr-defined]


class SubTopicInline(admin.TabularInline):
    model = HelpTopic
    fk_name = "parent"
    fields = ("name", "is_public", "is_active")
    extra = 0
    show_change_link = True
    verbose_name = _("sub-topic")
    verbose_name_plural = _("sub-topics")


@admin.register(HelpTopic)
class HelpTopicAdmin(admin.ModelAdmin):
    list_display = ("full_name", "department", "priority", "sla", "team", "is_public", "is_active")
    list_filter = ("is_public", "is_active", "department", "team", "priority")
    search_fields = ("name", "parent__name")
    list_select_related = ("parent__parent", "department", "priority", "sla", "team")
    inlines = (SubTopicInline,)

    @admin.display(description=_("help topic"), ordering="name")
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
    verbose_name = _("condition")
    verbose_name_plural = _("conditions (a rule without any matches nothing)")


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
            _("Actions"),
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
                "description": _(
                    "What the rule sets on a ticket it matches; a later rule's action "
                    "replaces an earlier one's. Naming an agent assigns the ticket to them."
                ),
            },
        ),
    )
    inlines = (RoutingConditionInline,)

    @admin.display(description=_("actions"))
    def action_summary(self, obj: RoutingRule) -> str:
        parts = [
            # Translators: one action of a routing rule, e.g. "team Network" (label, then its value).
            gettext("%(label)s %(value)s") % {"label": label, "value": value}
            for label, value in (
                (gettext("department"), obj.set_department),
                (gettext("team"), obj.set_team),
                (gettext("agent"), obj.set_agent),
                (gettext("priority"), obj.set_priority),
                (gettext("SLA"), obj.set_sla),
                (gettext("topic"), obj.set_help_topic),
            )
            if value is not None
        ]
        if obj.reject_as_spam:
            parts.append(gettext("reject as spam"))
        if obj.suppress_auto_response:
            parts.append(gettext("no auto-response"))
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
            _("Waiting for the requester"),
            {"fields": ("remind_after_days", "expire_after_days", "expire_action")},
        ),
        (_("Resolved tickets"), {"fields": ("close_resolved_after_days",)}),
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

    @admin.display(description=_("departments"))
    def department_names(self, obj: AgentProfile) -> str:
        return ", ".join(d.name for d in obj.departments.all()) or "-"

    @admin.display(description=_("teams"))
    def team_names(self, obj: AgentProfile) -> str:
        return ", ".join(t.name for t in obj.teams.all()) or "-"


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    fk_name = "user"
    can_delete = True
    max_num = 1
    filter_horizontal = ("departments", "teams")
    verbose_name = _("agent profile")
    verbose_name_plural = _("agent profile (the departments and teams whose tickets this user sees)")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin, with the agent profile and the role on the same page."""

    inlines = (*BaseUserAdmin.inlines, AgentProfileInline)
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (
            _("Agent"),
            {
                "fields": ("first_name", "last_name", "email", "is_staff", "groups"),
                "description": _("Agents are staff users; their role is their group."),
            },
        ),
    )
