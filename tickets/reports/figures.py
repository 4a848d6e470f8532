"""The dashboard's figures, computed from the tickets and their transition log in a fixed
number of queries whatever the number of tickets.

Every figure counts the tickets the user may see that match the filters
(``filters.report_tickets``), over the period ``[start, end)``; which time of a ticket puts it
in the period is said beside each figure. Durations are wall time. Medians and 90th
percentiles are by nearest rank (the smallest duration with at least half, or 90 %, of them at
or below it): PostgreSQL's ``percentile_disc`` computes them in the database; elsewhere
(SQLite) the durations are read and ranked here, with the same arithmetic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from tickets.catalog import Catalog, catalog
from tickets.models import ACTIVE_STATES, HelpTopic, State, Team, Ticket, TicketTransition, display_name
from tickets.reports import sla
from tickets.reports.filters import ROWS, in_period, report_tickets
from tickets.reports.types import Dashboard, DayCount, LoadRow, Period, Rate, ReportFilters, Spread, StageTime

# The cuts of a Spread: the median and the 90th percentile.
CUTS = (0.5, 0.9)
SLOWEST_TOPICS = 10
# The moves the rates and the trend count.
REOPEN, RESOLVE, CLOSE, CANCEL = "reopen", "resolve", "close", "cancel"
# Each rate's label and what it counts. The figures keep their labels in English (a dashboard is
# kept, ``snapshots``, and read by people in other languages): ``snapshots.localized`` translates
# them when the dashboard is read.
RATE_TEXTS = {
    "reopen": (
        gettext_noop("Reopen rate"),
        gettext_noop("Reopen moves made in the period, over the resolve moves made in the period."),
    ),
    "escalation": (
        gettext_noop("Escalation rate"),
        gettext_noop(
            "Tickets created in the period and escalated at least once, over the tickets created in it."
        ),
    ),
    "follow_up": (
        gettext_noop("Follow-up rate"),
        gettext_noop(
            "Tickets created in the period as follow-ups of a closed ticket, over the tickets created in it."
        ),
    ),
}


def english_label(state: State) -> str:
    """A stage's label as the figures keep it: in English, whatever the language of the request
    that computed them (``snapshots.localized`` shows it in the reader's)."""
    with translation.override(None):
        return str(state.label)


def dashboard(user: Any, period: Period, filters: ReportFilters, *, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for ``user`` (see each function below for its definition).

    ``now`` is when "now" is for the figures about the present (the funnel's current stages,
    the open load): the database as it is read; it is accepted so that a page can name the
    moment it shows, and defaults to the current time. Ten queries, whatever the number of
    tickets (the catalog and the user's permissions come from the cache)."""
    now = now or timezone.now()
    tickets = report_tickets(user, filters)
    created = _created(tickets, period)
    moves = _moves(tickets, period)
    resolved = resolved_tickets(tickets, period)
    return Dashboard(
        period=period,
        filters=filters,
        funnel=funnel(created),
        stage_times=stage_times(tickets, period),
        **dict(zip(("waiting_on_requester", "with_desk"), waiting_and_desk(resolved), strict=True)),
        attainment=sla.attainment_of(tickets, period),
        rates=rates(created, moves),
        trend=trend(period, created, moves),
        **load(tickets, resolved),
        computed_at=now,
    )


# -- the spreads ---------------------------------------------------------------------------------


class _Cuts(Aggregate):
    """PostgreSQL: the durations at each of ``CUTS`` by nearest rank, from one sort."""

    function = "percentile_disc"
    template = (
        "%(function)s(ARRAY[" + ", ".join(map(str, CUTS)) + "]) WITHIN GROUP (ORDER BY %(expressions)s)"
    )

    def __init__(self, expression: Any, **extra: Any) -> None:
        super().__init__(expression, output_field=ArrayField(DurationField()), **extra)


def nearest_rank(ordered: list[timedelta], fraction: float) -> timedelta:
    """The smallest value with at least ``fraction`` of ``ordered`` at or below it (the
    arithmetic of PostgreSQL's ``percentile_disc``: the value at position ceil(fraction * n))."""
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def spread(durations: Iterable[timedelta]) -> Spread:
    ordered = sorted(durations)
    if not ordered:
        return Spread(0, None, None)
    median, p90 = (nearest_rank(ordered, cut) for cut in CUTS)
    return Spread(len(ordered), median, p90)


def spreads(
    rows: QuerySet[Any],
    key: str | None,
    values: list[Any],
    *,
    counted: Q | None = None,
    keys: list[Any] | None = None,
) -> dict[Any, list[Spread]]:
    """For each value of ``key`` (None: all the rows together), the Spread of each of
    ``values`` (durations: annotations' names or expressions; a row's NULL is not counted, and
    ``counted`` says which rows have them). One query. ``keys``, the values ``key`` can take
    when they are few and known, lets PostgreSQL aggregate each apart (``FILTER``) rather than
    sort every row into groups first."""
    if connection.vendor == "postgresql" and key is not None and keys is not None:
        return _spreads_apart(rows, key, values, counted, keys)
    if connection.vendor == "postgresql":
        aggregates = {f"cuts_{n}": _Cuts(value) for n, value in enumerate(values)}
        count = Count(ROWS, filter=counted)
        if key is None:
            found = [{key: None, **rows.aggregate(count=count, **aggregates)}]
        else:
            found = list(rows.values(key).annotate(count=count, **aggregates).order_by())
        return {
            row[key]: [
                Spread(row["count"], *(row[f"cuts_{n}"] or (None, None))) for n in range(len(values))
            ]
            for row in found
            if row["count"]
        }
    durations: dict[Any, list[list[timedelta]]] = defaultdict(lambda: [[] for _ in values])
    expressions = {f"_value_{n}": value for n, value in enumerate(values) if not isinstance(value, str)}
    columns = [value if isinstance(value, str) else f"_value_{n}" for n, value in enumerate(values)]
    named = rows.annotate(**expressions)
    for row in named.values_list(*([key] if key else []), *columns).order_by():
        found_key, found = (row[0], row[1:]) if key else (None, row)
        for lists, duration in zip(durations[found_key], found, strict=True):
            if duration is not None:
                lists.append(duration)
    return {
        found_key: [spread(lists) for lists in each]
        for found_key, each in durations.items()
        if any(each)
    }


def _spreads_apart(
    rows: QuerySet[Any], key: str, values: list[Any], counted: Q | None, keys: list[Any]
) -> dict[Any, list[Spread]]:
    aggregates: dict[str, Aggregate] = {}
    for k, known in enumerate(keys):
        group = Q(**{key: known})
        aggregates[f"count_{k}"] = Count(ROWS, filter=group & counted if counted is not None else group)
        for n, value in enumerate(values):
            aggregates[f"cuts_{k}_{n}"] = _Cuts(value, filter=group)
    found = rows.aggregate(**aggregates)
    return {
        known: [
            Spread(found[f"count_{k}"], *(found[f"cuts_{k}_{n}"] or (None, None))) for n in range(len(values))
        ]
        for k, known in enumerate(keys)
        if found[f"count_{k}"]
    }


def _duration(later: Any, earlier: Any) -> ExpressionWrapper:
    return ExpressionWrapper(later - earlier, output_field=DurationField())


# -- tickets created in the period ---------------------------------------------------------------


def _local_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def _created(tickets: QuerySet[Ticket], period: Period) -> list[dict[str, Any]]:
    """The tickets created in the period, counted by local day and current state, with how many
    of them were escalated and how many are follow-ups. One query."""
    return list(
        tickets.filter(**in_period("created_at", period))
        .annotate(day=_local_day("created_at"))
        .values("day", "state")
        .annotate(
            count=Count("*"),
            escalated=Count(ROWS, filter=Q(tier__gt=1)),
            follow_ups=Count("follow_up_of_id"),
        )
        .order_by()
    )


def funnel(created: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """The tickets created in the period, by the stage they are in now: all eight stages, in
    lifecycle order, with their labels."""
    counts: dict[str, int] = defaultdict(int)
    for row in created:
        counts[row["state"]] += row["count"]
    return [(state.value, english_label(state), counts[state.value]) for state in State]


# -- moves made in the period ----------------------------------------------------------------------


def _moved_in(tickets: QuerySet[Ticket], period: Period, **moves: Any) -> QuerySet[Ticket]:
    """The tickets joined to their moves made in the period (one row per move), the moves
    narrowed by ``moves`` (lookups on TicketTransition).

    Every move saves its ticket, which stamps ``last_activity_at``: a ticket with a move in the
    period was active since it began, a bound that lets the database read the tickets by their
    activity index rather than every ticket the user may see."""
    return tickets.filter(last_activity_at__gte=period.start).filter(
        **in_period("transitions__created_at", period),
        **{f"transitions__{lookup}": value for lookup, value in moves.items()},
    )


def _moves(tickets: QuerySet[Ticket], period: Period) -> dict[tuple[date, str], int]:
    """The reopen, resolve, close and cancel moves made in the period, by local day. One query."""
    rows = (
        _moved_in(tickets, period, name__in=[REOPEN, RESOLVE, CLOSE, CANCEL])
        .annotate(day=_local_day("transitions__created_at"))
        .values("day", "transitions__name")
        .annotate(count=Count("*"))
        .order_by()
    )
    return {(row["day"], row["transitions__name"]): row["count"] for row in rows}


def stage_times(tickets: QuerySet[Ticket], period: Period) -> list[StageTime]:
    """For each of the eight stages, the stays in it that ended in the period: a stay begins
    with the move into the stage (a new ticket is in ``new`` from its creation) and ends with
    the next move into a different stage; a move that keeps the stage (a claim, an assignment
    or another escalation while escalated) does not end it. Their number, median and 90th
    percentile. A stay in ``closed`` never ends. One query."""
    moved = "transitions__created_at"
    # The move into the stage that ends here: the last move before this one, in the log's order,
    # that changed the stage (the creation's row, from no stage, is not one).
    began = Subquery(
        TicketTransition.objects.filter(ticket_id=OuterRef("transitions__ticket_id"))
        .exclude(source="")
        .exclude(source=F("target"))
        .filter(created_at__lte=OuterRef(moved))
        .filter(Q(created_at__lt=OuterRef(moved)) | Q(pk__lt=OuterRef("transitions__pk")))
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    ends_a_stay = ~Q(transitions__source="") & ~Q(transitions__source=F("transitions__target"))
    took = Case(
        # Nothing moves a ticket into "new": its stay there began with the ticket.
        When(transitions__source=State.NEW, then=_duration(F(moved), F("created_at"))),
        When(ends_a_stay, then=_duration(F(moved), Coalesce(began, F("created_at")))),
        output_field=DurationField(),
    )
    states = [state.value for state in State]
    found = spreads(
        _moved_in(tickets, period, source__in=states),
        "transitions__source",
        [took],
        counted=ends_a_stay,
        keys=states,
    )
    return [
        StageTime(state.value, english_label(state), found.get(state.value, [Spread(0, None, None)])[0])
        for state in State
    ]


# -- tickets resolved in the period --------------------------------------------------------------


def resolved_tickets(tickets: QuerySet[Ticket], period: Period) -> QuerySet[Ticket]:
    """The tickets resolved in the period: resolved or closed now, their last resolve
    (``resolved_at``) in the period; a ticket reopened since is not resolved until it is
    resolved again. Each with its resolution time (creation to that resolve)."""
    return tickets.filter(**in_period("resolved_at", period)).annotate(
        resolution=_duration(F("resolved_at"), F("created_at"))
    )


def waiting_and_desk(resolved: QuerySet[Ticket]) -> tuple[Spread, Spread]:
    """Of the tickets resolved in the period, per ticket from its creation to its resolve: the
    time it spent awaiting the requester (every stay in ``awaiting_user``: a resolved ticket
    cannot go back to it without a reopen), and the rest (with the desk). One query."""
    moves = Q(transitions__source=State.AWAITING_USER) | Q(transitions__target=State.AWAITING_USER)
    leaves, enters = Q(awaiting__source=State.AWAITING_USER), Q(awaiting__isnull=False)
    per_ticket = (
        resolved.alias(awaiting=FilteredRelation("transitions", condition=moves))
        .values("pk", "resolution")
        .annotate(
            # Each stay: the move out of the stage less the move into it.
            waiting=Coalesce(
                Sum(
                    Case(
                        When(leaves, then=_duration(F("awaiting__created_at"), F("created_at"))),
                        When(enters, then=_duration(F("created_at"), F("awaiting__created_at"))),
                        output_field=DurationField(),
                    )
                ),
                Value(timedelta(0)),
                output_field=DurationField(),
            )
        )
    )
    found = spreads(per_ticket, None, ["waiting", _duration(F("resolution"), F("waiting"))]).get(None)
    return (found[0], found[1]) if found else (Spread(0, None, None), Spread(0, None, None))


# -- rates and the trend -------------------------------------------------------------------------


def rates(created: list[dict[str, Any]], moves: dict[tuple[date, str], int]) -> list[Rate]:
    """Reopen: reopen moves in the period over resolve moves in the period. Escalation: tickets
    created in the period that were escalated at least once (their tier is above 1: each
    escalation raises it and nothing lowers it) over the tickets created in the period.
    Follow-up: tickets created in the period as follow-ups of a closed ticket over the tickets
    created in the period."""
    by_name: dict[str, int] = defaultdict(int)
    for (_, name), count in moves.items():
        by_name[name] += count
    total = sum(row["count"] for row in created)
    counted = {
        "reopen": (by_name[REOPEN], by_name[RESOLVE]),
        "escalation": (sum(row["escalated"] for row in created), total),
        "follow_up": (sum(row["follow_ups"] for row in created), total),
    }
    return [
        Rate(key, label, *counted[key], explained) for key, (label, explained) in RATE_TEXTS.items()
    ]


def trend(
    period: Period, created: list[dict[str, Any]], moves: dict[tuple[date, str], int]
) -> list[DayCount]:
    """For each local day the period touches: the tickets created that day, and the moves into
    ``closed`` made that day (closed, or cancelled), both within the period."""
    made: dict[date, int] = defaultdict(int)
    for row in created:
        made[row["day"]] += row["count"]
    return [
        DayCount(day, made[day], moves.get((day, CLOSE), 0) + moves.get((day, CANCEL), 0))
        for day in period.days()
    ]


# -- teams, agents and help topics ---------------------------------------------------------------


def load(tickets: QuerySet[Ticket], resolved: QuerySet[Ticket]) -> dict[str, list[LoadRow]]:
    """Per team and per agent (each staff user who is an assignee), sorted by name: its active
    tickets now (open, assigned, awaiting the requester, in progress, escalated) assigned to it,
    the tickets resolved in the period whose team (assignee) it is now, and their median
    resolution time (creation to the resolve, nearest rank); only rows with something to show.
    ``slowest_topics``: the help topics of the tickets resolved in the period, by median
    resolution time, slowest first, ten at most. Four queries."""
    active: dict[str, dict[int, int]] = {"team_id": defaultdict(int), "assignee_id": defaultdict(int)}
    active["help_topic_id"] = defaultdict(int)
    rows = (
        tickets.filter(state__in=ACTIVE_STATES)
        .values("team_id", "assignee_id", "help_topic_id")
        .annotate(count=Count("*"))
        .order_by()
    )
    for row in rows:
        for key, counts in active.items():
            if row[key] is not None:
                counts[row[key]] += row["count"]
    table: dict[str, list[LoadRow]] = {}
    found = catalog()
    for key in ("team_id", "assignee_id", "help_topic_id"):
        medians = {k: s[0] for k, s in spreads(resolved, key, ["resolution"]).items() if k is not None}
        names = _names(key, set(active[key]) | set(medians), found)
        table[key] = sorted(
            (
                LoadRow(
                    pk,
                    name,
                    active[key].get(pk, 0),
                    medians[pk].count if pk in medians else 0,
                    medians[pk].median if pk in medians else None,
                )
                for pk, name in names.items()
            ),
            key=lambda row: (row.name.lower(), row.key_id),
        )
    topics = [row for row in table["help_topic_id"] if row.median_resolution is not None]
    topics.sort(key=lambda row: (-row.median_resolution, row.name.lower()))
    return {
        "teams": table["team_id"],
        "agents": table["assignee_id"],
        "slowest_topics": topics[:SLOWEST_TOPICS],
    }


def _names(key: str, ids: set[int], found: Catalog) -> dict[int, str]:
    """The names of these teams, agents or help topics, from the catalog (rows it lacks, made
    without a signal or an assignee no longer staff, from the database)."""
    table, model = {
        "team_id": ("teams", Team),
        "assignee_id": ("agents", get_user_model()),
        "help_topic_id": ("help_topics", HelpTopic),
    }[key]
    rows = dict(getattr(found, table))
    if missing := ids - set(rows):
        extra = model.objects.filter(pk__in=missing)
        if model is HelpTopic:
            extra = extra.select_related("parent__parent")
        rows.update((row.pk, row) for row in extra)
    return {pk: _name(rows[pk]) for pk in ids if pk in rows}


def _name(row: Any) -> str:
    if isinstance(row, HelpTopic):
        return row.full_name
    return str(row) if isinstance(row, Team) else display_name(row)
