"""Which form of a ticket a caller reads: agents the agent form, requesters the requester form,
both with the thread, the log and their allowed transitions in a detail; integrations the
requester form only (they read nothing but what they wrote)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from api.access import Caller
from api.serializers import tickets as shown
from tickets import linked, selectors, services
from tickets.models import ApiKey, State, Ticket

REQUESTER_MOVES = ("close", "reopen")


def reload(ticket: Ticket) -> Ticket:
    """The ticket as it is now, with what its representation shows (after a write, which may
    have moved it out of the caller's sight: they are answered with what they did)."""
    fresh = Ticket.objects.select_related("requester__user", "follow_up_of", "incident").get(pk=ticket.pk)
    return selectors.attach_related([fresh])[0]


def etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def allowed_transitions(who: Caller, ticket: Ticket) -> list[str]:
    if who.scope == ApiKey.Scope.READ or who.is_integration:
        return []
    if who.is_agent:
        return [action.name for action in services.available_actions(ticket=ticket, actor=who.user)]
    return list(REQUESTER_MOVES) if ticket.state == State.RESOLVED else []


def ticket_data(who: Caller, ticket: Ticket) -> dict[str, Any]:
    serializer = shown.AgentTicketSerializer if who.is_agent else shown.TicketSerializer
    return serializer(ticket).data


def detail_data(who: Caller, ticket: Ticket) -> dict[str, Any]:
    if who.is_integration:
        return ticket_data(who, ticket)
    if who.is_agent:
        thread, serializer = selectors.thread_for_agent(ticket), shown.AgentTicketDetailSerializer
    else:
        thread, serializer = selectors.thread_for_requester(ticket), shown.TicketDetailSerializer
    detail = shown.Detail(
        thread=list(thread),
        transitions=list(selectors.transitions_of(ticket)),
        allowed=allowed_transitions(who, ticket),
        reports_count=(
            linked.incident_report_count(ticket) if who.is_agent and ticket.is_major_incident else None
        ),
    )
    return serializer(shown.with_detail(ticket, detail)).data


def detail_response(who: Caller, ticket: Ticket, *, status: int = 200, **headers: str) -> Response:
    return Response(detail_data(who, ticket), status=status, headers={"ETag": etag(ticket), **headers})
