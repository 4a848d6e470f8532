"""What the reports show: the figures of ``tickets.reports.figures`` and ``tickets.reports.sla``
as plain values, for the console's pages, the CSV exports and the API alike.

Every figure is over the tickets the asking user may see (``selectors.visible_tickets``) that
match the filters (on the ticket's current department, team, assignee, help topic with its
sub-topics, priority and source), and over a period ``[start, end)``. Which tickets a figure
counts is said beside it (``docs/reports.md``): created in the period, resolved in the period,
or moves made in the period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils.translation import gettext

# The periods the console and the API offer, and the bounds of a custom one (one rule for both
# doors, so that the same parameters name the same tickets there).
LAST_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 366  # a year and a day: the trend has a bar per day
EARLIEST_DAY = date(2000, 1, 1)  # no help desk has older tickets; earlier dates overflow some zones
MAX_TARGET_HOURS = 8760  # the what-if's edited targets: up to a year


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), aware datetimes."""

    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        return cls(now - timedelta(days=days), now)

    @classmethod
    def whole_days(cls, first: date, last: date, now: datetime) -> Period:
        """Local days from ``first`` to ``last``, both included, up to ``now`` at most."""
        from django.utils import timezone

        def midnight(day: date) -> datetime:
            return timezone.make_aware(datetime.combine(day, time.min))

        return cls(midnight(first), min(midnight(last + timedelta(days=1)), now))

    @staticmethod
    def range_problem(first: date, last: date, today: date) -> tuple[str, str] | None:
        """Why the days from ``first`` to ``last`` cannot be a period: (the end at fault,
        "first" or "last", and what to say, in the active language), or None when they can."""
        if first < EARLIEST_DAY:
            # Translators: date is the earliest day a report's period may start (2000-01-01).
            return "first", gettext("Give a date from %(date)s on.") % {"date": EARLIEST_DAY.isoformat()}
        if first > today:
            return "first", gettext("The period starts in the future.")
        if last < first:
            return "last", gettext("The period's last day is before its first.")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            return "last", gettext("A custom period is at most %(days)s days.") % {"days": MAX_RANGE_DAYS}
        return None

    def days(self) -> list[date]:
        """The local dates the period touches, in order (the trend's x axis)."""
        from django.utils import timezone

        first, last = timezone.localdate(self.start), timezone.localdate(self.end - timedelta(microseconds=1))
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class PeriodAsked:
    """A period as a person names it, before it is tied to a moment: the last ``days`` up to
    now, or the local days from ``first`` to ``last`` (both included, up to now at most)."""

    days: int | None = DEFAULT_DAYS
    first: date | None = None
    last: date | None = None

    def period(self, now: datetime) -> Period:
        if self.first is not None and self.last is not None:
            return Period.whole_days(self.first, self.last, now)
        return Period.last_days(self.days or DEFAULT_DAYS, now)


@dataclass(frozen=True)
class ReportFilters:
    """Each set filter narrows the tickets; None (or "") leaves it open."""

    department_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None  # the ticket's assignee
    help_topic_id: int | None = None  # the topic and its sub-topics
    priority_id: int | None = None
    source: str = ""  # a Ticket.Source value

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ReportFilters:
        """The filters from a checked form's or query's values, named as the doors name them
        (department, team, agent, help_topic, priority, source)."""
        return cls(
            department_id=values.get("department"),
            team_id=values.get("team"),
            agent_id=values.get("agent"),
            help_topic_id=values.get("help_topic"),
            priority_id=values.get("priority"),
            source=values.get("source") or "",
        )


@dataclass(frozen=True)
class Spread:
    """Durations: how many, and their median and 90th percentile (nearest rank: the smallest
    duration with at least half, or 90 %, of them at or below it; None when there are none)."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class StageTime:
    """Time spent in one stage: each stay that ended in the period (the move out of the stage
    was made in it), from the move into the stage to the move out of it. A move that keeps the
    state (a claim while escalated) does not end the stay."""

    state: str
    label: str
    spread: Spread


@dataclass(frozen=True)
class Attainment:
    """One SLA target over the tickets that reached it in the period (first response: first
    responded in the period; resolution: resolved in the period), each counted met when it was
    reached by its due time as the ticket's SLA clock computed it (business hours and the pauses
    while awaiting the requester honoured). Tickets with no target are not counted."""

    target: str  # "first_response" or "resolution"
    label: str
    met: int
    missed: int

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.total, 1) if self.total else None


@dataclass(frozen=True)
class Rate:
    """A share: ``numerator`` of ``denominator``, with what each counts."""

    key: str  # "reopen", "escalation", "follow_up"
    label: str
    numerator: int
    denominator: int
    explained: str

    @property
    def percent(self) -> float | None:
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None


@dataclass(frozen=True)
class DayCount:
    """Tickets created and tickets closed on one local day of the period."""

    day: date
    created: int
    closed: int


@dataclass(frozen=True)
class LoadRow:
    """One team, agent or help topic: its active tickets now, the tickets it resolved in the
    period, and their median resolution time (creation to the resolve move, wall time)."""

    key_id: int | None
    name: str
    open_now: int
    resolved: int
    median_resolution: timedelta | None


@dataclass(frozen=True)
class Dashboard:
    period: Period
    filters: ReportFilters
    # Tickets created in the period, by the stage they are in now, in lifecycle order (all eight).
    funnel: list[tuple[str, str, int]]
    stage_times: list[StageTime]
    # Of the tickets resolved in the period: time awaiting the requester, and the rest (with the
    # desk), each ticket's total from creation to its resolve move.
    waiting_on_requester: Spread
    with_desk: Spread
    attainment: list[Attainment]
    rates: list[Rate]
    trend: list[DayCount]
    teams: list[LoadRow]
    agents: list[LoadRow]
    slowest_topics: list[LoadRow]  # at most 10, slowest median resolution first
    # When the figures about the present (the funnel, the open load) were read.
    computed_at: datetime | None = None


@dataclass(frozen=True)
class WhatIf:
    """SLA attainment of the period's tickets replayed from their transition logs under another
    plan's targets and calendar (or hours edited in the form), beside what they had."""

    plan_name: str
    first_response_hours: int | None
    resolution_hours: int | None
    actual: list[Attainment]
    replayed: list[Attainment]
    tickets: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StageVisit:
    """One stay of a ticket in a stage, for its timeline: when it began and ended (None while
    it lasts), who moved it there (the log's actor label) and by which move, and the stretches
    in it while the SLA clock was stopped (awaiting the requester, resolved, closed)."""

    state: str
    label: str
    entered_at: datetime
    left_at: datetime | None
    moved_by: str
    move: str
    clock_paused: bool

    @property
    def duration(self) -> timedelta | None:
        return self.left_at - self.entered_at if self.left_at is not None else None
