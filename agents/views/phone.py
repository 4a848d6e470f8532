"""A ticket for a phone call: the agent finds or creates the requester, then normal intake."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agents.access import agent_required
from agents.forms import PhoneTicketForm
from agents.views.queues import sidebar
from tickets import selectors, services
from tickets.models import Ticket


@agent_required
def new_ticket(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("tickets.work_ticket"):
        raise PermissionDenied("You may not open tickets.")
    form = PhoneTicketForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            requester, ticket = services.ticket_create_for_contact(
                email=data["email"],
                name=data["name"],
                phone=data["phone"],
                subject=data["subject"],
                body=data["body"],
                help_topic=data["help_topic"],
                source=Ticket.Source.PHONE,
                actor=request.user,
                attachments=data["attachments"],
            )
        except services.TicketActionError as exc:
            form.add_error(None, str(exc))
        else:
            opened = _("Ticket #%(number)s opened for %(name)s.")
            messages.success(request, opened % {"number": ticket.number, "name": requester.name})
            if selectors.ticket_visible_to(request.user, ticket):
                return redirect("agents:ticket", number=ticket.number)
            elsewhere = _("It went to %(department)s, whose tickets you cannot see.")
            messages.info(request, elsewhere % {"department": ticket.department})
            return redirect("agents:home")
    return render(request, "agents/new_ticket.html", {"form": form, "queues": sidebar(request.user)})
