"""Bulk actions from a queue: one action on the ticked tickets, each ticket's outcome reported,
one refusal leaving the others done, and tickets the agent cannot see never touched."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tickets import services
from tickets.models import State, Ticket, TicketTransition

BULK = reverse("agents:bulk")


def _messages(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def _errors(response):
    return [text for level, text in _messages(response) if level == "error"]


def _row(ticket):
    return Ticket.objects.filter(pk=ticket.pk).values().get()


def _rows(tickets):
    return {t.pk: (_row(t), t.transitions.count(), t.thread.count()) for t in tickets}


@pytest.fixture
def three(new_ticket):
    return [new_ticket(subject=f"Support ticket {i}") for i in range(3)]


@pytest.fixture
def hidden(lab, new_ticket):
    """A ticket of the SysAdmins department, which John cannot see."""
    ticket = new_ticket(subject="Database replica lags")
    services.ticket_update_properties(ticket=ticket, actor=lab.jane, department=lab.sysadmins)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def john(client, lab):
    client.force_login(lab.john)
    return client


def _post(client, tickets, action, **data):
    ids = [t if isinstance(t, int) else t.pk for t in tickets]
    return client.post(BULK, {"tickets": ids, "action": action, **data})


def test_bulk_claim_assigns_every_ticket_to_the_agent(john, lab, three):
    response = _post(john, three, "claim")
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")
    assert _messages(response) == [("success", "3 of 3 tickets: done.")]
    for ticket in three:
        ticket.refresh_from_db()
        assert (ticket.state, ticket.assignee) == (State.ASSIGNED, lab.john)
        assert list(ticket.transitions.filter(name="claim").values_list("actor", flat=True)) == [lab.john.pk]


def test_bulk_goes_back_to_the_queue_it_came_from(john, three):
    back = reverse("agents:queue", args=["unassigned"]) + "?sort=oldest"
    response = _post(john, three, "claim", next=back)
    assert response["Location"] == back


def test_bulk_does_not_redirect_to_another_site(john, three):
    response = _post(john, three, "claim", next="https://evil.example/queues/")
    assert response["Location"] == reverse("agents:home")


def test_a_ticket_that_cannot_be_claimed_fails_alone(john, lab, three):
    closed = three[1]
    services.ticket_cancel(ticket=closed, actor=lab.john, reason="Spam.")
    before = _rows([closed])
    response = _post(john, three, "claim")
    assert _messages(response) == [
        ("success", "2 of 3 tickets: done."),
        ("error", f"#{closed.number}: A ticket that is closed cannot claim."),
    ]
    assert _rows([closed]) == before
    for ticket in (three[0], three[2]):
        ticket.refresh_from_db()
        assert ticket.assignee == lab.john and ticket.transitions.filter(name="claim").count() == 1


def test_a_ticket_the_agent_sees_but_may_not_claim_fails_alone(john, lab, three, hidden):
    """John sees a SysAdmins ticket assigned to him, but may not claim outside his department."""
    services.ticket_assign(ticket=hidden, actor=lab.jane, team=lab.online_banking, agent=lab.john)
    hidden.refresh_from_db()
    before = _rows([hidden])
    response = _post(john, [three[0], hidden], "claim")
    assert _messages(response) == [
        ("success", "1 of 2 tickets: done."),
        ("error", f"#{hidden.number}: You may not claim this ticket."),
    ]
    assert _rows([hidden]) == before
    three[0].refresh_from_db()
    assert three[0].assignee == lab.john


def test_when_every_ticket_fails_no_success_is_claimed(john, lab, three):
    for ticket in three:
        services.ticket_cancel(ticket=ticket, actor=lab.john, reason="Spam.")
    response = _post(john, three, "claim")
    assert [level for level, _ in _messages(response)] == ["error"] * 3


@pytest.mark.parametrize("reason", ["", "   "])
def test_bulk_cancel_without_a_reason_is_refused(john, three, reason):
    before = _rows(three)
    transitions = TicketTransition.objects.count()
    response = _post(john, three, "cancel", reason=reason)
    assert response.status_code == 302
    assert _messages(response) == [("error", "Give a reason to cancel.")]
    assert _rows(three) == before and TicketTransition.objects.count() == transitions


def test_bulk_cancel_with_a_reason(john, lab, three):
    response = _post(john, three, "cancel", reason="Duplicates of #1.")
    assert _messages(response) == [("success", "3 of 3 tickets: done.")]
    for ticket in three:
        ticket.refresh_from_db()
        assert ticket.state == State.CLOSED
        assert ticket.transitions.get(name="cancel").reason == "Duplicates of #1."


def test_bulk_assign_to_a_team(john, lab, three):
    response = _post(john, three, "assign", team=lab.online_banking.pk)
    assert _messages(response) == [("success", "3 of 3 tickets: done.")]
    for ticket in three:
        ticket.refresh_from_db()
        assert (ticket.state, ticket.team, ticket.assignee) == (State.ASSIGNED, lab.online_banking, None)
        assert ticket.department == lab.support
        assert ticket.transitions.filter(name="assign", actor=lab.john).count() == 1


def test_bulk_assign_to_an_agent(john, lab, three):
    _post(john, three, "assign", agent=lab.jane.pk)
    assert {t.assignee for t in Ticket.objects.filter(pk__in=[t.pk for t in three])} == {lab.jane}


def test_bulk_assign_needs_an_agent_or_a_team(john, three):
    before = _rows(three)
    response = _post(john, three, "assign")
    assert _messages(response) == [("error", "Choose an agent or a team to assign to.")]
    assert _rows(three) == before


def test_bulk_close_closes_resolved_tickets_only(john, lab, three):
    services.ticket_claim(ticket=three[0], actor=lab.john)
    services.ticket_resolve(ticket=three[0], actor=lab.john, message="Fixed.")
    response = _post(john, three[:2], "close")
    assert _messages(response) == [
        ("success", "1 of 2 tickets: done."),
        ("error", f"#{three[1].number}: A ticket that is open cannot close."
         " Resolve it first: only resolved tickets can be closed."),
    ]
    assert [Ticket.objects.get(pk=t.pk).state for t in three[:2]] == [State.CLOSED, State.OPEN]


@pytest.mark.parametrize("action", ["claim", "cancel", "assign"])
def test_a_forged_id_of_an_invisible_ticket_is_not_touched(john, lab, three, hidden, action):
    before = _rows([hidden])
    response = _post(john, [three[0], hidden, 999999], action, reason="Spam.", team=lab.online_banking.pk)
    assert _rows([hidden]) == before
    messages = _messages(response)
    assert messages == [
        ("success", "1 of 3 tickets: done."),
        ("error", "2 of the tickets do not exist or are not yours to see."),
    ]
    assert not any(hidden.number in text or hidden.subject in text for _, text in messages)
    assert Ticket.objects.get(pk=three[0].pk).transitions.filter(name=action).count() == 1


def test_only_invisible_tickets_change_nothing(john, hidden):
    before = _rows([hidden])
    response = _post(john, [hidden], "claim")
    assert _messages(response) == [("error", "1 of the tickets do not exist or are not yours to see.")]
    assert _rows([hidden]) == before


@pytest.mark.parametrize(
    "data",
    [
        {"action": "claim"},
        {"tickets": ["abc"], "action": "claim"},
        {"tickets": ["1"], "action": "delete"},
        {"tickets": ["1"]},
    ],
)
def test_a_malformed_bulk_request_changes_nothing(john, three, data):
    before = _rows(three)
    response = john.post(BULK, data)
    assert response.status_code == 302
    assert _errors(response) == ["Tick at least one ticket and choose an action."]
    assert _rows(three) == before


def test_bulk_is_post_only(john, three):
    assert john.get(BULK, {"tickets": [three[0].pk], "action": "claim"}).status_code == 405
    assert Ticket.objects.get(pk=three[0].pk).state == State.OPEN


def test_the_queue_offers_the_bulk_bar_with_a_box_per_row(john, three):
    page = john.get(reverse("agents:queue", args=["unassigned"])).content.decode()
    assert f'action="{BULK}"' in page
    for ticket in three:
        assert f'name="tickets" value="{ticket.pk}"' in page
