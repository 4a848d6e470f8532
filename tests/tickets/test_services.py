"""The services: each transition allowed and refused, and what every refusal leaves (nothing)."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction

from tests.factories import AgentFactory, TeamFactory
from tickets import services
from tickets.models import Department, State, ThreadEntry, Ticket, TicketTransition


def snapshot(ticket: Ticket) -> tuple:
    """Everything a refused action must leave as it was."""
    row = Ticket.objects.filter(pk=ticket.pk).values().get()
    return row, ticket.thread.count(), ticket.transitions.count()


@pytest.fixture
def worked(lab, new_ticket):
    """A ticket John has taken and is working on."""
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    return ticket


def test_an_agent_outside_the_ticket_is_refused_and_nothing_changes(lab, new_ticket, stranger):
    ticket = new_ticket()
    before = snapshot(ticket)
    attempts = [
        lambda: services.ticket_assign(ticket=ticket, actor=stranger, agent=stranger),
        lambda: services.ticket_claim(ticket=ticket, actor=stranger),
        lambda: services.ticket_reply(ticket=ticket, actor=stranger, body="hi"),
        lambda: services.ticket_note(ticket=ticket, actor=stranger, body="hi"),
        lambda: services.ticket_cancel(ticket=ticket, actor=stranger, reason="spam"),
        lambda: services.ticket_update_properties(ticket=ticket, actor=stranger, priority=None),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
        ticket = Ticket.objects.get(pk=ticket.pk)
    assert snapshot(ticket) == before


def test_view_only_agent_can_see_but_not_act(lab, new_ticket):
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    ticket = new_ticket()
    before = snapshot(ticket)
    assert services.available_actions(ticket=ticket, actor=viewer) == []
    for attempt in (
        lambda: services.ticket_claim(ticket=ticket, actor=viewer),
        lambda: services.ticket_assign(ticket=ticket, actor=viewer, agent=lab.john),
        lambda: services.ticket_reply(ticket=ticket, actor=viewer, body="hi"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert snapshot(Ticket.objects.get(pk=ticket.pk)) == before


def test_only_the_assignee_or_a_supervisor_resolves(lab, worked):
    colleague = AgentFactory(username="colleague", role="Agent", departments=[lab.support])
    before = snapshot(worked)
    with pytest.raises(PermissionDenied):
        services.ticket_resolve(ticket=worked, actor=colleague, message="done")
    assert snapshot(Ticket.objects.get(pk=worked.pk)) == before
    supervisor = AgentFactory(username="boss", role="Supervisor", departments=[lab.support])
    services.ticket_resolve(ticket=worked, actor=supervisor, message="Done by the supervisor.")
    assert worked.state == State.RESOLVED


def test_a_transition_from_the_wrong_stage_is_refused(lab, new_ticket):
    ticket = new_ticket()
    before = snapshot(ticket)
    with pytest.raises(services.TicketActionError, match="open cannot resolve"):
        services.ticket_resolve(ticket=ticket, actor=lab.jane, message="done")
    assert snapshot(Ticket.objects.get(pk=ticket.pk)) == before


def test_required_texts_are_required(lab, worked):
    before = snapshot(worked)
    for attempt, what in (
        (
            lambda: services.ticket_resolve(ticket=worked, actor=lab.john, message="  "),
            "resolution message",
        ),
        (
            lambda: services.ticket_request_info(ticket=worked, actor=lab.john, message=""),
            "question",
        ),
        (
            lambda: services.ticket_escalate(
                ticket=worked, actor=lab.john, team=lab.online_banking, summary=""
            ),
            "hand-off summary",
        ),
    ):
        with pytest.raises(services.TicketActionError, match=what):
            attempt()
    assert snapshot(Ticket.objects.get(pk=worked.pk)) == before


def test_assign_needs_an_agent_or_a_team(lab, new_ticket):
    ticket = new_ticket()
    with pytest.raises(services.TicketActionError, match="agent, a team"):
        services.ticket_assign(ticket=ticket, actor=lab.john)
    assert Ticket.objects.get(pk=ticket.pk).state == State.OPEN


def test_assign_to_another_department_transfers(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_assign(ticket=ticket, actor=lab.john, agent=lab.jane, department=lab.sysadmins)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.department, ticket.assignee) == (
        State.ASSIGNED,
        lab.sysadmins,
        lab.jane,
    )
    assert "transferred to SysAdmins" in ticket.thread.last().body


def test_request_info_waits_for_the_requester_and_the_reply_resumes(
    lab, worked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_request_info(ticket=worked, actor=lab.john, message="Which browser do you use?")
    assert worked.state == State.AWAITING_USER
    assert "We need your reply" in mail.outbox[-1].subject
    assert "Which browser" in mail.outbox[-1].body
    landed, entry = services.ticket_receive_reply(ticket=worked, actor=lab.karen, body="Firefox.")
    assert landed == worked and entry.kind == ThreadEntry.Kind.MESSAGE
    assert worked.state == State.IN_PROGRESS
    assert worked.transitions.last().name == "receive_reply"


def test_only_the_requester_answers_for_the_requester(lab, worked, other_requester):
    services.ticket_request_info(ticket=worked, actor=lab.john, message="Which browser?")
    with pytest.raises(PermissionDenied):
        services.ticket_receive_reply(ticket=worked, actor=other_requester.user, body="Not Karen.")
    assert Ticket.objects.get(pk=worked.pk).state == State.AWAITING_USER


def test_a_message_on_an_active_ticket_is_appended_without_a_transition(lab, worked):
    moves = worked.transitions.count()
    services.ticket_receive_reply(ticket=worked, actor=lab.karen, body="Any news?")
    assert worked.transitions.count() == moves
    assert worked.thread.last().body == "Any news?"


def test_escalation_goes_up_a_tier_and_comes_back_there(lab, worked):
    services.ticket_escalate(
        ticket=worked, actor=lab.john, team=lab.online_banking, summary="Needs the bank team."
    )
    worked.refresh_from_db()
    assert (worked.state, worked.tier, worked.team, worked.assignee) == (
        State.ESCALATED,
        2,
        lab.online_banking,
        None,
    )
    assert worked.transitions.last().reason == "Needs the bank team."
    note = worked.thread.filter(kind=ThreadEntry.Kind.NOTE).last()
    assert not note.is_public and "Needs the bank team." in note.body
    services.ticket_claim(ticket=worked, actor=lab.jane)
    assert worked.state == State.ESCALATED
    services.ticket_request_info(ticket=worked, actor=lab.jane, message="When did it start?")
    services.ticket_receive_reply(ticket=worked, actor=lab.karen, body="At nine.")
    assert worked.state == State.ESCALATED


def test_escalation_needs_a_higher_tier(lab, worked):
    same_tier = TeamFactory(name="Desk side", tier=1)
    with pytest.raises(services.TicketActionError, match="higher tier"):
        services.ticket_escalate(ticket=worked, actor=lab.john, team=same_tier, summary="Over to you.")
    assert Ticket.objects.get(pk=worked.pk).state == State.IN_PROGRESS


def test_system_escalation_names_the_rule(lab, worked):
    services.ticket_escalate(
        ticket=worked,
        actor=None,
        team=lab.online_banking,
        summary="Overdue.",
        system_rule="SLA overdue",
    )
    assert worked.transitions.last().actor_label == "system: SLA overdue"
    with pytest.raises(ValueError, match="name the rule"):
        services.ticket_close(ticket=worked, actor=None)


def test_reopen_by_the_requester_counts_and_returns_to_work(lab, worked):
    services.ticket_resolve(ticket=worked, actor=lab.john, message="Cleared your cache.")
    services.ticket_reopen(ticket=worked, actor=lab.karen, reason="Still broken.")
    assert (worked.state, worked.reopen_count) == (State.IN_PROGRESS, 1)
    assert worked.thread.filter(kind=ThreadEntry.Kind.MESSAGE).last().body == "Still broken."


def test_the_requester_confirms_the_fix(lab, worked):
    services.ticket_resolve(ticket=worked, actor=lab.john, message="Cleared your cache.")
    services.ticket_close(ticket=worked, actor=lab.karen)
    assert worked.state == State.CLOSED


def test_another_requester_cannot_close_or_reopen(lab, worked, other_requester):
    services.ticket_resolve(ticket=worked, actor=lab.john, message="Done.")
    for attempt in (
        lambda: services.ticket_close(ticket=worked, actor=other_requester.user),
        lambda: services.ticket_reopen(ticket=worked, actor=other_requester.user, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert Ticket.objects.get(pk=worked.pk).state == State.RESOLVED


def test_cancel_closes_with_the_reason(lab, new_ticket, django_capture_on_commit_callbacks):
    ticket = new_ticket(subject="Buy cheap watches")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_cancel(ticket=ticket, actor=lab.john, reason="Spam")
    assert ticket.state == State.CLOSED
    assert "Spam" in mail.outbox[-1].body


def test_a_message_on_a_closed_ticket_opens_a_linked_follow_up(lab, worked):
    services.ticket_resolve(ticket=worked, actor=lab.john, message="Done.")
    services.ticket_close(ticket=worked, actor=lab.karen)
    follow_up, entry = services.ticket_receive_reply(ticket=worked, actor=lab.karen, body="It broke again.")
    assert follow_up.pk != worked.pk
    assert (follow_up.follow_up_of, follow_up.state) == (worked, State.OPEN)
    assert entry.body == "It broke again."
    assert Ticket.objects.get(pk=worked.pk).state == State.CLOSED


def test_internal_notes_are_never_mailed(lab, worked, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_note(
            ticket=worked, actor=lab.john, body="Secret: the admin password is on a sticky note."
        )
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=worked, actor=lab.john, body="We are on it.")
    assert len(mail.outbox) == 1 and "sticky note" not in mail.outbox[0].body


def test_mail_is_not_sent_for_a_change_that_rolls_back(lab, worked, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.ticket_reply(ticket=worked, actor=lab.john, body="This never happened.")
        raise RuntimeError("the database failed")
    assert callbacks == [] and mail.outbox == []
    assert not ThreadEntry.objects.filter(body="This never happened.").exists()


def test_intake_needs_a_default_department(db, other_requester):
    Department.objects.create(name="Lonely")
    with pytest.raises(services.TicketActionError, match="default department"):
        services.ticket_create(requester=other_requester, subject="Help", body="Please.")
    assert not Ticket.objects.exists() and not TicketTransition.objects.exists()


def test_requesters_are_found_by_address_in_any_case(db):
    first = services.requester_get_or_create(email="Karen@Example.com", name="Karen")
    again = services.requester_get_or_create(email="karen@example.com ", name="K.")
    assert first == again and first.email == "karen@example.com"


def test_available_actions_are_what_the_agent_may_do_now(lab, new_ticket):
    ticket = new_ticket()
    assert {a.name for a in services.available_actions(ticket=ticket, actor=lab.john)} == {
        "assign",
        "claim",
        "cancel",
    }
    services.ticket_claim(ticket=ticket, actor=lab.john)
    names = {a.name for a in services.available_actions(ticket=ticket, actor=lab.john)}
    assert {"start_work", "request_info", "escalate", "resolve"} <= names


def test_a_closed_tickets_properties_do_not_change(lab, worked):
    from tickets.models import Priority

    services.ticket_resolve(ticket=worked, actor=lab.john, message="Done.")
    services.ticket_close(ticket=worked, actor=lab.karen)
    before = snapshot(worked)
    with pytest.raises(services.TicketActionError, match="closed ticket"):
        services.ticket_update_properties(
            ticket=worked, actor=lab.john, priority=Priority.objects.get(name="High")
        )
    assert snapshot(Ticket.objects.get(pk=worked.pk)) == before
