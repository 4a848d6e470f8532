"""Merging a true duplicate from the workspace: the survivor's number, then (when the two
tickets have different requesters) a second step that names both and asks to confirm."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from agents.access import agent_required, ticket_for_agent
from agents.forms import MergeForm
from agents.views.workspace import conflict_message
from tickets import selectors, services
from tickets.models import Ticket


def _visible(request: HttpRequest, number: str) -> Ticket | None:
    tickets = selectors.tickets_visible_to(request.user).select_related("requester")
    return tickets.filter(number=number).first()



def _merge_refused(error: str) -> str:
    # Translators: why a merge was refused.
    return _("Merge: %(error)s") % {"error": error}


@agent_required
@require_POST
def merge_ticket(request: HttpRequest, number: str) -> HttpResponse:
    ticket = ticket_for_agent(request, number)
    form = MergeForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, _merge_refused(errors))
        return redirect("agents:ticket", number=ticket.number)
    data = form.cleaned_data
    into = _visible(request, data["into"])
    if into is None:
        messages.error(
            request, _("Merge: there is no ticket #%(number)s that you can see.") % {"number": data["into"]}
        )
        return redirect("agents:ticket", number=ticket.number)
    try:
        services.ticket_ensure_unchanged(ticket, version=data["version"])
        done = services.ticket_merge(
            ticket=ticket, into=into, actor=request.user, confirm_other_requester=data["confirm"]
        )
    except services.TicketConflict:
        messages.error(request, conflict_message(ticket))
    except services.MergeNeedsConfirmation as exc:
        context = {"ticket": ticket, "into": into, "question": str(exc), "version": data["version"]}
        return render(request, "agents/merge_confirm.html", context)
    except services.TicketActionError as exc:
        messages.error(request, _merge_refused(str(exc)))
    else:
        entries = ngettext("%(count)s entry", "%(count)s entries", done.entries) % {"count": done.entries}
        files = ngettext("%(count)s file", "%(count)s files", done.files) % {"count": done.files}
        # Translators: "entries" is "3 entries", "files" is "2 files", each translated on its own.
        text = _("#%(number)s merged into #%(into)s: %(entries)s, %(files)s moved.")
        messages.success(
            request,
            text % {"number": ticket.number, "into": into.number, "entries": entries, "files": files},
        )
        return redirect("agents:ticket", number=into.number)
    return redirect("agents:ticket", number=ticket.number)
