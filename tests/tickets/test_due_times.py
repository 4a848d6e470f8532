"""Due times on real tickets, moved through the services on a frozen clock: each case with the
exact due time expected. The arithmetic itself is in test_sla.py."""

from datetime import UTC, datetime, timedelta

import pytest

from tickets import services
from tickets.models import Priority, SLAPlan, Ticket


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_10 = at(2026, 11, 30, 10)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    return time_machine


@pytest.fixture
def ticket(clock, lab, new_ticket):
    """Karen's ticket, opened Monday 10:00 with the Default SLA (18 h; first response 4 h) and
    taken by John."""
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    return ticket


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_intake_sets_both_targets(ticket):
    assert (ticket.first_response_due, ticket.resolution_due) == (at(2026, 11, 30, 14), at(2026, 12, 1, 4))


def test_a_priority_change_retargets_from_creation(clock, lab, ticket):
    """The Default SLA answers Emergency in 4 h (first response 1 h) instead of 18 h."""
    clock.move_to(at(2026, 11, 30, 10, 30))
    services.ticket_update_properties(
        ticket=ticket, actor=lab.john, priority=Priority.objects.get(name="Emergency")
    )
    ticket = fresh(ticket)
    assert (ticket.first_response_due, ticket.resolution_due) == (at(2026, 11, 30, 11), at(2026, 11, 30, 14))
    # And back to Normal: the plan's own hours again.
    services.ticket_update_properties(
        ticket=ticket, actor=lab.john, priority=Priority.objects.get(name="Normal")
    )
    assert fresh(ticket).resolution_due == at(2026, 12, 1, 4)


def test_a_plan_change_retargets_from_creation(clock, lab, ticket):
    clock.move_to(at(2026, 11, 30, 10, 20))
    services.ticket_update_properties(
        ticket=ticket, actor=lab.john, sla_plan=SLAPlan.objects.get(name="Sev-B")
    )
    assert fresh(ticket).resolution_due == at(2026, 11, 30, 14)


def test_a_business_hours_plan_counts_office_hours(clock, lab, ticket):
    """Sev-C: 8 h of Monday-Friday 09:00-17:00 UTC from Monday 10:00 is Tuesday 10:00."""
    services.ticket_update_properties(
        ticket=ticket, actor=lab.john, sla_plan=SLAPlan.objects.get(name="Sev-C")
    )
    ticket = fresh(ticket)
    assert (ticket.first_response_due, ticket.resolution_due) == (at(2026, 11, 30, 14), at(2026, 12, 1, 10))


def test_the_clock_stops_while_waiting_and_resumes_on_the_reply(clock, lab, karen, ticket):
    clock.move_to(at(2026, 11, 30, 11))
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
    ticket = fresh(ticket)
    # The question was the first public reply; the resolution clock is stopped.
    assert (ticket.first_response_due, ticket.resolution_due) == (None, None)
    assert ticket.first_responded_at == at(2026, 11, 30, 11)
    clock.move_to(at(2026, 11, 30, 15))
    services.ticket_receive_reply(ticket=ticket, body="Firefox.", actor=lab.karen)
    # 1 h used before the question; 17 h left from 15:00.
    assert fresh(ticket).resolution_due == at(2026, 12, 1, 8)


def test_a_retarget_while_waiting_keeps_the_pause(clock, lab, ticket):
    clock.move_to(at(2026, 11, 30, 11))
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
    clock.move_to(at(2026, 11, 30, 12))
    services.ticket_update_properties(
        ticket=fresh(ticket), actor=lab.john, priority=Priority.objects.get(name="Emergency")
    )
    assert fresh(ticket).resolution_due is None  # still waiting
    clock.move_to(at(2026, 11, 30, 16))
    services.ticket_receive_reply(ticket=fresh(ticket), body="Firefox.", actor=lab.karen)
    # Emergency: 4 h, of which 1 h ran before the question; 3 h from 16:00.
    assert fresh(ticket).resolution_due == at(2026, 11, 30, 19)


def test_escalation_gives_the_new_tier_a_fresh_target(clock, lab, ticket):
    clock.move_to(at(2026, 11, 30, 13))
    services.ticket_escalate(ticket=ticket, actor=lab.john, team=lab.online_banking, summary="Gateway.")
    assert fresh(ticket).resolution_due == at(2026, 12, 1, 7)  # 13:00 + 18 h


def test_resolved_time_does_not_count_after_a_reopen(clock, lab, ticket):
    clock.move_to(at(2026, 11, 30, 12))
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Cleared the cache.")
    assert fresh(ticket).resolution_due is None
    clock.move_to(at(2026, 12, 2, 9))
    services.ticket_reopen(ticket=fresh(ticket), actor=lab.karen, reason="It is back.")
    # 2 h used; 16 h left from Wednesday 09:00.
    assert fresh(ticket).resolution_due == at(2026, 12, 3, 1)


def test_the_first_public_reply_meets_the_first_response_target(clock, lab, ticket):
    clock.move_to(at(2026, 11, 30, 10, 30))
    services.ticket_note(ticket=ticket, actor=lab.john, body="Looking into it.")
    assert fresh(ticket).first_response_due == at(2026, 11, 30, 14)  # a note is not a response
    clock.move_to(at(2026, 11, 30, 10, 45))
    services.ticket_reply(ticket=fresh(ticket), actor=lab.john, body="We are on it.")
    ticket = fresh(ticket)
    assert (ticket.first_response_due, ticket.first_responded_at) == (None, at(2026, 11, 30, 10, 45))
    # A later re-target does not bring the met target back.
    services.ticket_update_properties(
        ticket=ticket, actor=lab.john, priority=Priority.objects.get(name="High")
    )
    ticket = fresh(ticket)
    assert (ticket.first_response_due, ticket.resolution_due) == (None, at(2026, 11, 30, 18))


def test_due_times_agree_with_the_log_after_any_sequence(clock, lab, karen, ticket):
    """Whatever the moves, the stored due time is the one the log gives."""
    from tickets.sla import clock as sla

    steps = [
        (
            timedelta(minutes=30),
            lambda t: services.ticket_request_info(ticket=t, actor=lab.john, message="?"),
        ),
        (timedelta(hours=2), lambda t: services.ticket_receive_reply(ticket=t, body="!", actor=lab.karen)),
        (timedelta(minutes=10), lambda t: services.ticket_resolve(ticket=t, actor=lab.john, message="Done.")),
        (timedelta(hours=5), lambda t: services.ticket_reopen(ticket=t, actor=lab.karen, reason="No.")),
        (timedelta(minutes=5), lambda t: services.ticket_request_info(ticket=t, actor=lab.john, message="?")),
        (timedelta(hours=1), lambda t: services.ticket_receive_reply(ticket=t, body="!", actor=lab.karen)),
    ]
    now = MONDAY_10
    for delay, step in steps:
        now += delay
        clock.move_to(now)
        step(fresh(ticket))
    ticket = fresh(ticket)
    log = [sla.Move(t.name, t.target, t.created_at) for t in ticket.transitions.all()]
    assert (
        ticket.resolution_due
        == sla.due_times_from_log(
            ticket.sla, priority=ticket.priority, created_at=ticket.created_at, log=log
        )[1]
    )
    # Worked 10:00-10:30, 12:30-12:40 and 17:40-17:45 (45 min); running again since 18:45.
    assert ticket.resolution_due == at(2026, 11, 30, 18, 45) + timedelta(hours=18) - timedelta(minutes=45)
