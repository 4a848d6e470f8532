"""The reads the portal, the console and the services need, with who-sees-what in one place.

Every list is one query (or a fixed few) whatever the number of tickets: related rows come
with ``select_related``, counts come from one aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from tickets.models import (
    ACTIVE_STATES,
    AgentProfile,
    Attachment,
    CannedResponse,
    Department,
    HelpTopic,
    InboundMessage,
    Priority,
    Requester,
    SLAPlan,
    State,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
    display_name,
)

LIST_RELATED = (
    "requester",
    "help_topic__parent__parent",
    "department",
    "team",
    "assignee",
    "priority",
    "sla",
)


Memberships = tuple[list[int], list[int]]


def _agent_scope(user: Any, memberships: Memberships | None = None) -> Q | None:
    """The tickets an agent may see, as a filter; None means all of them."""
    if user.has_perm("tickets.view_all_tickets"):
        return None
    departments, teams = memberships or _memberships(user)
    # Literal id lists, not subqueries: PostgreSQL estimates `department_id IN (1)` from the
    # column's statistics, while for a subquery it guesses a handful of rows and then joins
    # and sorts every ticket of a big department to show one page (bench/README.md).
    return Q(department_id__in=departments) | Q(team_id__in=teams) | Q(assignee_id=user.pk)


def _memberships(user: Any) -> Memberships:
    """The agent's department and team ids (one query)."""
    rows = AgentProfile.objects.filter(user_id=user.pk).values_list("departments", "teams")
    return (
        sorted({d for d, _ in rows if d is not None}),
        sorted({t for _, t in rows if t is not None}),
    )


def tickets_visible_to(user: Any, *, memberships: Memberships | None = None) -> QuerySet[Ticket]:
    """Tickets an agent may see: their departments', their teams', and those assigned to them.

    Non-staff users and inactive accounts see none here (requesters use ``tickets_of_requester``);
    a staff user with no department or team sees only what is assigned to them.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff) or not user.has_perm(
        "tickets.view_ticket"
    ):
        return Ticket.objects.none()
    scope = _agent_scope(user, memberships)
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


# -- the console's queues -----------------------------------------------------------------------

# Closed tickets pile up for ever; their count is only exact up to here ("10000+" beyond).
COUNT_CAP = 10_000

QUEUES: dict[str, str] = {
    "unassigned": "Unassigned",
    "mine": "My tickets",
    "teams": "My teams",
    "awaiting_user": "Awaiting user",
    "escalated": "Escalated",
    "overdue": "Overdue",
    "resolved": "Resolved",
    "closed": "Closed",
    "all": "All I can see",
}


def _overdue(now: Any) -> Q:
    return Q(state__in=ACTIVE_STATES) & (Q(resolution_due__lt=now) | Q(first_response_due__lt=now))


def queue_filter(user: Any, queue: str, *, now: Any = None, memberships: Memberships | None = None) -> Q:
    """Which of the tickets an agent can see belong to a queue."""
    now = now or timezone.now()
    if queue == "teams":
        return Q(team_id__in=(memberships or _memberships(user))[1], state__in=ACTIVE_STATES)
    return {
        "unassigned": Q(state=State.OPEN),
        "mine": Q(assignee_id=user.pk, state__in=ACTIVE_STATES),
        "awaiting_user": Q(state=State.AWAITING_USER),
        "escalated": Q(state=State.ESCALATED),
        "overdue": _overdue(now),
        "resolved": Q(state=State.RESOLVED),
        "closed": Q(state=State.CLOSED),
        "all": Q(),
    }[queue]


def queue_counts(user: Any) -> dict[str, int]:
    """The console's queue sizes for this agent, in two queries whatever the number of tickets.

    The working queues are counted exactly over the open tickets (an index on state keeps
    that small); closed tickets are counted up to ``COUNT_CAP`` (a value above the cap means
    "more than").
    """
    memberships = _memberships(user)
    visible = tickets_visible_to(user, memberships=memberships)
    now = timezone.now()
    counts = visible.filter(state__in=[*ACTIVE_STATES, State.RESOLVED]).aggregate(
        **{
            key: Count("pk", filter=queue_filter(user, key, now=now, memberships=memberships))
            for key in QUEUES
            if key not in ("closed", "all")
        },
        working=Count("pk"),
    )
    counts["closed"] = visible.filter(state=State.CLOSED).order_by()[: COUNT_CAP + 1].count()
    counts["all"] = counts.pop("working") + counts["closed"]
    return counts


@dataclass(frozen=True)
class QueueFilters:
    """The console's filters; None means "any"."""

    department: int | None = None
    team: int | None = None
    agent: int | None = None
    priority: int | None = None
    state: str | None = None
    help_topic: int | None = None
    source: str | None = None
    search: str = ""


