"""The reads the portal, the console and the services need, with who-sees-what in one place.

Every list is one query (or a fixed few) whatever the number of tickets: related rows come
with ``select_related``, counts come from one aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from tickets.catalog import attach_related, catalog
from tickets.models import (
    ACTIVE_STATES,
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


def scope_of_agent(user: Any) -> tuple[list[int], list[int]] | tuple[None, None]:
    """Whose tickets an agent sees besides those assigned to them: their departments' and
    their teams' (sorted ids), or (None, None) for every ticket. No query."""
    if user.has_perm("tickets.view_all_tickets"):
        return None, None
    departments, teams = _memberships(user)
    return sorted(departments), sorted(teams)


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
    """The agent's department and team ids (from the cached catalog: no query)."""
    return catalog().memberships.get(user.pk, ([], []))


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
    return tickets_visible_to(user).filter(pk=ticket.pk).exists() or requester_merged_into(user, ticket)


def ticket_get_for_agent(user: Any, pk: int) -> Ticket | None:
    return tickets_visible_to(user).select_related(*LIST_RELATED).filter(pk=pk).first()


def ticket_list_for_agent(user: Any, *, state: str | None = None) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(user).select_related(*LIST_RELATED)
    return tickets.filter(state=state) if state else tickets


def tickets_of_requester(user: Any) -> QuerySet[Ticket]:
    """A requester's own tickets, and another requester's that a ticket of theirs was merged into
    (its thread is there now).

    Those are rare, and found first by one small query (the requester's merged tickets): without
    them the filter stays the requester's alone, which one index answers in activity order at
    any size; an OR with a subquery would have the database read every ticket."""
    if not (user.is_authenticated and user.is_active):
        return Ticket.objects.none()
    own = Q(requester__user_id=user.pk)
    elsewhere = list(
        Ticket.objects.filter(own, merged_into__isnull=False)
        .exclude(merged_into__requester_id=F("requester_id"))
        .values_list("merged_into_id", flat=True)
    )
    wanted = own | Q(pk__in=elsewhere) if elsewhere else own
    return Ticket.objects.filter(wanted).select_related("help_topic__parent")


def requester_merged_into(user: Any, ticket: Ticket) -> bool:
    """Was a ticket of this user's (as its requester) merged into ``ticket``? One query."""
    if not (user.is_authenticated and user.is_active):
        return False
    return Ticket.objects.filter(merged_into_id=ticket.pk, requester__user_id=user.pk).exists()


# A merge points every ticket merged into the one it closes at its own survivor, so a chain is
# one step; older chains are followed this far.
MERGE_CHAIN_LIMIT = 10


def surviving_ticket(ticket: Ticket) -> Ticket:
    """The ticket a merged ticket's number leads to (itself when it was not merged): its thread,
    files and contacts are there. Follows a chain (A into B, B into C) at most
    ``MERGE_CHAIN_LIMIT`` steps, one query each; no query for a ticket that was not merged."""
    for _ in range(MERGE_CHAIN_LIMIT):
        if ticket.merged_into_id is None:
            break
        survivor = (
            Ticket.objects.select_related("requester", "help_topic__parent", "team", "follow_up_of")
            .filter(pk=ticket.merged_into_id)
            .first()
        )
        if survivor is None:
            break
        ticket = survivor
    return ticket


# -- the console's queues -----------------------------------------------------------------------

# A queue's count is exact up to here, and shown as "1000+" beyond: counting further would
# read every ticket of a big queue (closed ones pile up for ever) on every page.
COUNT_CAP = 1_000

