"""The dashboard's figures (tickets.reports.figures and .sla), each checked exactly on histories
built through the services on a frozen clock: time in each stage with a pause, waiting on the
requester apart from the desk, attainment under business hours across a weekend, the reopen,
escalation and follow-up rates, the trend, the load per team, agent and help topic, each filter,
and who sees what. Runs on SQLite and on PostgreSQL (``percentile_disc``) alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services
from tickets.models import HelpTopic, Priority, SLAPlan, State, Ticket
from tickets.reports import figures
from tickets.reports.types import Attainment, DayCount, LoadRow, Period, ReportFilters, Spread

H = timedelta(hours=1)
M = timedelta(minutes=1)
# Two weeks from Monday 30 November 2026 (UTC, the lab's zone).
PERIOD = Period(datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 14, tzinfo=UTC))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 30 (day 30) or of December (days 1 to 13), 2026, UTC."""
    return datetime(2026, 11 if day == 30 else 12, day, hour, minute, tzinfo=UTC)


@dataclass
class Desk:
    paused: Ticket
    bounced: Ticket
    weekend: Ticket
    sysadmins: Ticket
    follow_up: Ticket


@pytest.fixture
def desk(lab, new_ticket, time_machine) -> Desk:
    """Five tickets, each moved through the services at the times its comments give.

    paused     Mon 30 09:00, Support, Normal (Default SLA 4 h / 18 h), web: claimed by John
               10:00, work 11:00, asks Karen 12:00, she answers 15:00, resolved 17:00, closed
               Tue 09:00.
    bounced    Tue 1 09:00: claimed by John 09:30, resolved 10:00, reopened by Karen 11:00,
               escalated by John to Online Banking 12:00, claimed there by Jane 13:00 (still
               escalated), resolved by Jane 15:00.
    sysadmins  Tue 1 10:30, SysAdmins, High (Default SLA 2 h / 8 h), e-mail: claimed by Jane
               11:00, resolved 14:00 (its first response, due 12:30, late).
    follow_up  Wed 2 09:00, phone, "Report a Problem / Access Issue", a follow-up of paused: open.
    weekend    Fri 4 15:00, "Payments" on Sev-C (business hours Mon-Fri 9-17 UTC, 4 h / 8 h):
               John replies Mon 7 10:30, claims it 11:00, resolves it 16:00.
    """

    def move_to(when: datetime) -> None:
        time_machine.move_to(when, tick=False)

    sev_c = SLAPlan.objects.get(name="Sev-C")
    payments = HelpTopic.objects.create(name="Payments", sla=sev_c, department=lab.support)

    move_to(at(30, 9))
    paused = new_ticket(subject="Printer jams")
    move_to(at(30, 10))
    services.ticket_claim(ticket=paused, actor=lab.john)
    move_to(at(30, 11))
    services.ticket_start_work(ticket=paused, actor=lab.john)
    move_to(at(30, 12))
    services.ticket_request_info(ticket=paused, actor=lab.john, message="Which printer?")
    move_to(at(30, 15))
    services.ticket_receive_reply(ticket=paused, body="The one on floor 2.", actor=lab.karen)
    move_to(at(30, 17))
    services.ticket_resolve(ticket=paused, actor=lab.john, message="Cleaned the rollers.")
    move_to(at(1, 9))
    services.ticket_close(ticket=paused, actor=lab.john)

    bounced = new_ticket(subject="Card blocked")
    move_to(at(1, 9, 30))
    services.ticket_claim(ticket=bounced, actor=lab.john)
    move_to(at(1, 10))
    services.ticket_resolve(ticket=bounced, actor=lab.john, message="Unblocked.")
    move_to(at(1, 10) + 30 * M)
    sysadmins = new_ticket(
        subject="Server down",
        department=lab.sysadmins,
        source=Ticket.Source.EMAIL,
        priority_hint=Priority.objects.get(name="High"),
    )
    move_to(at(1, 11))
    services.ticket_requester_reopen(ticket=bounced, reason="Still blocked.", actor=lab.karen)
    services.ticket_claim(ticket=sysadmins, actor=lab.jane)
    move_to(at(1, 12))
    bounced.refresh_from_db()
    services.ticket_escalate(ticket=bounced, actor=lab.john, team=lab.online_banking, summary="Bank side.")
    move_to(at(1, 13))
    services.ticket_claim(ticket=bounced, actor=lab.jane)
    move_to(at(1, 14))
    services.ticket_resolve(ticket=sysadmins, actor=lab.jane, message="Rebooted.")
    move_to(at(1, 15))
    services.ticket_resolve(ticket=bounced, actor=lab.jane, message="Unblocked at the bank.")

    move_to(at(2, 9))
    follow_up = new_ticket(
        subject="Printer jams again",
        topic="Report a Problem / Access Issue",
        source=Ticket.Source.PHONE,
        follow_up_of=paused,
    )

    move_to(at(4, 15))
    weekend = services.ticket_create(
        requester=lab.karen.requester,
        subject="Refund",
        body="Where is it?",
        help_topic=payments,
        actor=lab.karen,
    )
    move_to(at(7, 10, 30))
    services.ticket_reply(ticket=weekend, actor=lab.john, body="Looking into it.")
    move_to(at(7, 11))
    services.ticket_claim(ticket=weekend, actor=lab.john)
    move_to(at(7, 16))
    services.ticket_resolve(ticket=weekend, actor=lab.john, message="Refunded.")
    return Desk(paused, bounced, weekend, sysadmins, follow_up)


