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
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import selectors, services
from tickets.models import (
    Department,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)

User = get_user_model()


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
    verbose_name = _("thread entry")
    verbose_name_plural = _("thread")


class TicketTransitionInline(_ReadOnlyTicketInline):
    model = TicketTransition
    fields = readonly_fields = ("name", "source", "target", "actor_label", "reason", "created_at")
    verbose_name = _("transition")
    verbose_name_plural = _("transition log")


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
        label=_("Transfer to department"),
        help_text=_("Leave empty to keep the ticket in its department."),
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
            raise forms.ValidationError(gettext("Name an agent, a team or both."))
        return data


class EscalateForm(TransitionForm):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=_("A hand-off summary for the team that takes over (internal)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(is_active=True)
        self.fields["department"].queryset = Department.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("team") and not data.get("department"):
            raise forms.ValidationError(gettext("Name a team or a department to escalate to."))
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
    help: str | Promise = ""


ADMIN_TRANSITIONS: dict[str, AdminTransition] = {
    "assign": AdminTransition(
        AssignForm,
        lambda t, u, d: services.ticket_assign(
            ticket=t, actor=u, agent=d["agent"], team=d["team"], department=d["department"]
        ),
        help=_("Assign the ticket to an agent and/or a team; naming a department transfers it."),
    ),
    "claim": AdminTransition(
        TransitionForm,
        lambda t, u, d: services.ticket_claim(ticket=t, actor=u),
        needs_input=False,
        help=_("Assign the ticket to yourself."),
    ),
    "start_work": AdminTransition(
        TransitionForm,
        lambda t, u, d: services.ticket_start_work(ticket=t, actor=u),
        needs_input=False,
        help=_("Mark the ticket as being worked on."),
    ),
    "request_info": AdminTransition(
        MessageForm,
        lambda t, u, d: services.ticket_request_info(ticket=t, actor=u, message=d["message"]),
        help=_("Your question is e-mailed to the requester; the ticket waits for their reply."),
    ),
    "escalate": AdminTransition(
        EscalateForm,
        lambda t, u, d: services.ticket_escalate(
            ticket=t, actor=u, summary=d["summary"], team=d["team"], department=d["department"]
        ),
        help=_("Hand the ticket to a team or department of a higher tier."),
    ),
    "resolve": AdminTransition(
        MessageForm,
        lambda t, u, d: services.ticket_resolve(ticket=t, actor=u, message=d["message"]),
        help=_("The message tells the requester what was done; it is e-mailed to them."),
    ),
    "reopen": AdminTransition(
        ReasonForm,
        lambda t, u, d: services.ticket_reopen(ticket=t, actor=u, reason=d["reason"]),
        help=_("Send the resolved ticket back to work."),
    ),
    "close": AdminTransition(
        OptionalReasonForm,
        lambda t, u, d: services.ticket_close(ticket=t, actor=u, reason=d["reason"]),
        help=_("Close the resolved ticket; a reason is optional."),
    ),
    "cancel": AdminTransition(
        ReasonForm,
        lambda t, u, d: services.ticket_cancel(ticket=t, actor=u, reason=d["reason"]),
        help=_("Close a ticket that needs no work (spam, duplicate) with the reason."),
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
            _("Lifecycle"),
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
            _("Clocks"),
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

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, obj: Ticket) -> str:
        return obj.get_state_display()

    @admin.display(description=_("the requester sees"))
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
                # Translators: action is the name of the move in lower case, e.g. "assign", "resolve".
                refused = gettext("You cannot %(action)s this ticket now.") % {"action": label.lower()}
                self.message_user(request, refused, messages.ERROR)
                return HttpResponseRedirect(change_url)
            version = request.POST.get("version") if request.method == "POST" else None
            form = spec.form(initial={"version": version or ticket.version})

        context = {
            **self.admin_site.each_context(request),
            # Translators: the page title of a move's form, e.g. "Escalate: #000123 Printer jams".
            "title": gettext("%(action)s: %(ticket)s") % {"action": label, "ticket": ticket},
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
            # Translators: action is the name of the move in lower case, e.g. "assign", "resolve".
            refused = gettext("You may not %(action)s this ticket.") % {"action": label.lower()}
            self.message_user(request, str(exc) or refused, messages.ERROR)
            return HttpResponseRedirect(change_url)
        self.message_user(
            request,
            # Translators: e.g. "Resolve: ticket #000123 Printer jams is now resolved."
            gettext("%(action)s: ticket %(ticket)s is now %(state)s.")
            % {"action": label, "ticket": ticket, "state": ticket.get_state_display().lower()},
            messages.SUCCESS,
        )
        if not self.get_queryset(request).filter(pk=ticket.pk).exists():
            # E.g. transferred to a department this user does not see.
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        return HttpResponseRedirect(change_url)