QUEUES: dict[str, Any] = {
    "unassigned": pgettext_lazy("queue", "Unassigned"),
    "mine": pgettext_lazy("queue", "My tickets"),
    "teams": pgettext_lazy("queue", "My teams"),
    "awaiting_user": pgettext_lazy("queue", "Awaiting user"),
    "escalated": pgettext_lazy("queue", "Escalated"),
    "overdue": pgettext_lazy("queue", "Overdue"),
    "resolved": pgettext_lazy("queue", "Resolved"),
    "closed": pgettext_lazy("queue", "Closed"),
    "all": pgettext_lazy("queue", "All I can see"),
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


def _count_sql(*rows: QuerySet[Any], params: list[Any], alias: str) -> str:
    """SQL counting the distinct ids of these (capped) querysets; their parameters go to
    ``params``. A queryset that can match nothing counts 0."""
    selects = []
    for i, queryset in enumerate(rows):
        try:
            sql, args = queryset.query.sql_with_params()
        except EmptyResultSet:  # a filter that matches nothing (no teams, no access)
            continue
        # The ORM's own SQL with its parameters kept apart; the alias is one of QUEUES' keys.
        selects.append(f"SELECT * FROM ({sql}) AS {alias}_{i}")  # noqa: S608
        params.extend(args)
    if not selects:
        return "0"
    return f"(SELECT COUNT(*) FROM ({' UNION '.join(selects)}) AS {alias}_rows)"  # noqa: S608


def queue_counts(user: Any) -> dict[str, int]:
    """The console's queue sizes for this agent, in one query whatever the number of tickets.

    Each queue is counted up to ``COUNT_CAP`` + 1 rows (a value above the cap means "more
    than"), each by its own subquery that stops there, so a page costs the same with a
    thousand tickets or a million.
    """
    memberships = _memberships(user)
    visible = tickets_visible_to(user, memberships=memberships)
    now = timezone.now()
    parts: list[str] = []
    params: list[Any] = []
    for key in QUEUES:
        if key == "overdue":
            # Each due time walked in order by its own partial index, up to the cap: the
            # queue's OR would read every active ticket to find the few overdue among them.
            active = visible.filter(state__in=ACTIVE_STATES)
            late = [
                active.filter(**{f"{due}__lt": now}).order_by(due).values("pk")[: COUNT_CAP + 1]
                for due in ("resolution_due", "first_response_due")
            ]
            parts.append(_count_sql(*late, params=params, alias=key))
        else:
            capped = visible.filter(queue_filter(user, key, now=now, memberships=memberships))
            capped = capped.order_by().values("pk")[: COUNT_CAP + 1]
            parts.append(_count_sql(capped, params=params, alias=key))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = [min(count, COUNT_CAP + 1) for count in cursor.fetchone()]
    return dict(zip(QUEUES, row, strict=True))


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
    # Words are looked for in tickets numbered from here on (None: in every ticket); see
    # ``search_window``. Numbers, e-mail addresses and requesters' names are always found.
    search_from: int | None = None


SORTS: dict[str, tuple[str, list[Any]]] = {
    "activity": (gettext_lazy("Last activity, newest first"), [F("last_activity_at").desc(), F("id").desc()]),
    "oldest": (gettext_lazy("Last activity, oldest first"), [F("last_activity_at").asc(), F("id").asc()]),
    "due": (
        gettext_lazy("SLA due, soonest first"),
        [F("resolution_due").asc(nulls_last=True), F("id").asc()],
    ),
    "priority": (
        gettext_lazy("Priority, most urgent first"),
        [F("priority_rank").desc(), F("last_activity_at").desc(), F("id").desc()],
    ),
    "number": (gettext_lazy("Number, newest first"), [F("id").desc()]),
}


# Each sort's keys as (field, descending), in SORTS' order: a page of the API starts right
# after the last row of the one before (keyset pagination), so a deep page costs what the
# first one does. Fields in NULLS_LAST are sorted with their empty values last.
SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    "activity": (("last_activity_at", True), ("id", True)),
    "oldest": (("last_activity_at", False), ("id", False)),
    "due": (("resolution_due", False), ("id", False)),
    "priority": (("priority_rank", True), ("last_activity_at", True), ("id", True)),
    "number": (("id", True),),
}
NULLS_LAST = frozenset({"resolution_due"})


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


# The console looks for words in this many of the newest tickets first; "search all
# tickets" is a second step. A common word matches tens of thousands of tickets at a million,
# and sorting them all to show the newest 25 took most of a second (bench/README.md).
SEARCH_RECENT = 20_000


def search_window() -> int | None:
    """The first ticket id a recent-first search covers; None when every ticket is recent."""
    newest = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
    return newest - SEARCH_RECENT + 1 if newest is not None and newest > SEARCH_RECENT else None