SORTS: dict[str, tuple[str, list[Any]]] = {
    "activity": ("Last activity, newest first", [F("last_activity_at").desc(), F("id").desc()]),
    "oldest": ("Last activity, oldest first", [F("last_activity_at").asc(), F("id").asc()]),
    "due": ("SLA due, soonest first", [F("resolution_due").asc(nulls_last=True), F("id").asc()]),
    "priority": (
        "Priority, most urgent first",
        [F("priority__rank").desc(nulls_last=True), F("last_activity_at").desc(), F("id").desc()],
    ),
    "number": ("Number, newest first", [F("id").desc()]),
}


# Each sort's keys as (field, descending), in SORTS' order: a page of the API starts right
# after the last row of the one before (keyset pagination), so a deep page costs what the
# first one does. Fields in NULLS_LAST are sorted with their empty values last.
SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    "activity": (("last_activity_at", True), ("id", True)),
    "oldest": (("last_activity_at", False), ("id", False)),
    "due": (("resolution_due", False), ("id", False)),
    "priority": (("priority__rank", True), ("last_activity_at", True), ("id", True)),
    "number": (("id", True),),
}
NULLS_LAST = frozenset({"resolution_due", "priority__rank"})


def sort_position(ticket: Ticket, sort: str) -> list[Any]:
    """The ticket's values of the sort's keys (related rows as loaded: no query)."""
    values = []
    for field, _ in SORT_KEYS[sort]:
        value: Any = ticket
        for part in field.split("__"):
            value = getattr(value, part) if value is not None else None
        values.append(value)
    return values


def tickets_after(tickets: QuerySet[Ticket], sort: str, position: list[Any]) -> QuerySet[Ticket]:
    """The tickets that come after ``position`` (from ``sort_position``) in this sort."""
    keys = SORT_KEYS[sort]
    after = Q(pk__in=[])
    for i, (field, descending) in enumerate(keys):
        value = position[i]
        if value is None:
            continue  # empty values come last: nothing is after one but its equals
        step = Q(**{f"{field}__{'lt' if descending else 'gt'}": value})
        if field in NULLS_LAST:
            step |= Q(**{f"{field}__isnull": True})
        for (before, _), equal in zip(keys[:i], position[:i], strict=True):
            step &= Q(**{f"{before}__isnull": True}) if equal is None else Q(**{before: equal})
        after |= step
    return tickets.filter(after)


def _search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Number, subject, requester or any thread text (notes too: only agents search).

    On PostgreSQL the subject and thread are matched with full-text search over GIN
    indexes (migration 0002); SQLite, the embedded default, matches substrings. Each kind
    of match is its own list of ids, answered by its own index, and the queue keeps the
    tickets in their union: an OR across joined tables would let PostgreSQL use none of
    the indexes and compute the text vector of every visible ticket.
    """
    text = text.strip()[:200]
    if not text:
        return tickets
    people = Requester.objects.filter(Q(email__iexact=text) | Q(name__icontains=text)).values("pk")
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="simple", search_type="websearch")
        subjects = Ticket.objects.annotate(fts=SearchVector("subject", config="simple")).filter(fts=query)
        bodies = ThreadEntry.objects.annotate(fts=SearchVector("body", config="simple")).filter(fts=query)
    else:
        subjects = Ticket.objects.filter(subject__icontains=text)
        bodies = ThreadEntry.objects.filter(body__icontains=text)
    matches = [
        subjects.order_by().values("pk"),
        bodies.order_by().values("ticket_id"),
        Ticket.objects.filter(requester__in=people).order_by().values("pk"),
    ]
    number = text.lstrip("#")
    if number.isdigit():
        matches.append(Ticket.objects.filter(number=number).order_by().values("pk"))
    return tickets.filter(pk__in=matches[0].union(*matches[1:], all=True))


def ticket_queue(
    user: Any, *, queue: str = "all", filters: QueueFilters = QueueFilters(), sort: str = "activity"
) -> QuerySet[Ticket]:
    """One queue of the console, filtered, searched and sorted; slice it for a page.

    Only the requester is joined; the small tables (topics, departments, teams, agents,
    priorities, plans) come with one short query each for the page's rows. With all of them
    joined PostgreSQL spent longer planning each queue query than running it, and past eight
    joins it stops reordering them (bench/README.md).
    """
    memberships = _memberships(user)
    tickets = (
        tickets_visible_to(user, memberships=memberships)
        .filter(queue_filter(user, queue, memberships=memberships))
        .select_related("requester")
        .prefetch_related(*(name for name in LIST_RELATED if name != "requester"))
    )
    for field in ("department", "team", "priority", "help_topic"):
        value = getattr(filters, field)
        if value is not None:
            tickets = tickets.filter(**{f"{field}_id": value})
    if filters.agent is not None:
        tickets = tickets.filter(assignee_id=filters.agent)
    if filters.state:
        tickets = tickets.filter(state=filters.state)
    if filters.source:
        tickets = tickets.filter(source=filters.source)
    tickets = _search(tickets, filters.search)
    return tickets.order_by(*SORTS.get(sort, SORTS["activity"])[1])


@dataclass(frozen=True)
class FilterChoices:
    departments: list[Department]
    teams: list[Team]
    agents: list[Any]
    priorities: list[Priority]
    help_topics: list[HelpTopic]
    sla_plans: list[SLAPlan]


def console_choices() -> FilterChoices:
    """The options of the console's filters and property fields (a few small tables)."""
    agents = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("first_name", "username")
    topics = HelpTopic.objects.filter(is_active=True).select_related("parent__parent")
    return FilterChoices(
        departments=list(Department.objects.order_by("name")),
        teams=list(Team.objects.filter(is_active=True).order_by("name")),
        agents=list(agents),
        priorities=list(Priority.objects.order_by("-rank")),
        help_topics=sorted(topics, key=lambda topic: topic.full_name.lower()),
        sla_plans=list(SLAPlan.objects.filter(is_active=True).order_by("name")),
    )


