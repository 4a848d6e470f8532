"""Related tickets from a ticket's page: relate another ticket by its number, or take a link back
(``tickets.services.related``). A link changes neither ticket, so no version is checked; a role
that may not link gets 403 from the service's refusal."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agents.access import agent_required, ticket_for_agent
from agents.incident_forms import ticket_number
from tickets import selectors, services


@agent_required
@require_POST
def related(request: HttpRequest, number: str) -> HttpResponse:
    """``other``: a ticket number; ``remove`` set: take the link back, else make it."""
    ticket = ticket_for_agent(request, number)
    wanted = ticket_number(request.POST.get("other", ""))
    remove = bool(request.POST.get("remove"))
    back = redirect("agents:ticket", number=ticket.number)
    if wanted is None:
        messages.error(request, _("Related ticket: give a ticket number, such as 100042."))
        return back
    other = selectors.tickets_visible_to(request.user).filter(number=wanted).first()
    if other is None:
        messages.error(
            request, _("Related ticket: no ticket #%(number)s among those you can see.") % {"number": wanted}
        )
        return back
    try:
        if remove:
            services.ticket_unrelate(ticket=ticket, other=other, actor=request.user)
        else:
            services.ticket_relate(ticket=ticket, other=other, actor=request.user)
    except services.TicketActionError as exc:
        messages.error(request, _("Related ticket: %(error)s") % {"error": exc})
    else:
        if remove:
            done = _("#%(number)s is no longer related to this ticket.")
        else:
            done = _("#%(number)s is now related to this ticket.")
        messages.success(request, done % {"number": other.number})
    return back