def spread(count: int, median: timedelta | None, p90: timedelta | None) -> Spread:
    return Spread(count, median, p90)


def test_the_tickets_carry_the_outcomes_the_clock_gave_them(desk):
    for ticket in (desk.paused, desk.bounced, desk.weekend, desk.sysadmins):
        ticket.refresh_from_db()
    assert (desk.paused.first_response_met, desk.paused.resolution_met) == (True, True)
    assert (desk.bounced.first_response_met, desk.bounced.resolution_met) == (True, True)
    # Sev-C counts Friday 15-17 and Monday from 9: the reply on Monday 10:30 was within 4 open
    # hours (due Monday 11:00), the resolve at 16:00 was past 8 (due Monday 15:00).
    assert (desk.weekend.first_response_met, desk.weekend.resolution_met) == (True, False)
    assert (desk.sysadmins.first_response_met, desk.sysadmins.resolution_met) == (False, True)
    assert desk.weekend.resolved_at - desk.weekend.created_at == 73 * H


def test_time_in_each_stage_with_a_pause(lab, desk):
    stages = {s.state: s for s in figures.dashboard(lab.jane, PERIOD, ReportFilters()).stage_times}
    assert [s for s in stages] == [state.value for state in State]
    assert [s.label for s in stages.values()] == [state.label for state in State]
    assert stages["new"].spread == spread(5, timedelta(0), timedelta(0))
    # paused 1 h, bounced and sysadmins 30 min, weekend from Friday 15:00 to Monday 11:00.
    assert stages["open"].spread == spread(4, 30 * M, 68 * H)
    assert stages["assigned"].spread == spread(4, H, 5 * H)
    # The pause: awaiting Karen from 12:00 to 15:00.
    assert stages["awaiting_user"].spread == spread(1, 3 * H, 3 * H)
    # paused before and after the pause, bounced after its reopen.
    assert stages["in_progress"].spread == spread(3, H, 2 * H)
    # Jane's claim at 13:00 kept the stage: one stay from 12:00 to 15:00.
    assert stages["escalated"].spread == spread(1, 3 * H, 3 * H)
    # paused until its close the next morning, bounced until Karen reopened it.
    assert stages["resolved"].spread == spread(2, H, 16 * H)
    assert stages["closed"].spread == spread(0, None, None)


def test_a_stay_counts_in_the_period_it_ended_in(lab, desk):
    # Monday 30 only: paused's stays up to its resolve at 17:00; the resolved stay ends on Tuesday.
    monday = Period(at(30, 0), at(1, 0))
    stages = {s.state: s.spread for s in figures.dashboard(lab.jane, monday, ReportFilters()).stage_times}
    assert stages["in_progress"] == spread(2, H, 2 * H)
    assert stages["resolved"] == spread(0, None, None)
    tuesday = Period(at(1, 0), at(2, 0))
    stages = {s.state: s.spread for s in figures.dashboard(lab.jane, tuesday, ReportFilters()).stage_times}
    assert stages["resolved"] == spread(2, H, 16 * H)


def test_waiting_on_the_requester_apart_from_the_desk(lab, desk):
    board = figures.dashboard(lab.jane, PERIOD, ReportFilters())
    # Resolved in the period: paused (8 h, 3 of them awaiting Karen), bounced 6 h, sysadmins
    # 3 h 30, weekend 73 h.
    assert board.waiting_on_requester == spread(4, timedelta(0), 3 * H)
    assert board.with_desk == spread(4, 5 * H, 73 * H)


