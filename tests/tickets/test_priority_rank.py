"""The priority's rank kept on the ticket, which the "most urgent first" sort walks."""

from __future__ import annotations

from django.urls import reverse

from tickets import services
from tickets.models import NO_PRIORITY_RANK, Priority, Ticket


def _rank(ticket: Ticket) -> int:
    return Ticket.objects.values_list("priority_rank", flat=True).get(pk=ticket.pk)


def test_intake_copies_the_rank_of_the_priority_it_sets(lab, new_ticket):
    ticket = new_ticket()
    assert ticket.priority is not None
    assert _rank(ticket) == ticket.priority.rank


def test_a_property_change_copies_the_new_rank_and_none_is_last(lab, new_ticket):
    ticket = new_ticket()
    emergency = Priority.objects.get(name="Emergency")
    services.ticket_update_properties(ticket=ticket, actor=lab.john, priority=emergency)
    assert _rank(ticket) == emergency.rank
    services.ticket_update_properties(ticket=ticket, actor=lab.john, priority=None)
    assert _rank(ticket) == NO_PRIORITY_RANK < min(Priority.objects.values_list("rank", flat=True))


def test_an_admin_changing_a_rank_carries_it_to_the_tickets_without_touching_them(
    lab, new_ticket, admin_client
):
    ticket = new_ticket()
    priority = ticket.priority
    version, activity = ticket.version, ticket.last_activity_at
    new_rank = max(Priority.objects.values_list("rank", flat=True)) + 10
    response = admin_client.post(
        reverse("admin:tickets_priority_change", args=[priority.pk]),
        {
            "name": priority.name,
            "rank": new_rank,
            "colour": priority.colour,
            "is_default": priority.is_default,
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert _rank(ticket) == new_rank
    ticket.refresh_from_db()
    assert (ticket.version, ticket.last_activity_at) == (version, activity)
    assert ticket.thread.filter(body__contains=str(new_rank)).count() == 0


def test_the_service_reports_how_many_tickets_it_changed(lab, new_ticket):
    first, second = new_ticket(), new_ticket(subject="Another")
    priority = first.priority
    assert second.priority == priority
    Priority.objects.filter(pk=priority.pk).update(rank=priority.rank + 50)
    priority.refresh_from_db()
    assert services.priority_rank_changed(priority) == 2
    assert services.priority_rank_changed(priority) == 0
