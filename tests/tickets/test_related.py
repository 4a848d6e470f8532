"""Related tickets: shown on both sides, an event in both threads, for what the agent sees."""

import pytest
from django.core.exceptions import PermissionDenied

from tickets import linked, services
from tickets.models import RelatedLink, ThreadEntry


def _events(ticket):
    return list(ticket.thread.filter(kind=ThreadEntry.Kind.EVENT).values_list("body", flat=True))


def test_a_related_link_shows_on_both_sides_and_in_both_threads(lab, new_ticket):
    first, second = new_ticket(subject="VPN drops"), new_ticket(subject="VPN slow")
    services.ticket_relate(ticket=second, other=first, actor=lab.john)
    assert [t.pk for t in linked.related_tickets(first, lab.john)] == [second.pk]
    assert [t.pk for t in linked.related_tickets(second, lab.john)] == [first.pk]
    assert f"Related to #{first.number} by John Doe" in _events(second)
    assert f"Related to #{second.number} by John Doe" in _events(first)
    link = RelatedLink.objects.get()
    assert (link.ticket_id, link.other_id) == (first.pk, second.pk)  # stored once, lower id first

    with pytest.raises(services.TicketActionError, match="already related"):
        services.ticket_relate(ticket=first, other=second, actor=lab.john)
    services.ticket_unrelate(ticket=first, other=second, actor=lab.john)
    assert linked.related_tickets(first, lab.john) == []
    assert f"No longer related to #{first.number} (John Doe)" in _events(second)
    with pytest.raises(services.TicketActionError, match="not related"):
        services.ticket_unrelate(ticket=first, other=second, actor=lab.john)


def test_related_links_respect_visibility(lab, new_ticket, stranger):
    first, second = new_ticket(subject="VPN drops"), new_ticket(subject="VPN slow")
    with pytest.raises(PermissionDenied):
        services.ticket_relate(ticket=first, other=second, actor=stranger)
    with pytest.raises(services.TicketActionError, match="itself"):
        services.ticket_relate(ticket=first, other=first, actor=lab.john)
    services.ticket_relate(ticket=first, other=second, actor=lab.john)
    # What the viewer cannot see is not listed: the stranger sees neither.
    assert linked.related_tickets(first, stranger) == []
    assert RelatedLink.objects.count() == 1


def test_related_tickets_cost_one_query(lab, new_ticket, django_assert_num_queries):
    first = new_ticket(subject="VPN drops")
    for n in range(3):
        services.ticket_relate(ticket=first, other=new_ticket(subject=f"VPN {n}"), actor=lab.jane)
    with django_assert_num_queries(1):
        assert len(linked.related_tickets(first, lab.jane)) == 3