def test_attainment_counts_what_each_ticket_met(lab, desk):
    board = figures.dashboard(lab.jane, PERIOD, ReportFilters())
    # First responses: paused at 12:00 (due 13:00), bounced by its resolve, weekend on Monday
    # (business hours) met; sysadmins, High, answered by its resolve 3 h 30 after creation,
    # missed. Resolutions: weekend missed its 8 open hours.
    assert board.attainment == [
        Attainment("first_response", "First response", 3, 1),
        Attainment("resolution", "Resolution", 3, 1),
    ]
    assert board.attainment[1].percent == 75.0


def test_attainment_under_business_hours_across_a_weekend(lab, desk):
    payments = HelpTopic.objects.get(name="Payments")
    board = figures.dashboard(lab.jane, PERIOD, ReportFilters(help_topic_id=payments.pk))
    assert board.attainment == [
        Attainment("first_response", "First response", 1, 0),
        Attainment("resolution", "Resolution", 0, 1),
    ]


def test_a_late_first_response_is_missed(lab, desk, time_machine):
    """A ticket of High priority (Default SLA: 2 hours to a first response) answered in 3."""
    time_machine.move_to(at(8, 9), tick=False)
    ticket = services.ticket_create(
        requester=lab.karen.requester, subject="Urgent", body="Now.", actor=lab.karen,
        priority_hint=Priority.objects.get(name="High"),
    )
    time_machine.move_to(at(8, 12), tick=False)
    services.ticket_reply(ticket=ticket, actor=lab.john, body="On it.")
    ticket.refresh_from_db()
    assert ticket.first_response_met is False
    board = figures.dashboard(lab.jane, Period(at(8, 0), at(9, 0)), ReportFilters())
    assert board.attainment[0] == Attainment("first_response", "First response", 0, 1)
    assert board.attainment[1] == Attainment("resolution", "Resolution", 0, 0)
    assert board.attainment[1].percent is None


def test_reopen_escalation_and_follow_up_rates(lab, desk):
    rates = {r.key: r for r in figures.dashboard(lab.jane, PERIOD, ReportFilters()).rates}
    # One reopen (bounced) over five resolves (paused, bounced twice, sysadmins, weekend).
    assert (rates["reopen"].numerator, rates["reopen"].denominator, rates["reopen"].percent) == (1, 5, 20.0)
    # Of five tickets created, bounced was escalated, follow_up follows paused up.
    assert (rates["escalation"].numerator, rates["escalation"].denominator) == (1, 5)
    assert (rates["follow_up"].numerator, rates["follow_up"].denominator) == (1, 5)
    assert [r.label for r in rates.values()] == ["Reopen rate", "Escalation rate", "Follow-up rate"]
    assert all(r.explained for r in rates.values())


def test_the_funnel_counts_the_period_s_tickets_by_their_stage_now(lab, desk):
    funnel = figures.dashboard(lab.jane, PERIOD, ReportFilters()).funnel
    assert funnel == [
        ("new", "New", 0),
        ("open", "Open", 1),
        ("assigned", "Assigned", 0),
        ("awaiting_user", "Awaiting user", 0),
        ("in_progress", "In progress", 0),
        ("escalated", "Escalated", 0),
        ("resolved", "Resolved", 3),
        ("closed", "Closed", 1),
    ]


def test_the_trend_counts_created_and_closed_per_day(lab, desk, time_machine):
    time_machine.move_to(at(2, 10), tick=False)
    services.ticket_cancel(ticket=desk.follow_up, actor=lab.jane, reason="Duplicate of the first.")
    trend = figures.dashboard(lab.jane, PERIOD, ReportFilters()).trend
    assert [d.day for d in trend] == [date(2026, 11, 30) + timedelta(days=n) for n in range(14)]
    assert trend[:6] == [
        DayCount(date(2026, 11, 30), 1, 0),
        DayCount(date(2026, 12, 1), 2, 1),  # paused closed
        DayCount(date(2026, 12, 2), 1, 1),  # follow_up cancelled
        DayCount(date(2026, 12, 3), 0, 0),
        DayCount(date(2026, 12, 4), 1, 0),
        DayCount(date(2026, 12, 5), 0, 0),
    ]
    assert sum(d.created for d in trend) == 5


def test_load_per_team_agent_and_help_topic(lab, desk):
    board = figures.dashboard(lab.jane, PERIOD, ReportFilters())
    assert board.teams == [LoadRow(lab.online_banking.pk, "Online Banking", 0, 1, 6 * H)]
    # John resolved paused (8 h) and weekend (73 h); Jane bounced (6 h) and sysadmins (3 h 30).
    assert board.agents == [
        LoadRow(lab.jane.pk, "Jane Doe", 0, 2, 3 * H + 30 * M),
        LoadRow(lab.john.pk, "John Doe", 0, 2, 8 * H),
    ]
    problem = lab.topic("Report a Problem")
    payments = HelpTopic.objects.get(name="Payments")
    assert board.slowest_topics == [
        LoadRow(payments.pk, "Payments", 0, 1, 73 * H),
        LoadRow(problem.pk, "Report a Problem", 0, 3, 6 * H),
    ]


