"""Who may see a ticket in the portal, in one place.

A ticket opens for the requester's own account, or for a browser session that was granted
it: by opening the ticket as a guest, or by following a signed link from an e-mail. Anyone
else gets the same 404 as for a ticket that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from tickets import selectors
from tickets.models import Ticket

SESSION_KEY = "portal_tickets"
MAX_GRANTS = 50
# Shown in the log when a requester acts without an account, through a granted session.
LINK_RULE = "requester via ticket link"


def grant(request: HttpRequest, ticket: Ticket) -> None:
    granted = [pk for pk in request.session.get(SESSION_KEY, []) if pk != ticket.pk]
    request.session[SESSION_KEY] = [ticket.pk, *granted][:MAX_GRANTS]


def _granted(request: HttpRequest, ticket: Ticket) -> bool:
    return ticket.pk in request.session.get(SESSION_KEY, [])


def is_requester(request: HttpRequest, ticket: Ticket) -> bool:
    """The requester's account, or the account of a ticket's requester merged into this one
    (asked only when the first is not so: one query then)."""
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return False
    return ticket.requester.user_id == user.pk or selectors.requester_merged_into(user, ticket)


def ticket_for_viewer(request: HttpRequest, number: str) -> Ticket:
    """The ticket with this number if this viewer may see it, else 404. A merged ticket's
    viewer gets the ticket it was merged into (a guest's session is granted it): the caller
    redirects to the number of the ticket it gets when that is another."""
    ticket = (
        # ``incident``: the status line of the incident a report belongs to, in the same query.
        Ticket.objects.select_related("requester", "help_topic__parent", "team", "follow_up_of", "incident")
        .filter(number=number)
        .first()
    )
    if ticket is None or not (is_requester(request, ticket) or _granted(request, ticket)):
        raise Http404("No such ticket.")
    if ticket.merged_into_id is not None:
        survivor = selectors.surviving_ticket(ticket)
        if not is_requester(request, survivor):
            grant(request, survivor)
        return survivor
    return ticket


def guest_author(request: HttpRequest, ticket: Ticket) -> str | None:
    """Who a guest writes as when their session holds a ticket of another requester's that was
    merged into this one (they followed its link): that ticket's requester. None otherwise."""
    if is_requester(request, ticket):
        return None
    granted = [pk for pk in request.session.get(SESSION_KEY, []) if pk != ticket.pk]
    if not granted:
        return None
    merged = (
        Ticket.objects.filter(merged_into=ticket, pk__in=granted)
        .exclude(requester_id=ticket.requester_id)
        .select_related("requester")
        .first()
    )
    return merged.requester.name if merged is not None else None


def acting_as(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """The actor arguments for a service call made by this viewer of the ticket."""
    if is_requester(request, ticket):
        return {"actor": request.user}
    return {"actor": None, "system_rule": LINK_RULE}
