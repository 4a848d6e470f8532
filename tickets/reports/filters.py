"""Which tickets a report counts: those the user may see (``selectors.tickets_visible_to``),
narrowed by the report's filters on their current properties. The period is applied by each
figure, on the time it is about (created, first answered, resolved, a move made)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Value

from tickets import selectors
from tickets.catalog import catalog
from tickets.models import Ticket
from tickets.reports.types import Period, ReportFilters

# What a report counts rows with: a constant, so that an index holding the columns a figure
# reads is enough (COUNT(id) would read the table for each row's id).
ROWS = Value(1)


def topic_with_subtopics(topic_id: int) -> list[int]:
    """The topic and every topic under it (topics nest three deep at most), from the catalog."""
    topics = catalog().help_topics
    found = [topic_id]
    for topic in topics.values():
        parent_id = topic.parent_id
        while parent_id is not None:
            if parent_id == topic_id:
                found.append(topic.pk)
                break
            parent = topics.get(parent_id)
            parent_id = parent.parent_id if parent is not None else None
    return found


def report_tickets(user: Any, filters: ReportFilters) -> QuerySet[Ticket]:
    """The tickets ``user`` may see that match ``filters`` (each set filter narrows them)."""
    tickets = selectors.tickets_visible_to(user)
    if filters.department_id is not None:
        tickets = tickets.filter(department_id=filters.department_id)
    if filters.team_id is not None:
        tickets = tickets.filter(team_id=filters.team_id)
    if filters.agent_id is not None:
        tickets = tickets.filter(assignee_id=filters.agent_id)
    if filters.help_topic_id is not None:
        tickets = tickets.filter(help_topic_id__in=topic_with_subtopics(filters.help_topic_id))
    if filters.priority_id is not None:
        tickets = tickets.filter(priority_id=filters.priority_id)
    if filters.source:
        tickets = tickets.filter(source=filters.source)
    return tickets


def in_period(field: str, period: Period) -> dict[str, Any]:
    """``field`` within ``[period.start, period.end)``, as filter arguments."""
    return {f"{field}__gte": period.start, f"{field}__lt": period.end}