def test_the_open_load_is_now_whatever_the_period(lab, desk, time_machine):
    time_machine.move_to(at(8, 9), tick=False)
    services.ticket_claim(ticket=desk.follow_up, actor=lab.john)
    board = figures.dashboard(lab.jane, Period(at(20, 0), at(21, 0)), ReportFilters())
    assert board.agents == [LoadRow(lab.john.pk, "John Doe", 1, 0, None)]
    assert board.teams == [] and board.slowest_topics == []


@pytest.mark.parametrize(
    ("narrowed", "created"),
    [
        (lambda lab: ReportFilters(department_id=lab.sysadmins.pk), ["sysadmins"]),
        (lambda lab: ReportFilters(team_id=lab.online_banking.pk), ["bounced"]),
        (lambda lab: ReportFilters(agent_id=lab.john.pk), ["paused", "weekend"]),
        (
            lambda lab: ReportFilters(help_topic_id=lab.topic("Report a Problem").pk),
            ["paused", "bounced", "sysadmins", "follow_up"],
        ),
        (
            lambda lab: ReportFilters(help_topic_id=lab.topic("Report a Problem / Access Issue").pk),
            ["follow_up"],
        ),
        (
            lambda lab: ReportFilters(priority_id=Priority.objects.get(name="Normal").pk),
            ["paused", "bounced", "weekend", "follow_up"],
        ),
        (lambda lab: ReportFilters(priority_id=Priority.objects.get(name="High").pk), ["sysadmins"]),
        (lambda lab: ReportFilters(priority_id=Priority.objects.get(name="Low").pk), []),
        (lambda lab: ReportFilters(source=Ticket.Source.EMAIL), ["sysadmins"]),
        (lambda lab: ReportFilters(source=Ticket.Source.PHONE), ["follow_up"]),
    ],
    ids=[
        "department",
        "team",
        "agent",
        "topic with its sub-topic",
        "sub-topic",
        "priority",
        "another priority",
        "no match",
        "source e-mail",
        "source phone",
    ],
)
def test_each_filter_narrows_every_figure(lab, desk, narrowed, created):
    tickets = [getattr(desk, name) for name in created]
    for ticket in tickets:
        ticket.refresh_from_db()
    board = figures.dashboard(lab.jane, PERIOD, narrowed(lab))
    assert sum(count for _, _, count in board.funnel) == len(tickets)
    assert sum(d.created for d in board.trend) == len(tickets)
    resolved = [t for t in tickets if t.resolved_at is not None]
    assert board.with_desk.count == len(resolved)
    assert sum(a.total for a in board.attainment if a.target == "resolution") == len(resolved)
    assert {row.key_id for row in board.agents} == {t.assignee_id for t in resolved}
    assert next(s for s in board.stage_times if s.state == "new").spread.count == len(tickets)


def test_an_agent_counts_only_the_tickets_they_may_see(lab, desk):
    """John (Support) does not see the SysAdmins ticket; Jane sees every ticket."""
    johns = figures.dashboard(lab.john, PERIOD, ReportFilters())
    janes = figures.dashboard(lab.jane, PERIOD, ReportFilters())
    assert sum(c for *_, c in johns.funnel) == 4
    assert sum(c for *_, c in janes.funnel) == 5
    assert johns.attainment == [
        Attainment("first_response", "First response", 3, 0),
        Attainment("resolution", "Resolution", 2, 1),
    ]
    # Jane is among John's agents for the escalated ticket he can see, not for the SysAdmins one.
    assert [(row.name, row.resolved) for row in johns.agents] == [("Jane Doe", 1), ("John Doe", 2)]
    assert next(r for r in johns.rates if r.key == "reopen").denominator == 4


def test_the_dashboard_costs_the_same_queries_for_3_and_30_tickets(lab, new_ticket):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            figures.dashboard(lab.jane, Period.last_days(30, datetime.now(UTC) + H), ReportFilters())
        return len(captured)

    def tickets(count: int) -> None:
        for n in range(count):
            ticket = new_ticket(subject=f"Ticket {n}")
            services.ticket_claim(ticket=ticket, actor=lab.john)
            if n % 2:
                services.ticket_resolve(ticket=ticket, actor=lab.john, message="Done.")

    tickets(3)
    queries()  # the catalog and Jane's permissions, read once and kept in the cache
    few = queries()
    tickets(27)
    assert Ticket.objects.count() == 30
    assert queries() == few
    assert few <= 10
