"""The SLA outcomes the services store as each target is reached (``Ticket.first_response_met``,
``resolution_met``) equal a replay of the ticket's transition log by the SLA clock: on hand-built
cases, by property over random sequences of moves (on a frozen clock moved on by random amounts,
under the business-hours plan and a 24/7 one), and after ``manage.py rebuild_reports`` (and the
data migration that filled them) recomputed them.

The property's examples are derandomized (the same every run); ``SLA_PROPERTY_EXPLORE=1`` draws
new ones and ``SLA_PROPERTY_SCALE=10`` tries ten times as many. Each runs in a savepoint rolled
back at its end, against the lab made once for the test."""

from __future__ import annotations

import importlib
import io
import os
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from hypothesis import HealthCheck, event, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tickets import services
from tickets.models import HelpTopic, Priority, SLAPlan, State, Ticket
from tickets.reports import sla
from tickets.sla import clock

EXPLORE = os.environ.get("SLA_PROPERTY_EXPLORE") == "1"
SCALE = int(os.environ.get("SLA_PROPERTY_SCALE", "1"))
MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)
H = timedelta(hours=1)


def replayed(ticket: Ticket) -> tuple[bool | None, bool | None]:
    ticket.refresh_from_db()
    rows = ticket.transitions.order_by("created_at", "id")
    log = [clock.Move(row.name, row.target, row.created_at) for row in rows]
    return sla.replayed_outcomes(
        ticket.sla,
        priority=ticket.priority,
        created_at=ticket.created_at,
        first_responded_at=ticket.first_responded_at,
        log=log,
    )


def stored(ticket: Ticket) -> tuple[bool | None, bool | None]:
    ticket.refresh_from_db()
    return ticket.first_response_met, ticket.resolution_met


# -- by hand -------------------------------------------------------------------------------------