def canned_responses_for(ticket: Ticket) -> QuerySet[CannedResponse]:
    """Active canned responses for the ticket's department, and those for every department."""
    return CannedResponse.objects.filter(
        Q(department__isnull=True) | Q(department_id=ticket.department_id), is_active=True
    ).order_by("title")


def thread_for_agent(ticket: Ticket) -> QuerySet[ThreadEntry]:
    """Every entry, each with ``email_id``: the stored e-mail it came from, if any (the agent
    may download the original, whose quoted history the entry leaves out)."""
    from_mail = InboundMessage.objects.filter(entry=OuterRef("pk")).order_by("pk").values("pk")[:1]
    return (
        ticket.thread.select_related("author")
        .prefetch_related("attachments")
        .annotate(email_id=Subquery(from_mail))
    )


def original_email(ticket: Ticket, pk: int) -> InboundMessage | None:
    """A stored e-mail of this ticket (None for another ticket's)."""
    return InboundMessage.objects.filter(pk=pk, ticket=ticket).first()


def thread_for_requester(ticket: Ticket) -> QuerySet[ThreadEntry]:
    """What the requester may read: public entries only, never internal notes or events."""
    return ticket.thread.filter(is_public=True).prefetch_related("attachments")


def attachment_of(ticket: Ticket, pk: int, *, public_only: bool) -> Attachment | None:
    """A file of this ticket's thread (of its public entries only, for the requester)."""
    files = Attachment.objects.filter(pk=pk, entry__ticket=ticket)
    return (files.filter(entry__is_public=True) if public_only else files).first()


def transitions_of(ticket: Ticket) -> QuerySet[TicketTransition]:
    return ticket.transitions.select_related("actor")


def priorities() -> list[Priority]:
    """Every priority, most urgent first."""
    return list(Priority.objects.order_by("-rank"))


def help_topics_public() -> list[HelpTopic]:
    """Active public topics, named with their parents ("Report a Problem / Access Issue")."""
    topics = HelpTopic.objects.filter(is_active=True, is_public=True).select_related("parent__parent")
    return sorted(topics, key=lambda topic: topic.full_name.lower())


CANNED_PLACEHOLDERS = ("requester_name", "ticket_number", "subject", "agent_name")


def canned_response_text(response: CannedResponse, *, ticket: Ticket, agent: Any) -> str:
    """The response with its placeholders filled in (plain replacement: no template code)."""
    values = {
        "requester_name": ticket.requester.name,
        "ticket_number": ticket.number or "",
        "subject": ticket.subject,
        "agent_name": display_name(agent),
    }
    text = response.body
    for key in CANNED_PLACEHOLDERS:
        text = text.replace("{" + key + "}", values[key])
    return text
