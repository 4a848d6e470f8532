"""The lifecycle buttons of the workspace: one view, one form and one service per action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agents.access import agent_required, ticket_for_agent
from agents.forms import AssignForm, EscalateForm, MessageForm, ReasonForm, VersionForm
from agents.views.workspace import conflict_message
from tickets import selectors, services
from tickets.models import Ticket


def _assign(ticket: Ticket, actor: Any, data: dict[str, Any]) -> object:
    return services.ticket_assign(
        ticket=ticket, actor=actor, agent=data["agent"], team=data["team"], department=data["department"]
    )


def _escalate(ticket: Ticket, actor: Any, data: dict[str, Any]) -> object:
    return services.ticket_escalate(
        ticket=ticket, actor=actor, summary=data["summary"], team=data["team"], department=data["department"]
    )


# name -> (form, service call, message on success)
ACTIONS: dict[str, tuple[type[forms.Form], Callable[[Ticket, Any, dict[str, Any]], object], str]] = {
    "assign": (AssignForm, _assign, gettext_lazy("Assigned.")),
    "claim": (
        VersionForm,
        lambda t, a, d: services.ticket_claim(ticket=t, actor=a),
        gettext_lazy("The ticket is yours."),
    ),
    "start_work": (
        VersionForm,
        lambda t, a, d: services.ticket_start_work(ticket=t, actor=a),
        gettext_lazy("Work started."),
    ),
    "request_info": (
        MessageForm,
        lambda t, a, d: services.ticket_request_info(ticket=t, actor=a, message=d["message"]),
        gettext_lazy("Question sent; the ticket waits for the requester."),
    ),
    "escalate": (EscalateForm, _escalate, gettext_lazy("Escalated.")),
    "resolve": (
        MessageForm,
        lambda t, a, d: services.ticket_resolve(ticket=t, actor=a, message=d["message"]),
        gettext_lazy("Resolved; the requester is asked to confirm."),
    ),
    "reopen": (
        ReasonForm,
        lambda t, a, d: services.ticket_reopen(ticket=t, actor=a, reason=d["reason"]),
        gettext_lazy("Reopened."),
    ),
    "close": (
        ReasonForm,
        lambda t, a, d: services.ticket_close(ticket=t, actor=a, reason=d["reason"]),
        gettext_lazy("Closed."),
    ),
    "cancel": (
        ReasonForm,
        lambda t, a, d: services.ticket_cancel(ticket=t, actor=a, reason=d["reason"]),
        gettext_lazy("Cancelled."),
    ),
}



def _refused(name: str, error: str) -> str:
    # Translators: an action's name ("Resolve", "Escalate"), then why it was refused.
    return _("%(action)s: %(error)s") % {"action": services.ACTION_LABELS[name], "error": error}


@agent_required
@require_POST
def run_action(request: HttpRequest, number: str, name: str) -> HttpResponse:
    if name not in ACTIONS:
        raise Http404("No such action.")
    ticket = ticket_for_agent(request, number)
    form_class, call, done = ACTIONS[name]
    kwargs = {"ticket": ticket} if form_class is EscalateForm else {}
    form = form_class(request.POST, **kwargs)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, _refused(name, errors))
        return redirect("agents:ticket", number=ticket.number)
    try:
        services.ticket_ensure_unchanged(ticket, version=form.cleaned_data["version"])
        call(ticket, request.user, form.cleaned_data)
    except services.TicketConflict:
        messages.error(request, conflict_message(ticket))
    except services.TicketActionError as exc:
        messages.error(request, _refused(name, str(exc)))
    else:
        messages.success(request, str(done))
        if not selectors.ticket_visible_to(request.user, ticket):
            messages.info(
                request, _("#%(number)s has left the tickets you can see.") % {"number": ticket.number}
            )
            return redirect("agents:home")
    return redirect("agents:ticket", number=ticket.number)