def _search(tickets: QuerySet[Ticket], text: str, search_from: int | None = None) -> QuerySet[Ticket]:
    """Number, subject, requester or any thread text (notes too: only agents search).

    On PostgreSQL the subject, thread and requester's name are matched with full-text search
    over GIN indexes (migrations 0002, 0013); SQLite, the embedded default, matches substrings. Each kind
    of match is its own list of ids, answered by its own index, and the queue keeps the
    tickets in their union: an OR across joined tables would let PostgreSQL use none of
    the indexes and compute the text vector of every visible ticket.
    """
    text = text.strip()[:200]
    if not text:
        return tickets
    # An address by the unique index on its lower case; a name by its words (PostgreSQL, over
    # a GIN index) or a substring (SQLite): matched in the database's 10,000s of requesters,
    # a name's LIKE '%...%' read them all on every search.
    addresses = Requester.objects.alias(address=Lower("email")).filter(address=text.lower())
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="simple", search_type="websearch")
        named = Requester.objects.annotate(fts=SearchVector("name", config="simple")).filter(fts=query)
        subjects = Ticket.objects.annotate(fts=SearchVector("subject", config="simple")).filter(fts=query)
        bodies = ThreadEntry.objects.annotate(fts=SearchVector("body", config="simple")).filter(fts=query)
    else:
        named = Requester.objects.filter(name__icontains=text)
        subjects = Ticket.objects.filter(subject__icontains=text)
        bodies = ThreadEntry.objects.filter(body__icontains=text)
    if search_from is not None:
        # With the id range PostgreSQL ANDs the word's index with the primary key's (or the
        # thread's ticket index) before reading a row: only the recent matches are read.
        subjects = subjects.filter(pk__gte=search_from)
        bodies = bodies.filter(ticket_id__gte=search_from)
    matches = [
        subjects.order_by().values("pk"),
        bodies.order_by().values("ticket_id"),
        Ticket.objects.filter(requester__in=addresses.order_by().values("pk")).order_by().values("pk"),
        Ticket.objects.filter(requester__in=named.order_by().values("pk")).order_by().values("pk"),
    ]
    number = text.lstrip("#")
    if number.isdigit():
        matches.append(Ticket.objects.filter(number=number).order_by().values("pk"))
    return tickets.filter(pk__in=matches[0].union(*matches[1:], all=True))


def ticket_queue(
    user: Any,
    *,
    queue: str = "all",
    filters: QueueFilters = QueueFilters(),
    sort: str = "activity",
    related: bool = True,
) -> QuerySet[Ticket]:
    """One queue of the console, filtered, searched and sorted; slice it for a page.

    Only the requester is joined; the small tables (topics, departments, teams, agents,
    priorities, plans) come with one short query each for the page's rows, or, with
    ``related=False``, from the cached catalog by ``queue_page``. With all of them joined
    PostgreSQL spent longer planning each queue query than running it, and past eight joins
    it stops reordering them (bench/README.md).
    """
    memberships = _memberships(user)
    tickets = (
        tickets_visible_to(user, memberships=memberships)
        .filter(queue_filter(user, queue, memberships=memberships))
        .select_related("requester")
    )
    if related:
        tickets = tickets.prefetch_related(*(name for name in LIST_RELATED if name != "requester"))
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
    tickets = _search(tickets, filters.search, filters.search_from)
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
    """The options of the console's filters and property fields (from the cached catalog)."""
    found = catalog()
    agents = [user for user in found.agents.values() if user.is_active]
    topics = [topic for topic in found.help_topics.values() if topic.is_active]
    return FilterChoices(
        departments=sorted(found.departments.values(), key=lambda d: d.name),
        teams=sorted((t for t in found.teams.values() if t.is_active), key=lambda t: t.name),
        agents=sorted(agents, key=lambda user: (user.first_name, user.username)),
        priorities=sorted(found.priorities.values(), key=lambda p: -p.rank),
        help_topics=sorted(topics, key=lambda topic: topic.full_name.lower()),
        sla_plans=sorted((p for p in found.sla_plans.values() if p.is_active), key=lambda p: p.name),
    )


def queue_page(tickets: QuerySet[Ticket], start: int, stop: int) -> list[Ticket]:
    """Rows ``start:stop`` of a queue (``ticket_queue(..., related=False)``): one query, the
    small tables' rows set on each ticket from the cached catalog."""
    return attach_related(list(tickets[start:stop]))


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
    topics = [t for t in catalog().help_topics.values() if t.is_active and t.is_public]
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
