"""Related tickets in the console: the workspace lists them, relates another by number and takes a
link back; a View Only agent sees the list without the controls and is refused the POST."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import AgentFactory
from tickets import services
from tickets.models import RelatedLink


@pytest.fixture
def pair(new_ticket):
    return new_ticket(subject="VPN drops"), new_ticket(subject="VPN slow")


def _messages(response):
    return [m.message for m in get_messages(response.wsgi_request)]


def test_relate_by_number_then_take_it_back(client, lab, pair):
    first, second = pair
    client.force_login(lab.john)
    url = reverse("agents:related", args=[first.number])
    response = client.post(url, {"other": f"#{second.number}"})
    assert response.status_code == 302
    assert response["Location"] == reverse("agents:ticket", args=[first.number])
    assert _messages(response) == [f"#{second.number} is now related to this ticket."]
    page = client.get(reverse("agents:ticket", args=[second.number])).content.decode()
    assert 'class="card shadow-sm mt-3 mb-3 related-panel"' in page
    assert f'href="/agents/tickets/{first.number}/"' in page and "VPN drops" in page
    response = client.post(url, {"other": second.number, "remove": "1"})
    assert _messages(response) == [f"#{second.number} is no longer related to this ticket."]
    assert not RelatedLink.objects.exists()


@pytest.mark.parametrize(
    ("other", "error"),
    [
        ("abc", "Related ticket: give a ticket number, such as 100042."),
        ("999999", "Related ticket: no ticket #999999 among those you can see."),
        ("self", "Related ticket: A ticket cannot be related to itself."),
    ],
)
def test_bad_numbers_are_refused_with_a_reason(client, lab, pair, other, error):
    first, _ = pair
    client.force_login(lab.john)
    other = first.number if other == "self" else other
    response = client.post(reverse("agents:related", args=[first.number]), {"other": other})
    assert _messages(response) == [error]
    assert not RelatedLink.objects.exists()


def test_a_ticket_the_agent_cannot_see_is_not_related_nor_listed(client, lab, pair):
    first, second = pair
    services.ticket_relate(ticket=first, other=second, actor=lab.jane)
    services.ticket_assign(ticket=second, actor=lab.jane, team=lab.online_banking, department=lab.sysadmins)
    client.force_login(lab.john)
    page = client.get(reverse("agents:ticket", args=[first.number])).content.decode()
    assert "VPN slow" not in page
    remove = {"other": second.number, "remove": "1"}
    response = client.post(reverse("agents:related", args=[first.number]), remove)
    assert _messages(response) == [f"Related ticket: no ticket #{second.number} among those you can see."]
    assert RelatedLink.objects.count() == 1


def test_view_only_sees_the_list_without_controls_and_is_refused(client, lab, pair):
    first, second = pair
    services.ticket_relate(ticket=first, other=second, actor=lab.john)
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    client.force_login(viewer)
    page = client.get(reverse("agents:ticket", args=[first.number])).content.decode()
    assert "VPN slow" in page and reverse("agents:related", args=[first.number]) not in page
    remove = {"other": second.number, "remove": "1"}
    response = client.post(reverse("agents:related", args=[first.number]), remove)
    assert response.status_code == 403
    assert RelatedLink.objects.count() == 1
