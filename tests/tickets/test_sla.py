"""SLA due times: wall-clock hours for 24/7 plans, open hours for business-hours plans."""

from datetime import UTC, date, datetime, time

import pytest

from tickets import sla
from tickets.models import BusinessHours, BusinessHoursWindow, Holiday, SLAPlan


@pytest.fixture
def office(db):
    calendar = BusinessHours.objects.create(name="Office", time_zone="Europe/Berlin")
    for weekday in range(5):
        BusinessHoursWindow.objects.create(schedule=calendar, weekday=weekday, opens=time(9), closes=time(17))
    Holiday.objects.create(schedule=calendar, date=date(2026, 12, 25), name="Christmas Day")
    return calendar


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_24_7_plan_counts_wall_clock_hours(db):
    plan = SLAPlan.objects.create(name="Sev-A", grace_hours=1, first_response_hours=1)
    first, resolution = sla.due_times(plan, start=at(2026, 11, 28, 23, 30))  # a Saturday night
    assert first == resolution == at(2026, 11, 29, 0, 30)


def test_no_plan_means_no_due_times():
    assert sla.due_times(None, start=at(2026, 11, 30, 9)) == (None, None)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Monday 10:00 Berlin (09:00 UTC) + 4 h: the same afternoon.
        (at(2026, 11, 30, 9, 0), 4, at(2026, 11, 30, 13, 0)),
        # Monday 16:00 Berlin + 8 h: 1 h on Monday, 7 h on Tuesday (to 16:00 Berlin).
        (at(2026, 11, 30, 15, 0), 8, at(2026, 12, 1, 15, 0)),
        # Friday 15:00 Berlin + 8 h: 2 h on Friday, the weekend skipped, 6 h on Monday.
        (at(2026, 12, 4, 14, 0), 8, at(2026, 12, 7, 14, 0)),
        # Saturday: nothing counts until Monday 09:00 Berlin.
        (at(2026, 12, 5, 10, 0), 1, at(2026, 12, 7, 9, 0)),
        # Thursday 24 Dec 16:00 Berlin + 2 h: 1 h that day, Christmas Day skipped, 1 h on Monday 28th.
        (at(2026, 12, 24, 15, 0), 2, at(2026, 12, 28, 9, 0)),
    ],
    ids=["same day", "across a night", "across a weekend", "from a weekend", "across a holiday"],
)
def test_a_business_hours_plan_counts_open_hours_only(office, start, hours, due):
    plan = SLAPlan.objects.create(
        name="Sev-C", grace_hours=hours, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=office
    )
    assert sla.due_times(plan, start=start)[1] == due


def test_a_calendar_with_no_open_hours_never_falls_due(db):
    closed = BusinessHours.objects.create(name="Never open")
    plan = SLAPlan.objects.create(
        name="Never", grace_hours=1, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=closed
    )
    assert sla.due_times(plan, start=at(2026, 11, 30, 9)) == (None, None)