def test_a_new_resolve_after_a_reopen_overwrites_the_outcome(lab, new_ticket, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    ticket = new_ticket()  # Default SLA, Normal: 4 hours to a first response, 18 to resolve
    time_machine.move_to(MONDAY + H, tick=False)
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Done.")
    assert stored(ticket) == (True, True)
    time_machine.move_to(MONDAY + 2 * H, tick=False)
    services.ticket_requester_reopen(ticket=ticket, reason="Not done.", actor=lab.karen)
    assert stored(ticket) == (True, True)  # the last resolve's, until the next one
    time_machine.move_to(MONDAY + 30 * H, tick=False)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Done now.")
    assert stored(ticket) == (True, False)
    assert replayed(ticket) == (True, False)


def test_resolving_while_the_requester_is_awaited_meets_a_target_not_missed(lab, new_ticket, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    time_machine.move_to(MONDAY + H, tick=False)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Still there?")
    # The clock stopped with 17 of its 18 hours left: a resolve days later is on time.
    time_machine.move_to(MONDAY + 100 * H, tick=False)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="No answer; closing it.")
    assert stored(ticket) == replayed(ticket) == (True, True)


def test_a_ticket_without_a_plan_has_no_outcome(lab, new_ticket, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    ticket = new_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(sla=None, first_response_due=None, resolution_due=None)
    ticket.refresh_from_db()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Done.")
    assert stored(ticket) == replayed(ticket) == (None, None)


def test_a_plan_without_a_first_response_target_counts_only_the_resolution(lab, new_ticket, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    plan = SLAPlan.objects.create(name="Resolve only", grace_hours=2)
    HelpTopic.objects.create(name="Slow lane", sla=plan)
    ticket = new_ticket(topic="Slow lane")
    services.ticket_claim(ticket=ticket, actor=lab.john)
    time_machine.move_to(MONDAY + 3 * H, tick=False)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Done.")
    assert stored(ticket) == replayed(ticket) == (None, False)


# -- by property ---------------------------------------------------------------------------------


@contextmanager
def _example():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _settings(examples: int) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        print_blob=EXPLORE,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _moves(ticket: Ticket) -> list[str]:
    """What may be done to the ticket now (Jane, a Supreme Admin, is the agent; Karen the requester)."""
    state, tier, assigned = ticket.state, ticket.tier, ticket.assignee_id is not None
    moves = {
        State.OPEN: ["claim", "reply"],
        State.ASSIGNED: ["start", "ask", "resolve", "reply", "escalate"],
        State.IN_PROGRESS: ["ask", "resolve", "reply", "escalate"],
        State.AWAITING_USER: ["answer", "resolve", "escalate"],
        # Only Jane takes tickets: one she already has cannot be taken again.
        State.ESCALATED: ["resolve", "reply", *(["ask"] if assigned else ["claim"])],
        State.RESOLVED: ["reopen", "close", "reply"],
        State.CLOSED: [],
    }[state]
    return [m for m in moves if m != "escalate" or tier == 1]


def _move(name: str, ticket: Ticket, lab) -> None:
    jane = lab.jane
    match name:
        case "claim":
            services.ticket_claim(ticket=ticket, actor=jane)
        case "start":
            services.ticket_start_work(ticket=ticket, actor=jane)
        case "ask":
            services.ticket_request_info(ticket=ticket, actor=jane, message="A question.")
        case "answer":
            services.ticket_receive_reply(ticket=ticket, body="An answer.", actor=lab.karen)
        case "reply":
            services.ticket_reply(ticket=ticket, actor=jane, body="A reply.")
        case "escalate":
            services.ticket_escalate(ticket=ticket, actor=jane, team=lab.online_banking, summary="Up.")
        case "resolve":
            services.ticket_resolve(ticket=ticket, actor=jane, message="Fixed.")
        case "reopen":
            services.ticket_requester_reopen(ticket=ticket, reason="Not fixed.", actor=lab.karen)
        case "close":
            services.ticket_close(ticket=ticket, actor=jane)
    ticket.refresh_from_db()


# A second to an hour (moves in quick succession), or up to four days (nights and weekends).
ADVANCE = st.one_of(st.integers(1, 3600), st.integers(3600, 4 * 24 * 3600)).map(
    lambda s: timedelta(seconds=s)
)


@pytest.fixture
def plans(lab):
    """A help topic on each plan: Sev-C (business hours Mon-Fri 9-17 UTC) and the Default SLA
    (24/7, sooner for High and Emergency)."""
    return {
        name: HelpTopic.objects.create(name=f"On {name}", sla=SLAPlan.objects.get(name=name))
        for name in ("Sev-C", "Default SLA")
    }


@pytest.mark.django_db
@_settings(100)
@given(data=st.data())
def test_the_stored_outcomes_equal_the_replay_of_the_log(lab, plans, time_machine, data):
    plan = data.draw(st.sampled_from(sorted(plans)), label="plan")
    priority = data.draw(st.sampled_from(["Low", "Normal", "High", "Emergency"]), label="priority")
    now = MONDAY + data.draw(st.integers(0, 7 * 24 * 3600).map(lambda s: timedelta(seconds=s)), label="start")
    with _example():
        time_machine.move_to(now, tick=False)
        ticket = services.ticket_create(
            requester=lab.karen.requester,
            subject="Something",
            body="Broken.",
            help_topic=plans[plan],
            actor=lab.karen,
            priority_hint=Priority.objects.get(name=priority),
        )
        for _ in range(data.draw(st.integers(2, 14), label="moves")):
            choices = _moves(ticket)
            if not choices:
                break
            now += data.draw(ADVANCE)
            time_machine.move_to(now, tick=False)
            move = data.draw(st.sampled_from(choices))
            note(f"{now:%a %d %H:%M:%S} {move}")
            _move(move, ticket, lab)
        outcome = stored(ticket)
        event(f"first response {outcome[0]}, resolution {outcome[1]}")
        assert outcome == replayed(ticket)
        # A target there was is never left uncounted once reached.
        assert (outcome[0] is None) == (ticket.first_responded_at is None)
        assert (outcome[1] is None) == (not ticket.transitions.filter(name="resolve").exists())
        assert sla.rebuild_outcomes().changed == 0


# -- rebuilt from the log ------------------------------------------------------------------------


@pytest.fixture
def answered(lab, new_ticket, time_machine):
    """Two tickets: one answered and resolved in time, one answered late and resolved late."""
    time_machine.move_to(MONDAY, tick=False)
    quick, slow = new_ticket(subject="Quick"), new_ticket(subject="Slow")
    time_machine.move_to(MONDAY + H, tick=False)
    services.ticket_claim(ticket=quick, actor=lab.john)
    services.ticket_resolve(ticket=quick, actor=lab.john, message="Done.")
    time_machine.move_to(MONDAY + 20 * H, tick=False)
    services.ticket_claim(ticket=slow, actor=lab.john)
    services.ticket_resolve(ticket=slow, actor=lab.john, message="Done, late.")
    return quick, slow


def test_rebuild_reports_recomputes_the_outcomes_from_the_log(answered):
    quick, slow = answered
    assert (stored(quick), stored(slow)) == ((True, True), (False, False))
    Ticket.objects.update(first_response_met=None, resolution_met=True)
    out = io.StringIO()
    call_command("rebuild_reports", "--batch", "1", stdout=out)
    assert out.getvalue().strip() == "2 tickets replayed; 2 changed."
    assert (stored(quick), stored(slow)) == ((True, True), (False, False))
    out = io.StringIO()
    call_command("rebuild_reports", stdout=out)
    assert out.getvalue().strip() == "2 tickets replayed; 0 changed."


def test_rebuild_reports_counts_past_tickets_under_a_plan_s_new_hours(answered):
    """After an admin gives the Default SLA 24 hours for a Normal ticket, the slow one met it."""
    quick, slow = answered
    SLAPlan.objects.filter(name="Default SLA").update(first_response_hours=24, grace_hours=24)
    out = io.StringIO()
    call_command("rebuild_reports", stdout=out)
    assert "1 changed" in out.getvalue()
    assert (stored(quick), stored(slow)) == ((True, True), (True, True))


def test_rebuild_reports_refuses_an_empty_batch(db):
    with pytest.raises(SystemExit):
        call_command("rebuild_reports", "--batch", "0", stderr=io.StringIO())


def test_the_data_migration_fills_the_outcomes_by_the_same_replay(answered):
    quick, slow = answered
    Ticket.objects.update(first_response_met=None, resolution_met=None)
    migration = importlib.import_module("tickets.migrations.0016_fill_report_outcomes")
    # The models as the migration sees them (its historical ones), not today's.
    state = MigrationLoader(connection).project_state(("tickets", "0016_fill_report_outcomes"))
    migration.fill_outcomes(state.apps, SimpleNamespace(connection=connection))
    assert (stored(quick), stored(slow)) == ((True, True), (False, False))
