"""Whether each move is open to a user now, and why not (``tickets.services.checks``): what the
console lists is what the services do, a move that changes nothing is refused without a trace,
and a requester's reopen reason is in the thread once."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from tests.factories import AgentFactory, TeamFactory
from tickets import services
from tickets.models import State, ThreadEntry, Ticket, TicketTransition


class _Undo(Exception):
    """Raised to roll a savepoint back, so every attempt starts from the same stored ticket."""


def _traces(ticket: Ticket) -> tuple[int, int]:
    return (
        TicketTransition.objects.filter(ticket=ticket).count(),
        ThreadEntry.objects.filter(ticket=ticket).count(),
    )


def _attempt(ticket: Ticket, name: str, actor, *, lab, tier_3) -> tuple[Exception | None, tuple, tuple]:
    """Run the move's service on a fresh copy of the ticket inside a savepoint that is then
    rolled back: what it raised (or None), and the log and thread counts before and after."""
    fresh = Ticket.objects.get(pk=ticket.pk)
    other = lab.john if fresh.assignee_id != lab.john.pk else lab.jane
    calls = {
        "assign": lambda: services.ticket_assign(ticket=fresh, actor=actor, agent=other),
        "claim": lambda: services.ticket_claim(ticket=fresh, actor=actor),
        "start_work": lambda: services.ticket_start_work(ticket=fresh, actor=actor),
        "request_info": lambda: services.ticket_request_info(ticket=fresh, actor=actor, message="Which one?"),
        "escalate": lambda: services.ticket_escalate(ticket=fresh, actor=actor, team=tier_3, summary="Up."),
        "resolve": lambda: services.ticket_resolve(ticket=fresh, actor=actor, message="Fixed."),
        "reopen": lambda: services.ticket_reopen(ticket=fresh, actor=actor, reason="Again."),
        "close": lambda: services.ticket_close(ticket=fresh, actor=actor),
        "cancel": lambda: services.ticket_cancel(ticket=fresh, actor=actor, reason="Spam."),
    }
    before = _traces(ticket)
    raised: Exception | None = None
    after = before
    try:
        with transaction.atomic():
            try:
                calls[name]()
            except (services.TicketActionError, PermissionDenied) as exc:
                raised = exc
            after = _traces(ticket)
            raise _Undo
    except _Undo:
        pass
    return raised, before, after


def _walk_to(ticket: Ticket, state: str, lab, tier_3) -> Ticket:
    """Karen's Support ticket brought to ``state`` by John (an agent of Support); "escalated"
    is escalated and unassigned, "escalated+" escalated and taken by John again."""
    john = lab.john
    if state != State.OPEN:
        services.ticket_claim(ticket=ticket, actor=john)
    if state == State.IN_PROGRESS:
        services.ticket_start_work(ticket=ticket, actor=john)
    elif state == State.AWAITING_USER:
        services.ticket_request_info(ticket=ticket, actor=john, message="Which browser?")
    elif state.startswith(State.ESCALATED):
        higher = TeamFactory(name="Second line", tier=2)
        services.ticket_escalate(ticket=ticket, actor=john, team=higher, summary="Up.")
        if state == "escalated+":
            services.ticket_claim(ticket=ticket, actor=john)
    elif state in (State.RESOLVED, State.CLOSED):
        services.ticket_resolve(ticket=ticket, actor=john, message="Fixed.")
        if state == State.CLOSED:
            services.ticket_close(ticket=ticket, actor=john)
    return Ticket.objects.get(pk=ticket.pk)


WALKED = [
    State.OPEN,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.AWAITING_USER,
    State.ESCALATED,
    "escalated+",
    State.RESOLVED,
    State.CLOSED,
]


@pytest.mark.parametrize("state", WALKED)
def test_every_move_listed_is_what_the_service_does(lab, new_ticket, state):
    """For John (agent, assignee in most states), a supervisor, Jane (Supreme Admin) and a
    view-only agent: every move listed as open succeeds, every one listed as not open is
    refused with the very message the check gave, leaving no log row and no thread entry."""
    tier_3 = TeamFactory(name="Core Platform", tier=3)
    supervisor = AgentFactory(username="sue", role="Supervisor", departments=[lab.support])
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    ticket = _walk_to(new_ticket(), state, lab, tier_3)
    seen = {"allowed": 0, "refused": 0}
    for user in (lab.john, supervisor, lab.jane, viewer):
        checks = services.move_checks(ticket=Ticket.objects.get(pk=ticket.pk), actor=user)
        assert [c.name for c in checks] == services.LIFECYCLE_MOVES
        for check in checks:
            raised, before, after = _attempt(ticket, check.name, user, lab=lab, tier_3=tier_3)
            where = f"{check.label} by {user.username} on a {state} ticket"
            if check.allowed:
                assert raised is None, f"{where}: listed as open, refused: {raised}"
                assert after[0] == before[0] + 1, where
                seen["allowed"] += 1
            else:
                assert check.reason, where
                expected = PermissionDenied if check.refusal.permission else services.TicketActionError
                assert isinstance(raised, expected), f"{where}: listed as not open ({check.reason}), ran"
                assert str(raised) == check.refusal.message, where
                assert after == before, f"{where}: refused but left a trace"
                seen["refused"] += 1
    # The view-only agent is refused everything; somebody may do something in every state but
    # the closed one, where only nothing is left to do.
    assert seen["refused"] >= len(services.LIFECYCLE_MOVES)
    assert (seen["allowed"] > 0) is (state != State.CLOSED)


def test_the_reasons_say_what_to_do(lab, new_ticket):
    ticket = new_ticket()
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    johns = {c.name: c.reason for c in services.move_checks(ticket=ticket, actor=lab.john)}
    assert johns["resolve"] == "needs an assignee: assign it or take it first"
    assert johns["close"] == "resolve it first, or cancel it if it needs no work"
    assert johns["reopen"] == "only a resolved ticket reopens"
    assert johns["claim"] == "" and johns["assign"] == ""
    views = {c.name: c.reason for c in services.move_checks(ticket=ticket, actor=viewer)}
    assert views["claim"] == "your role may not take tickets"
    assert views["assign"] == "your role may not assign tickets"
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    ticket = Ticket.objects.get(pk=ticket.pk)
    johns = {c.name: c.reason for c in services.move_checks(ticket=ticket, actor=lab.john)}
    assert johns["resolve"] == "only its assignee or a supervisor"
    assert johns["start_work"] == "only its assignee"


# -- a move that changes nothing -------------------------------------------------------------


def test_taking_a_ticket_twice_is_refused_without_a_trace(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    ticket = Ticket.objects.get(pk=ticket.pk)
    before = _traces(ticket)
    check = next(c for c in services.move_checks(ticket=ticket, actor=lab.john) if c.name == "claim")
    assert not check.allowed and check.reason == "it is already yours"
    assert "claim" not in {a.name for a in services.available_actions(ticket=ticket, actor=lab.john)}
    with pytest.raises(services.TicketActionError, match=r"^This ticket is already yours\.$"):
        services.ticket_claim(ticket=ticket, actor=lab.john)
    assert _traces(ticket) == before
    assert ticket.thread.filter(body__contains="took the ticket over").count() == 1
    # Another agent of the department may still take it over.
    services.ticket_claim(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.jane)
    assert Ticket.objects.get(pk=ticket.pk).assignee == lab.jane


def test_assigning_a_ticket_to_whom_it_is_assigned_is_refused_without_a_trace(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.john)
    ticket = Ticket.objects.get(pk=ticket.pk)
    before = _traces(ticket)
    with pytest.raises(services.TicketActionError, match=r"^This ticket is already assigned to John Doe\.$"):
        services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.john)
    assert _traces(ticket) == before
    # The same agent with a team is a change.
    services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.john, team=lab.online_banking)
    assert _traces(Ticket.objects.get(pk=ticket.pk))[0] == before[0] + 1


# -- the reopen reason, once -----------------------------------------------------------------


def test_a_requesters_reopen_reason_is_their_message_and_not_repeated_in_the_event(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, message="Fixed.")
    reason = "It is down again since this morning."
    services.ticket_requester_reopen(ticket=Ticket.objects.get(pk=ticket.pk), reason=reason, actor=lab.karen)
    thread = list(ticket.thread.order_by("created_at", "id").values_list("kind", "body", "is_public"))
    assert [body for kind, body, _ in thread if reason in body] == [reason]
    assert ("message", reason, True) in thread
    assert thread[-2][:2] == ("event", "Reopened by Karen")
    # The log keeps the reason with the move.
    assert ticket.transitions.get(name="reopen").reason == reason


def test_an_agents_reopen_reason_stays_in_the_event(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, message="Fixed.")
    services.ticket_reopen(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john, reason="Broke again.")
    assert ticket.thread.filter(body="Reopened by John Doe: Broke again.", kind="event").count() == 1
    assert not ticket.thread.filter(kind="message", body="Broke again.").exists()
