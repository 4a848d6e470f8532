"""SLA arithmetic: when a ticket's first response and resolution fall due.

A plan gives hours (its own, or those of its target for the ticket's priority) and a way of
counting them: a 24/7 plan counts wall-clock time; a business-hours plan counts only the
time inside its weekly windows, in its time zone, skipping its holidays.

The clock starts at creation, and again at each escalation (the new tier gets a fresh
target). It stops while the ticket waits on the requester or sits resolved, and runs on
when the ticket comes back. Due times are computed from the transition log, so they are
right after any sequence of moves. While the clock is stopped, a target not yet missed has
no due time (it is not counting down); a missed one keeps its past due time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tickets.models import BusinessHours, Priority, SLAPlan, State

# Far enough to cross any sane calendar; a calendar with no open hours never falls due.
_MAX_DAYS = 3660

# The clock does not run while the ticket is in one of these.
PAUSED_STATES = frozenset({State.AWAITING_USER, State.RESOLVED, State.CLOSED})


@dataclass(frozen=True)
class Move:
    """One row of the transition log, as the clock reads it."""

    name: str
    target: str
    at: datetime


# -- counting time ---------------------------------------------------------------------------


class WallClock:
    """24/7: every hour counts."""

    def add(self, start: datetime, span: timedelta) -> datetime | None:
        return start + span

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))


class BusinessClock:
    """Only the hours inside a calendar's weekly windows count, holidays excepted.

    Window edges are built in the calendar's zone and the arithmetic is done in UTC, so a
    change of daylight-saving time counts the hours that really pass.
    """

    def __init__(self, calendar: BusinessHours) -> None:
        self.zone = ZoneInfo(calendar.time_zone)
        self.windows: dict[int, list[tuple[time, time]]] = {}
        for window in calendar.windows.all():
            self.windows.setdefault(window.weekday, []).append((window.opens, window.closes))
        for day in self.windows.values():
            day.sort()
        self.holidays = {h.date for h in calendar.holidays.all()}

    def _open_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        return [
            (
                datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, closes, tzinfo=self.zone).astimezone(UTC),
            )
            for opens, closes in self.windows.get(day.weekday(), [])
        ]

    def add(self, start: datetime, span: timedelta) -> datetime | None:
        remaining = span
        day = start.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            for opens, closes in self._open_spans(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                if remaining <= closes - begin:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= closes - begin
            day += timedelta(days=1)
        return None

    def between(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self._open_spans(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total


def clock_for(plan: SLAPlan) -> WallClock | BusinessClock:
    if plan.schedule == SLAPlan.Schedule.BUSINESS_HOURS and plan.business_hours is not None:
        return BusinessClock(plan.business_hours)
    return WallClock()


def target_hours(plan: SLAPlan, priority: Priority | None) -> tuple[int | None, int]:
    """(first-response hours, resolution hours): the plan's target for this priority, or its own."""
    if priority is not None:
        if "targets" in getattr(plan, "_prefetched_objects_cache", {}):  # the catalog's plans
            target = next((t for t in plan.targets.all() if t.priority_id == priority.pk), None)
        else:
            target = plan.targets.filter(priority=priority).first()
        if target is not None:
            return target.first_response_hours, target.grace_hours
    return plan.first_response_hours, plan.grace_hours


def add_hours(plan: SLAPlan, start: datetime, hours: float) -> datetime | None:
    return clock_for(plan).add(start, timedelta(hours=hours))


def due_times(
    plan: SLAPlan | None, *, start: datetime, priority: Priority | None = None
) -> tuple[datetime | None, datetime | None]:
    """(first-response due, resolution due) for a clock started at ``start`` that never stops."""
    return due_times_from_log(plan, priority=priority, created_at=start, log=[])


# -- the clock over the log ----------------------------------------------------------------------


def running_spans(
    created_at: datetime, log: Sequence[Move]
) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
    """The finished stretches the clock ran, and when its current stretch began (None while
    it is stopped). It starts at creation or at the last escalation."""
    start = max([created_at, *(move.at for move in log if move.name == "escalate")])
    spans: list[tuple[datetime, datetime]] = []
    running_since: datetime | None = start
    for move in log:
        paused = move.target in PAUSED_STATES
        if move.at <= start:
            # The state the ticket was in when the clock started.
            running_since = None if paused else start
        elif paused and running_since is not None:
            spans.append((running_since, move.at))
            running_since = None
        elif not paused and running_since is None:
            running_since = move.at
    return spans, running_since


def _due(
    clock: WallClock | BusinessClock,
    hours: int | None,
    spans: list[tuple[datetime, datetime]],
    running_since: datetime | None,
) -> datetime | None:
    if not hours:
        return None
    remaining = timedelta(hours=hours)
    for begin, end in spans:
        used = clock.between(begin, end)
        if used >= remaining:
            return clock.add(begin, remaining)
        remaining -= used
    if running_since is None:
        return None
    return clock.add(running_since, remaining)


def due_times_from_log(
    plan: SLAPlan | None, *, priority: Priority | None, created_at: datetime, log: Sequence[Move]
) -> tuple[datetime | None, datetime | None]:
    """(first-response due, resolution due) given the moves so far, in order.

    A target already missed while the clock ran has its (past) due time even when the clock
    is stopped now; one not yet reached has none until the clock runs again.
    """
    if plan is None:
        return None, None
    first_hours, resolution_hours = target_hours(plan, priority)
    clock = clock_for(plan)
    spans, running_since = running_spans(created_at, log)
    return (
        _due(clock, first_hours, spans, running_since),
        _due(clock, resolution_hours, spans, running_since),
    )
