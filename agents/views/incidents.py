"""Major incidents in the workspace: declare one, change its public status line, post one update
to every report, link reports to it (several numbers at once), link a ticket to one, unlink.

Each POST names the version of the ticket its page showed (a newer one is refused with the
conflict message) and calls one service of ``tickets.services.incidents``. A refused form comes
back on the ticket's page with what the agent wrote in it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agents import incident_panel
from agents.access import agent_required, ticket_for_agent
from agents.incident_forms import DeclareForm, JoinForm, LinkReportsForm, StatusForm, UnlinkForm, UpdateForm
from agents.views.workspace import _page, conflict_message
from tickets import selectors, services
from tickets.models import Ticket


def _require(request: HttpRequest, *, manage: bool) -> None:
    if manage and not incident_panel.may_manage(request.user):
        raise PermissionDenied("Your role may not declare major incidents or send their updates.")
    if not manage and not incident_panel.may_link(request.user):
        raise PermissionDenied("Your role may not link tickets.")


def _again(request: HttpRequest, number: str, name: str, form: forms.Form, error: str = "") -> HttpResponse:
    """The ticket's page as it is now, with the refused form as the agent filled it in (its
    version brought up to date, so that sending it again is not refused for the same reason)."""
    ticket = ticket_for_agent(request, number)
    data = form.data.copy()
    data["version"] = str(ticket.version)
    kwargs: dict[str, Any] = {}
    if name == "declare":
        kwargs = {"ticket": ticket, "choices": selectors.console_choices()}
    again = type(form)(data, **kwargs)
    if error:
        messages.error(request, error)
    else:
        again.is_valid()  # the field errors, next to the fields
    panel = incident_panel.panel(request.user, ticket, choices=kwargs.get("choices"), bound={name: again})
    return _page(request, ticket, status=400, incident_panel=panel)


def _run(
    request: HttpRequest, ticket: Ticket, name: str, form: forms.Form, call: Any
) -> tuple[Any, HttpResponse | None]:
    """Check the form and the version, run ``call``; a refusal comes back as the page again."""
    if not form.is_valid():
        return None, _again(request, ticket.number, name, form)
    try:
        services.ticket_ensure_unchanged(ticket, version=form.cleaned_data["version"])
        return call(form.cleaned_data), None
    except services.TicketConflict:
        return None, _again(request, ticket.number, name, form, conflict_message(ticket))
    except services.TicketActionError as exc:
        return None, _again(request, ticket.number, name, form, str(exc))



def _opened_from(ticket: Ticket) -> str:
    """The new incident ticket's first entry when the agent wrote none."""
    return _("Opened from #%(number)s: %(subject)s") % {"number": ticket.number, "subject": ticket.subject}


@agent_required
@require_POST
def declare(request: HttpRequest, number: str) -> HttpResponse:
    """This ticket becomes the incident, or a new incident ticket is opened with this one as
    its first report."""
    ticket = ticket_for_agent(request, number)
    _require(request, manage=True)
    form = DeclareForm(request.POST, ticket=ticket, choices=selectors.console_choices())

    def call(data: dict[str, Any]) -> Ticket:
        if data["mode"] == "this":
            return services.incident_declare(ticket=ticket, actor=request.user, status=data["status"])
        return services.incident_open(
            actor=request.user,
            subject=data["subject"].strip(),
            body=data["body"].strip() or _opened_from(ticket),
            status=data["status"],
            department=data["department"],
            team=data["team"],
            first_report=ticket,
        )

    incident, refused = _run(request, ticket, "declare", form, call)
    if refused:
        return refused
    if incident.pk == ticket.pk:
        messages.success(request, _("#%(number)s is now a major incident.") % {"number": ticket.number})
    else:
        opened = _("Major incident #%(incident)s opened; #%(number)s is its first report.")
        messages.success(request, opened % {"incident": incident.number, "number": ticket.number})
    return redirect("agents:ticket", number=incident.number)


@agent_required
@require_POST
def change_status(request: HttpRequest, number: str) -> HttpResponse:
    ticket = ticket_for_agent(request, number)
    _require(request, manage=True)
    form = StatusForm(request.POST)

    def call(data: dict[str, Any]) -> Ticket:
        return services.incident_set_status(incident=ticket, actor=request.user, status=data["status"])

    _changed, refused = _run(request, ticket, "status", form, call)
    if refused:
        return refused
    messages.success(request, _("Status line changed: every reporter reads the new one."))
    return redirect("agents:ticket", number=ticket.number)


