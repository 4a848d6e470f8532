"""SLA due times: wall-clock hours for 24/7 plans, open hours for business-hours plans."""

from datetime import UTC, date, datetime, time

import pytest

from tickets.models import BusinessHours, BusinessHoursWindow, Holiday, SLAPlan
from tickets.sla import clock


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
    first, resolution = clock.due_times(plan, start=at(2026, 11, 28, 23, 30))  # a Saturday night
    assert first == resolution == at(2026, 11, 29, 0, 30)


def test_no_plan_means_no_due_times():
    assert clock.due_times(None, start=at(2026, 11, 30, 9)) == (None, None)


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
    assert clock.due_times(plan, start=start)[1] == due


def test_a_calendar_with_no_open_hours_never_falls_due(db):
    closed = BusinessHours.objects.create(name="Never open")
    plan = SLAPlan.objects.create(
        name="Never", grace_hours=1, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=closed
    )
    assert clock.due_times(plan, start=at(2026, 11, 30, 9)) == (None, None)


# -- the clock over the transition log -------------------------------------------------------------
# Each case is a log of moves after creation on Monday 30 Nov 2026 10:00 UTC; the expected due time
# is exact. "in" is a working state, "wait" awaiting the requester, "done" resolved.

MONDAY_10 = at(2026, 11, 30, 10)
STATES = {"in": "in_progress", "wait": "awaiting_user", "done": "resolved", "up": "escalated"}
NAMES = {"in": "receive_reply", "wait": "request_info", "done": "resolve", "up": "escalate"}


def log_of(*moves: tuple[str, datetime]) -> list[clock.Move]:
    """Creation and intake at MONDAY_10, then ("wait", when), ("in", when) and so on."""
    return [
        clock.Move("create", "new", MONDAY_10),
        clock.Move("intake", "open", MONDAY_10),
        *(clock.Move(NAMES[kind], STATES[kind], when) for kind, when in moves),
    ]


@pytest.fixture
def lab_office(db):
    """The lab's calendar: Monday to Friday, 09:00-17:00 UTC."""
    calendar = BusinessHours.objects.create(name="Office hours", time_zone="UTC")
    for weekday in range(5):
        BusinessHoursWindow.objects.create(schedule=calendar, weekday=weekday, opens=time(9), closes=time(17))
    return calendar


@pytest.mark.parametrize(
    ("hours", "moves", "due"),
    [
        # No pause: 4 h after creation.
        (4, [], at(2026, 11, 30, 14)),
        # 1 h of work, 4 h waiting for the requester, then the 3 h left: 18:00.
        (4, [("wait", at(2026, 11, 30, 11)), ("in", at(2026, 11, 30, 15))], at(2026, 11, 30, 18)),
        # Two pauses add up: 1 h + 1 h of waiting.
        (
            4,
            [
                ("wait", at(2026, 11, 30, 11)),
                ("in", at(2026, 11, 30, 12)),
                ("wait", at(2026, 11, 30, 13)),
                ("in", at(2026, 11, 30, 14)),
            ],
            at(2026, 11, 30, 16),
        ),
        # Waiting now, target not reached: no due time (the clock is not counting down).
        (4, [("wait", at(2026, 11, 30, 11))], None),
        # Waiting now, but the target was missed before the pause: it keeps its past due time.
        (1, [("wait", at(2026, 11, 30, 12))], at(2026, 11, 30, 11)),
        # Resolved after 1 h, reopened at 20:00: the 3 h left run from then.
        (4, [("done", at(2026, 11, 30, 11)), ("in", at(2026, 11, 30, 20))], at(2026, 11, 30, 23)),
        # Escalated at 13:00: the new tier gets the whole target from then.
        (4, [("up", at(2026, 11, 30, 13))], at(2026, 11, 30, 17)),
        # A pause before the escalation does not count against the new tier.
        (
            4,
            [("wait", at(2026, 11, 30, 11)), ("in", at(2026, 11, 30, 12)), ("up", at(2026, 11, 30, 13))],
            at(2026, 11, 30, 17),
        ),
    ],
    ids=[
        "no pause",
        "pause and resume",
        "two pauses",
        "paused now",
        "missed before the pause",
        "resolved and reopened",
        "escalation restarts",
        "pause before escalation",
    ],
)
def test_a_24_7_clock_stops_while_waiting_and_resolved(db, hours, moves, due):
    plan = SLAPlan.objects.create(name="Plan", grace_hours=hours)
    assert clock.due_times_from_log(plan, priority=None, created_at=MONDAY_10, log=log_of(*moves))[1] == due


