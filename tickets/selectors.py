"""The reads the portal, the console and the services need, with who-sees-what in one place.

Every list is one query (or a fixed few) whatever the number of tickets: related rows come
with ``select_related``, counts come from one aggregate.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from tickets.models import (
    ACTIVE_STATES,
    AgentProfile,
    HelpTopic,
    State,
    ThreadEntry,
    Ticket,
    TicketTransition,
)

LIST_RELATED = (
    "requester",
    "help_topic__parent",
    "department",
    "team",
    "assignee",
    "priority",
    "sla",
)


def _agent_scope(user: Any) -> Q | None:
    """The tickets an agent may see, as a filter; None means all of them."""
    if user.has_perm("tickets.view_all_tickets"):
        return None
    memberships = AgentProfile.objects.filter(user_id=user.pk)
    return (
        Q(department__in=memberships.values("departments"))
        | Q(team__in=memberships.values("teams"))
        | Q(assignee_id=user.pk)
    )


def tickets_visible_to(user: Any) -> QuerySet[Ticket]:
    """Tickets an agent may see: their departments', their teams', and those assigned to them.

    Non-staff users and inactive accounts see none here (requesters use ``tickets_of_requester``);
    a staff user with no department or team sees only what is assigned to them.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff) or not user.has_perm(
        "tickets.view_ticket"
    ):
        return Ticket.objects.none()
    scope = _agent_scope(user)
    tickets = Ticket.objects.exclude(state=State.NEW)
    return tickets if scope is None else tickets.filter(scope)


def ticket_visible_to(user: Any, ticket: Ticket) -> bool:
    """May this user (agent, or the requester's own account) see this ticket?"""
    if not (user.is_authenticated and user.is_active):
        return False
    if ticket.requester.user_id == user.pk:
        return True
    return tickets_visible_to(user).filter(pk=ticket.pk).exists()


def ticket_get_for_agent(user: Any, pk: int) -> Ticket | None:
    return tickets_visible_to(user).select_related(*LIST_RELATED).filter(pk=pk).first()


def ticket_list_for_agent(user: Any, *, state: str | None = None) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(user).select_related(*LIST_RELATED)
    return tickets.filter(state=state) if state else tickets


def tickets_of_requester(user: Any) -> QuerySet[Ticket]:
    """A requester's own tickets, newest activity first."""
    if not (user.is_authenticated and user.is_active):
        return Ticket.objects.none()
    return Ticket.objects.filter(requester__user_id=user.pk).select_related("help_topic__parent")


def queue_counts(user: Any) -> dict[str, int]:
    """The console's queue sizes for this agent, in one query."""
    visible = tickets_visible_to(user)
    unassigned = Q(state=State.OPEN)
    return visible.aggregate(
        unassigned=Count("pk", filter=unassigned),
        mine=Count("pk", filter=Q(assignee_id=user.pk, state__in=ACTIVE_STATES)),
        awaiting_user=Count("pk", filter=Q(state=State.AWAITING_USER)),
        escalated=Count("pk", filter=Q(state=State.ESCALATED)),
        resolved=Count("pk", filter=Q(state=State.RESOLVED)),
        closed=Count("pk", filter=Q(state=State.CLOSED)),
        all=Count("pk"),
    )


def thread_for_agent(ticket: Ticket) -> QuerySet[ThreadEntry]:
    return ticket.thread.select_related("author").prefetch_related("attachments")


def thread_for_requester(ticket: Ticket) -> QuerySet[ThreadEntry]:
    """What the requester may read: public entries only, never internal notes or events."""
    return ticket.thread.filter(is_public=True).prefetch_related("attachments")


def transitions_of(ticket: Ticket) -> QuerySet[TicketTransition]:
    return ticket.transitions.select_related("actor")


def help_topics_public() -> list[HelpTopic]:
    """Active public topics, named with their parents ("Report a Problem / Access Issue")."""
    topics = HelpTopic.objects.filter(is_active=True, is_public=True).select_related("parent__parent")
    return sorted(topics, key=lambda topic: topic.full_name.lower())
