"""The reads of tickets linked to others: a major incident and its reports, related tickets.

Like ``tickets.selectors`` (whose visibility rules they use), each is one query whatever the
number of tickets linked.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy

from tickets.models import ACTIVE_STATES, RelatedLink, State, Ticket
from tickets.selectors import tickets_visible_to

# -- major incidents -------------------------------------------------------------------------

# What a reporter reads while their incident has no status line of its own.
DEFAULT_INCIDENT_STATUS = gettext_lazy("We know about this problem and are working on it.")


def incident_public_status(ticket: Ticket) -> str:
    """The status line a reporter reads on their ticket: its incident's, or the default; "" for
    a ticket that reports no incident."""
    incident = ticket.incident
    if incident is None:
        return ""
    return incident.incident_status or str(DEFAULT_INCIDENT_STATUS)


def incident_reports(incident: Ticket, *, limit: int) -> tuple[list[Ticket], dict[str, int]]:
    """The newest ``limit`` reports of an incident and the number of its reports in each state:
    two queries whatever their number (the workspace's panel)."""
    rows = list(
        Ticket.objects.filter(incident=incident)
        .select_related("requester")
        .order_by("-created_at", "-id")[:limit]
    )
    counts = dict(
        Ticket.objects.filter(incident=incident).order_by().values_list("state").annotate(n=Count("id"))
    )
    return rows, counts


def incident_report_count(incident: Ticket) -> int:
    """How many reports are linked to an incident, in any state (one query)."""
    return Ticket.objects.filter(incident=incident).count()


def incident_reports_resolved_with(incident: Ticket) -> int:
    """How many reports were resolved by the incident's resolution (at the same moment; one query)."""
    if incident.resolved_at is None:
        return 0
    return Ticket.objects.filter(
        incident=incident, state=State.RESOLVED, resolved_at=incident.resolved_at
    ).count()


# -- related tickets -------------------------------------------------------------------------


def related_tickets(ticket: Ticket, user: Any) -> list[Ticket]:
    """The tickets related to ``ticket`` that ``user`` sees, oldest first (one query)."""
    upward = RelatedLink.objects.filter(ticket=ticket).values("other_id")
    downward = RelatedLink.objects.filter(other=ticket).values("ticket_id")
    return list(
        tickets_visible_to(user)
        .filter(Q(pk__in=upward) | Q(pk__in=downward))
        .select_related("requester")
        .order_by("created_at", "id")
    )


def incidents_active_for(user: Any, *, limit: int) -> list[Ticket]:
    """The active major incidents this agent sees, newest first: the console's suggestions of
    an incident to link a ticket to (one query)."""
    return list(
        tickets_visible_to(user)
        .filter(is_major_incident=True, state__in=ACTIVE_STATES)
        .order_by("-created_at", "-id")[:limit]
    )


def incident_numbers(tickets: list[Ticket]) -> dict[int, str]:
    """The numbers of the incidents these tickets report, by the incident's id, for a queue's
    "↳ #N" marks: one query, none when no ticket on the page reports one."""
    ids = {ticket.incident_id for ticket in tickets if ticket.incident_id}
    if not ids:
        return {}
    return dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "number"))