@pytest.mark.parametrize(
    ("created", "moves", "due"),
    [
        # 8 business hours from Monday 10:00: Tuesday 10:00.
        (MONDAY_10, [], at(2026, 12, 1, 10)),
        # 0.5 h on Monday, waiting from 10:30 until Wednesday 10:00, then 7.5 h: Thursday 09:30.
        (
            MONDAY_10,
            [("wait", at(2026, 11, 30, 10, 30)), ("in", at(2026, 12, 2, 10))],
            at(2026, 12, 3, 9, 30),
        ),
        # Friday 09:00, 7 h used when the wait starts at 16:00; answered on Saturday, the 1 h left
        # counts from Monday 09:00.
        (
            at(2026, 12, 4, 9),
            [("wait", at(2026, 12, 4, 16)), ("in", at(2026, 12, 5, 12))],
            at(2026, 12, 7, 10),
        ),
        # Waiting only outside business hours (Monday 18:00 to Tuesday 08:00) costs nothing.
        (
            MONDAY_10,
            [("wait", at(2026, 11, 30, 18)), ("in", at(2026, 12, 1, 8))],
            at(2026, 12, 1, 10),
        ),
    ],
    ids=["business hours", "paused across nights", "answered on a weekend", "paused out of hours"],
)
def test_a_business_hours_clock_stops_while_waiting(lab_office, created, moves, due):
    plan = SLAPlan.objects.create(
        name="Sev-C", grace_hours=8, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=lab_office
    )
    log = [clock.Move("intake", "open", created), *(clock.Move(NAMES[k], STATES[k], w) for k, w in moves)]
    assert clock.due_times_from_log(plan, priority=None, created_at=created, log=log)[1] == due


def test_daylight_saving_time_counts_the_hours_that_pass(db):
    """A window across the change of clocks (Berlin, Sunday 25 Oct 2026) lasts the hours that
    really pass: 01:00-04:00 on the wall is 4 h, as 03:00 comes twice."""
    night = BusinessHours.objects.create(name="Night shift", time_zone="Europe/Berlin")
    BusinessHoursWindow.objects.create(schedule=night, weekday=6, opens=time(1), closes=time(4))
    plan = SLAPlan.objects.create(
        name="Night", grace_hours=3, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=night
    )
    # Sunday 01:00 CEST is 23:00 UTC on Saturday; 3 h later it is 02:00 UTC, which the wall
    # shows as 03:00 CET (not 04:00, where counting wall-clock hours would end).
    start = at(2026, 10, 24, 23)
    assert clock.due_times(plan, start=start)[1] == at(2026, 10, 25, 2)


# -- boundaries found by mutation testing ------------------------------------------------------------


def test_a_business_hours_target_can_fall_due_at_closing_time(office):
    """Monday 09:00 Berlin + 8 h is 17:00 Berlin the same day, not Tuesday's opening."""
    plan = SLAPlan.objects.create(
        name="Sev-C", grace_hours=8, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=office
    )
    assert clock.due_times(plan, start=at(2026, 11, 30, 8))[1] == at(2026, 11, 30, 16)


def test_a_target_used_up_just_as_the_clock_stops_keeps_its_due_time(lab_office):
    """8 business hours from Monday 09:00 run out at 17:00; the question asked at 18:00 stops a
    clock that had already run out, so the target stays missed, due at 17:00."""
    plan = SLAPlan.objects.create(
        name="Sev-C", grace_hours=8, schedule=SLAPlan.Schedule.BUSINESS_HOURS, business_hours=lab_office
    )
    created = at(2026, 11, 30, 9)
    log = [
        clock.Move("intake", "open", created),
        clock.Move("request_info", "awaiting_user", at(2026, 11, 30, 18)),
    ]
    due = clock.due_times_from_log(plan, priority=None, created_at=created, log=log)
    assert due[1] == at(2026, 11, 30, 17)


def test_a_24_7_target_used_up_at_the_moment_of_the_pause_keeps_its_due_time(db):
    plan = SLAPlan.objects.create(name="Plan", grace_hours=1)
    log = log_of(("wait", at(2026, 11, 30, 11)))
    assert clock.due_times_from_log(plan, priority=None, created_at=MONDAY_10, log=log)[1] == at(
        2026, 11, 30, 11
    )
