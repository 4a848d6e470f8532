"""The dashboard as kept (tickets.reports.snapshots): the kept figures are exactly the computed
ones, whose view they are, when they are shown again or computed afresh, and the periodic job
that keeps them fresh, computes the readers' default view ahead and forgets what nobody reads.

The property test plays random sequences of moves through the services on a frozen clock and
checks that the figures the job kept equal a recomputation from the tickets and their log."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django_fsm import TransitionNotAllowed
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import AgentFactory
from tests.tickets.reports.test_figures import PERIOD, desk  # noqa: F401 (a fixture)
from tickets import catalog, services
from tickets.models import ReportSnapshot, Ticket
from tickets.reports import figures, snapshots
from tickets.reports.types import Dashboard, PeriodAsked, ReportFilters
from tickets.services import TicketActionError

NOW = datetime(2026, 12, 14, 12, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)

    def move(by: timedelta) -> datetime:
        time_machine.move_to(NOW + by, tick=False)
        return NOW + by

    return move


def test_the_kept_figures_are_the_computed_ones_exactly(lab, desk):  # noqa: F811
    found = figures.dashboard(lab.jane, PERIOD, ReportFilters(), now=PERIOD.end)
    assert found.stage_times[0].spread.count and found.trend and found.agents  # something to keep
    stored = json.loads(json.dumps(snapshots.encode(found)))
    assert snapshots.decode(Dashboard, stored) == found
    # Durations to the microsecond, and the "none" of an empty spread.
    assert snapshots.decode(timedelta, snapshots.encode(timedelta(days=400, microseconds=7))) == timedelta(
        days=400, microseconds=7
    )


def test_whose_view_the_figures_are(lab):
    assert snapshots.scope_of(lab.jane) == "all"
    john = snapshots.scope_of(lab.john)
    assert john.startswith("d") and john.endswith(f";u{lab.john.pk}")
    assert snapshots.scope_of(lab.karen) == "none"
    # Two supervisors who see every ticket share their figures; an agent's are his own.
    other = AgentFactory(username="judy", role="Supreme Admin")
    supervisor = AgentFactory(username="sam", role="Supervisor", departments=[lab.support])
    catalog.forget()
    assert snapshots.scope_of(other) == "all"
    assert snapshots.scope_of(supervisor) == f"d{lab.support.pk};t;u{supervisor.pk}"
    asked, none = PeriodAsked(), ReportFilters()
    assert snapshots.key_of("all", asked, none) != snapshots.key_of(john, asked, none)
    assert snapshots.key_of("all", asked, none) != snapshots.key_of("all", PeriodAsked(days=7), none)
    assert snapshots.key_of("all", asked, none) != snapshots.key_of("all", asked, ReportFilters(source="web"))


def test_shown_again_while_young_computed_again_when_old_or_asked_fresh(lab, new_ticket, frozen, settings):
    settings.REPORTS_MAX_AGE_SECONDS = 600
    asked, none = PeriodAsked(days=7), ReportFilters()
    first = snapshots.dashboard(lab.jane, asked, none)
    assert first.computed_at == NOW and sum(count for _, _, count in first.funnel) == 0
    frozen(timedelta(minutes=8))
    new_ticket()
    frozen(timedelta(minutes=9))
    kept = snapshots.dashboard(lab.jane, asked, none)
    assert kept == first
    assert ReportSnapshot.objects.get().viewed_at == NOW + timedelta(minutes=9)
    fresh = snapshots.dashboard(lab.jane, asked, none, fresh=True)
    assert fresh.computed_at == NOW + timedelta(minutes=9) and sum(c for _, _, c in fresh.funnel) == 1
    frozen(timedelta(minutes=19, seconds=1))
    assert snapshots.dashboard(lab.jane, asked, none).computed_at == NOW + timedelta(minutes=19, seconds=1)
    assert ReportSnapshot.objects.count() == 1


def test_a_kept_dashboard_is_one_query_and_marks_its_viewing_once_a_minute(
    lab, frozen, django_assert_num_queries
):
    asked, none = PeriodAsked(days=30), ReportFilters()
    snapshots.dashboard(lab.jane, asked, none)
    frozen(timedelta(seconds=30))
    with django_assert_num_queries(1):
        snapshots.dashboard(lab.jane, asked, none)
    frozen(timedelta(seconds=61))
    with django_assert_num_queries(2):  # and its viewing time
        snapshots.dashboard(lab.jane, asked, none)


def test_the_job_computes_the_readers_default_view_ahead(lab, frozen):
    done = snapshots.refresh()
    readers = {user.username for user in snapshots.readers()}
    assert "jane" in readers and "john" not in readers and "karen@example.com" not in readers
    row = ReportSnapshot.objects.get(scope="all")  # jane's view, and the admin's
    assert (row.days, row.viewed_at, row.computed_at) == (30, None, NOW)
    assert row.filters == snapshots.encode(ReportFilters())
    assert done.computed == ReportSnapshot.objects.count()
    # The next page view shows it without computing it.
    shown = snapshots.dashboard(lab.jane, PeriodAsked(), ReportFilters())
    assert shown == snapshots.decode(Dashboard, row.figures)
    # Nothing is due a minute later.
    frozen(timedelta(minutes=1))
    assert snapshots.refresh().computed == 0


def test_the_job_recomputes_what_was_looked_at_in_the_last_day(lab, new_ticket, frozen, settings):
    settings.REPORTS_REFRESH_SECONDS = 300
    snapshots.dashboard(lab.jane, PeriodAsked(days=7), ReportFilters(source="web"))
    snapshots.dashboard(lab.jane, PeriodAsked(days=90), ReportFilters())
    snapshots.refresh()
    frozen(timedelta(minutes=4))
    new_ticket()
    frozen(timedelta(minutes=5))
    done = snapshots.refresh()
    assert done.computed == 3  # the two looked at and the default view
    assert set(ReportSnapshot.objects.values_list("computed_at", flat=True)) == {NOW + timedelta(minutes=5)}
    kept = snapshots.dashboard(lab.jane, PeriodAsked(days=7), ReportFilters(source="web"))
    assert sum(count for _, _, count in kept.funnel) == 1
    # A day after anyone looked, a dashboard is no longer recomputed; after a week it is gone.
    frozen(timedelta(days=1))
    snapshots.dashboard(lab.jane, PeriodAsked(days=7), ReportFilters(source="web"))
    frozen(timedelta(days=1, minutes=10))
    assert snapshots.refresh().computed == 2  # the one looked at today, and the default view
    frozen(timedelta(days=8, hours=1))
    done = snapshots.refresh()
    assert done.forgotten == 2 and ReportSnapshot.objects.count() == 1  # the default view stays


def test_the_job_forgets_the_figures_of_who_may_no_longer_read_them_or_sees_other_tickets(lab, frozen):
    agent = AgentFactory(username="sam", role="Supervisor", departments=[lab.support])
    catalog.forget()
    snapshots.dashboard(agent, PeriodAsked(days=7), ReportFilters())
    snapshots.dashboard(lab.jane, PeriodAsked(days=7), ReportFilters())
    agent.groups.set([Group.objects.get(name="Agent")])
    agent = type(agent).objects.get(pk=agent.pk)  # the permissions read again
    frozen(timedelta(minutes=10))
    done = snapshots.refresh()
    assert not ReportSnapshot.objects.filter(user=agent).exists() and done.forgotten == 1
    assert ReportSnapshot.objects.filter(scope="all").count() == 2  # jane's and the default view


def test_the_job_stops_when_its_time_is_up_and_takes_the_oldest_first_next_time(lab, frozen):
    for days in (7, 30, 90):
        snapshots.dashboard(lab.jane, PeriodAsked(days=days), ReportFilters())
    frozen(timedelta(minutes=10))
    done = snapshots.refresh(budget_seconds=-1)
    assert (done.computed, done.left) == (0, 3)
    assert snapshots.refresh().computed == 3


# -- the property: what the job kept is a recomputation from the log --------------------------------

MOVES = ["claim", "work", "ask", "answer", "resolve", "reopen", "close", "escalate", "confirm"]


def _move(lab, ticket: Ticket, name: str) -> None:
    ticket.refresh_from_db()
    act = {
        "claim": lambda: services.ticket_claim(ticket=ticket, actor=lab.john),
        "work": lambda: services.ticket_start_work(ticket=ticket, actor=lab.john),
        "ask": lambda: services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which one?"),
        "answer": lambda: services.ticket_receive_reply(ticket=ticket, body="This one.", actor=lab.karen),
        "resolve": lambda: services.ticket_resolve(ticket=ticket, actor=lab.jane, message="Fixed."),
        "reopen": lambda: services.ticket_reopen(ticket=ticket, actor=lab.jane, reason="Still broken."),
        "close": lambda: services.ticket_close(ticket=ticket, actor=lab.jane),
        "escalate": lambda: services.ticket_escalate(
            ticket=ticket, actor=lab.jane, summary="Needs the bank.", team=lab.online_banking
        ),
        "confirm": lambda: services.ticket_confirm_fix(ticket=ticket, actor=lab.karen),
    }[name]
    # A move this ticket cannot make now is refused, and the sequence goes on.
    with suppress(TransitionNotAllowed, TicketActionError, PermissionDenied, ValidationError):
        act()


@hypothesis_settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plays=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(MOVES), st.integers(1, 600)), min_size=1, max_size=25
    )
)
def test_what_the_job_keeps_equals_a_recomputation_from_the_log(lab, new_ticket, time_machine, plays):
    with transaction.atomic():
        start = datetime(2026, 12, 1, 9, tzinfo=UTC)
        time_machine.move_to(start, tick=False)
        tickets = [new_ticket(subject=f"Ticket {n}") for n in range(3)]
        now = start
        for which, name, minutes in plays:
            now += timedelta(minutes=minutes)
            time_machine.move_to(now, tick=False)
            _move(lab, tickets[which], name)
        now += timedelta(hours=1)
        time_machine.move_to(now, tick=False)
        snapshots.refresh()
        for row in ReportSnapshot.objects.select_related("user"):
            asked = PeriodAsked(days=row.days, first=row.first_day, last=row.last_day)
            again = figures.dashboard(row.user, asked.period(now), ReportFilters(), now=now)
            assert snapshots.decode(Dashboard, row.figures) == again
            assert sum(count for _, _, count in again.funnel) == 3
        transaction.set_rollback(True)
