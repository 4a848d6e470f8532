"""Stale copies of a ticket: the second change is refused and nothing is overwritten."""

import threading

import pytest
from django.db import close_old_connections, connection

from tests.factories import AgentFactory
from tickets import services
from tickets.models import State, Ticket


def test_second_claim_from_a_stale_copy_conflicts(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    johns_copy, janes_copy = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)
    services.ticket_claim(ticket=johns_copy, actor=lab.john)
    with pytest.raises(services.TicketConflict, match="changed since you opened it"):
        services.ticket_claim(ticket=janes_copy, actor=lab.jane)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.assignee == lab.john
    assert [t.name for t in stored.transitions.all()].count("claim") == 1
    assert not stored.thread.filter(author_name="Jane Doe").exists()


def test_a_different_move_from_a_stale_copy_conflicts(lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    first, second = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)
    services.ticket_resolve(ticket=first, actor=lab.john, message="Done.")
    with pytest.raises(services.TicketConflict):
        services.ticket_escalate(
            ticket=second, actor=lab.john, team=lab.online_banking, summary="Over to you."
        )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.state, stored.tier, stored.team) == (State.RESOLVED, 1, None)


def test_a_property_change_from_a_stale_copy_conflicts(lab, new_ticket):
    from tickets.models import Priority

    ticket = new_ticket()
    first, second = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)
    services.ticket_update_properties(
        ticket=first, actor=lab.john, priority=Priority.objects.get(name="High")
    )
    with pytest.raises(services.TicketConflict):
        services.ticket_update_properties(
            ticket=second, actor=lab.john, priority=Priority.objects.get(name="Low")
        )
    assert Ticket.objects.get(pk=ticket.pk).priority.name == "High"
    assert ticket.thread.filter(body__contains="to Low").count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_claims_leave_one_assignee(new_ticket, lab):
    ticket = new_ticket()
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    other = AgentFactory(username="ob2", role="Agent", teams=[lab.online_banking])
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def take_it(agent):
        try:
            copy = Ticket.objects.get(pk=ticket.pk)
            barrier.wait()
            services.ticket_claim(ticket=copy, actor=agent)
            outcomes[agent.username] = "claimed"
        except services.TicketConflict:
            outcomes[agent.username] = "conflict"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take_it, args=(agent,)) for agent in (lab.jane, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["claimed", "conflict"]
    stored = Ticket.objects.get(pk=ticket.pk)
    winner = next(name for name, outcome in outcomes.items() if outcome == "claimed")
    assert stored.assignee.username == winner
    assert stored.transitions.filter(name="claim").count() == 1


def test_an_action_posted_from_an_older_page_is_refused(lab, new_ticket):
    ticket = new_ticket()
    shown = ticket.version
    services.ticket_claim(ticket=Ticket.objects.get(pk=ticket.pk), actor=lab.john)
    fresh = Ticket.objects.get(pk=ticket.pk)
    with pytest.raises(services.TicketConflict):
        services.ticket_ensure_unchanged(fresh, version=shown)
    services.ticket_ensure_unchanged(fresh, version=fresh.version)
    services.ticket_ensure_unchanged(fresh, version=None)
