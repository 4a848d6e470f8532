"""SLA arithmetic: when a ticket's first response and resolution fall due.

A 24/7 plan counts wall-clock hours; a business-hours plan counts only the hours inside its
weekly windows, in its time zone, skipping its holidays.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tickets.models import BusinessHours, SLAPlan

# Far enough to cross any sane calendar; a calendar with no open hours never falls due.
_MAX_DAYS = 3660


def due_times(plan: SLAPlan | None, *, start: datetime) -> tuple[datetime | None, datetime | None]:
    """(first-response due, resolution due) for a clock started at ``start``."""
    if plan is None:
        return None, None
    first = add_hours(plan, start, plan.first_response_hours) if plan.first_response_hours else None
    return first, add_hours(plan, start, plan.grace_hours)


def add_hours(plan: SLAPlan, start: datetime, hours: float) -> datetime | None:
    if plan.schedule == SLAPlan.Schedule.ALWAYS or plan.business_hours is None:
        return start + timedelta(hours=hours)
    return add_business_hours(plan.business_hours, start, timedelta(hours=hours))


def add_business_hours(calendar: BusinessHours, start: datetime, span: timedelta) -> datetime | None:
    """The moment ``span`` of open time has passed since ``start``; None if it never does."""
    zone = ZoneInfo(calendar.time_zone)
    windows: dict[int, list[tuple]] = {}
    for window in calendar.windows.all():
        windows.setdefault(window.weekday, []).append((window.opens, window.closes))
    holidays = {h.date for h in calendar.holidays.all()}
    local = start.astimezone(zone)
    remaining = span
    day = local.date()
    for _ in range(_MAX_DAYS):
        if day not in holidays:
            for opens, closes in sorted(windows.get(day.weekday(), [])):
                window_start = datetime.combine(day, opens, tzinfo=zone)
                window_end = datetime.combine(day, closes, tzinfo=zone)
                begin = max(window_start, local)
                if begin >= window_end:
                    continue
                available = window_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
        day += timedelta(days=1)
    return None
