"""Which tickets a caller may see and act on, in one place.

Agents see exactly what the console shows them (``tickets.selectors``); requesters their own
tickets; a key acts as its owner, narrowed to its department if it has one; a "create only" key
sees no ticket. A ticket the caller may not see is the same 404 as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions

from api.errors import NOT_FOUND
from tickets import selectors
from tickets.models import ApiKey, Department, Ticket


@dataclass(frozen=True)
class Caller:
    user: Any
    key: ApiKey | None

    @property
    def scope(self) -> str | None:
        return self.key.scope if self.key is not None else None

    @property
    def department(self) -> Department | None:
        return self.key.department if self.key is not None else None

    @property
    def is_integration(self) -> bool:
        """A "create only" key: it writes as the system (for requesters), never as its owner."""
        return self.scope == ApiKey.Scope.CREATE

    @property
    def is_agent(self) -> bool:
        return not self.is_integration and bool(self.user.is_active and self.user.is_staff)

    @property
    def is_requester(self) -> bool:
        return not self.is_integration and not self.user.is_staff

    @property
    def principal(self) -> str:
        """Whose Idempotency-Keys these are."""
        return f"key:{self.key.pk}" if self.key is not None else f"user:{self.user.pk}"


def caller(request: Any) -> Caller:
    return Caller(request.user, request.auth if isinstance(request.auth, ApiKey) else None)


def tickets_for(who: Caller) -> QuerySet[Ticket]:
    """The tickets this caller may read."""
    if who.is_integration:
        tickets = Ticket.objects.none()
    elif who.is_agent:
        tickets = selectors.tickets_visible_to(who.user)
    else:
        tickets = selectors.tickets_of_requester(who.user)
    if who.department is not None:
        tickets = tickets.filter(department=who.department)
    return tickets


def ticket_for(
    who: Caller, number: str, *, queryset: QuerySet[Ticket] | None = None, follow: bool = True
) -> Ticket:
    """The ticket with this number if the caller may see it; the same 404 otherwise.

    A merged ticket's number answers for the ticket it was merged into, if the caller may see
    that one (``follow=False``: the merged ticket itself)."""
    tickets = queryset if queryset is not None else tickets_for(who)
    # The small tables come from the cached catalog: joined, they cost more to plan than to run.
    tickets = tickets.select_related("requester__user", "follow_up_of", "incident")
    ticket = tickets.filter(number=number).first() if number.isdigit() else None
    if ticket is None:
        raise exceptions.NotFound(NOT_FOUND)
    if follow and ticket.merged_into_id is not None:
        survivor = tickets.filter(pk=selectors.surviving_ticket(ticket).pk).first()
        ticket = survivor if survivor is not None else ticket
    return selectors.attach_related([ticket])[0]


def ticket_for_message(who: Caller, number: str, *, email: str) -> Ticket:
    """The ticket a "create only" key may add its requester's message to: the requester has
    this address (any case) and the key's department, if it has one, holds the ticket. The
    same 404 otherwise: the key learns nothing about tickets it did not name rightly."""
    tickets = Ticket.objects.filter(requester__email__iexact=email.strip())
    if who.department is not None:
        tickets = tickets.filter(department=who.department)
    return ticket_for(who, number, queryset=tickets)
