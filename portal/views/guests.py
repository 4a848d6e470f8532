"""Ways in without an account: "Check Ticket Status" and the signed links it mails."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from portal import access
from portal.forms import StatusForm
from tickets import links, throttle
from tickets.mailout import tasks
from tickets.models import Ticket


def check_status(request: HttpRequest) -> HttpResponse:
    """E-mail + number: the same answer whether or not they match; a link goes by mail."""
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, number = form.cleaned_data["email"], form.cleaned_data["number"]
        limit, window = settings.THROTTLE_MAIL_REQUESTS
        by_ip = throttle.allow("status-ip", throttle.client_ip(request), limit=limit * 4, window=window)
        by_mail = throttle.allow("status-email", email, limit=limit, window=window)
        if not (by_ip and by_mail):
            form.add_error(None, _("Too many requests in a short time. Please wait an hour and try again."))
            return render(request, "portal/check_status.html", {"form": form}, status=429)
        ticket = Ticket.objects.filter(number=number, requester__email__iexact=email).first()
        if ticket is not None:
            ticket_id = ticket.pk
            transaction.on_commit(lambda: tasks.send_ticket_link.delay(ticket_id))
        return render(request, "portal/check_status_sent.html", {"email": email})
    return render(request, "portal/check_status.html", {"form": form})


def ticket_link(request: HttpRequest, token: str) -> HttpResponse:
    # The ticket the link names is granted, merged or not (a merged one's page leads on to its
    # survivor and grants that too, remembering whose link it was: portal.access.guest_author).
    ticket = links.ticket_named_by(token)
    if ticket is None:
        return render(request, "portal/link_invalid.html", status=404)
    access.grant(request, ticket)
    page = reverse("portal:ticket", kwargs={"number": ticket.number})
    anchor = links.THEN.get(request.GET.get("then", ""))
    return redirect(f"{page}#{anchor}" if anchor else page)