@agent_required
@require_POST
def post_update(request: HttpRequest, number: str) -> HttpResponse:
    ticket = ticket_for_agent(request, number)
    _require(request, manage=True)
    form = UpdateForm(request.POST)

    def call(data: dict[str, Any]) -> services.Audience:
        return services.incident_post_update(incident=ticket, actor=request.user, body=data["body"])

    audience, refused = _run(request, ticket, "update", form, call)
    if refused:
        return refused
    # Translators: two counts (of reports, of their requesters) in one sentence.
    posted = _(
        "Update posted on the incident and sent to %(reports)s report(s), %(requesters)s requester(s)."
    )
    messages.success(request, posted % {"reports": audience.reports, "requesters": audience.requesters})
    return redirect("agents:ticket", number=ticket.number)


@agent_required
@require_POST
def link_reports(request: HttpRequest, number: str) -> HttpResponse:
    """Link several tickets to this incident: each outcome reported, one refusal undoes no
    other link."""
    incident = ticket_for_agent(request, number)
    _require(request, manage=False)
    form = LinkReportsForm(request.POST)
    numbers, refused = _run(request, incident, "link", form, lambda data: data["numbers"])
    if refused:
        return refused
    found = {t.number: t for t in selectors.tickets_visible_to(request.user).filter(number__in=numbers)}
    linked = 0
    for wanted in numbers:
        report = found.get(wanted)
        if report is None:
            not_seen = _("#%(number)s: no such ticket among those you can see.")
            messages.error(request, not_seen % {"number": wanted})
            continue
        try:
            services.ticket_link_incident(ticket=report, actor=request.user, incident=incident)
        except (services.TicketActionError, PermissionDenied) as exc:
            # Translators: a ticket number, then why it could not be linked.
            messages.error(request, _("#%(number)s: %(error)s") % {"number": wanted, "error": exc})
        else:
            linked += 1
            messages.success(request, _("#%(number)s linked as a report.") % {"number": wanted})
    if linked:
        linked_text = _("%(linked)s of %(count)s ticket(s) linked to incident #%(incident)s.")
        messages.info(
            request, linked_text % {"linked": linked, "count": len(numbers), "incident": incident.number}
        )
    return redirect("agents:ticket", number=incident.number)


@agent_required
@require_POST
def join(request: HttpRequest, number: str) -> HttpResponse:
    """Link this ticket to an incident, named by its number."""
    ticket = ticket_for_agent(request, number)
    _require(request, manage=False)
    form = JoinForm(request.POST)

    def call(data: dict[str, Any]) -> Ticket:
        incident = selectors.tickets_visible_to(request.user).filter(number=data["incident"]).first()
        if incident is None:
            raise services.TicketActionError(
                _("No ticket #%(number)s among those you can see.") % {"number": data["incident"]}
            )
        return services.ticket_link_incident(ticket=ticket, actor=request.user, incident=incident)

    _linked, refused = _run(request, ticket, "join", form, call)
    if refused:
        return refused
    now = _("#%(number)s is now a report of incident #%(incident)s.")
    messages.success(request, now % {"number": ticket.number, "incident": ticket.incident.number})
    return redirect("agents:ticket", number=ticket.number)


@agent_required
@require_POST
def unlink(request: HttpRequest, number: str) -> HttpResponse:
    """Take this report off its incident; back to the page the agent clicked on."""
    ticket = ticket_for_agent(request, number)
    _require(request, manage=False)
    form = UnlinkForm(request.POST)
    incident = ticket.incident
    back = request.POST.get("back") == "incident" and incident is not None
    if not form.is_valid():
        messages.error(request, _("Unlink: the page was incomplete; reload it and try again."))
    else:
        try:
            services.ticket_ensure_unchanged(ticket, version=form.cleaned_data["version"])
            services.ticket_unlink_incident(ticket=ticket, actor=request.user)
        except services.TicketConflict:
            messages.error(request, conflict_message(ticket))
        except services.TicketActionError as exc:
            messages.error(request, _("Unlink: %(error)s") % {"error": exc})
        else:
            no_longer = _("#%(number)s no longer reports incident #%(incident)s.")
            messages.success(request, no_longer % {"number": ticket.number, "incident": incident.number})
    if back and selectors.ticket_visible_to(request.user, incident):
        return redirect("agents:ticket", number=incident.number)
    return redirect("agents:ticket", number=ticket.number)
