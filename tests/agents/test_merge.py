"""Merging from the workspace: the form, the second step for two requesters, the banners on
both tickets, and who is shown the form and may post it."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import AgentFactory
from tickets import services
from tickets.models import State, Ticket


@pytest.fixture
def pair(new_ticket):
    return new_ticket(subject="VPN drops"), new_ticket(subject="VPN drops again")


def _merge_url(ticket):
    return reverse("agents:merge", args=[ticket.number])


def _page(ticket):
    return reverse("agents:ticket", args=[ticket.number])


def _messages(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_an_agent_merges_and_lands_on_the_survivor_with_both_banners(client, lab, pair):
    first, second = pair
    client.force_login(lab.john)
    assert _merge_url(first) in client.get(_page(first)).content.decode()  # the form is offered
    response = client.post(_merge_url(first), {"version": first.version, "into": f"#{second.number}"})
    assert response.status_code == 302 and response["Location"] == _page(second)
    assert ("success", f"#{first.number} merged into #{second.number}: 2 entries, 0 files moved.") in (
        _messages(response)
    )
    assert Ticket.objects.get(pk=first.pk).merged_into_id == second.pk

    survivor = client.get(_page(second)).content.decode()
    assert f'Merged from <a href="{_page(first)}">#{first.number}</a>' in survivor
    merged = client.get(_page(first)).content.decode()
    assert f'Merged into <a href="{_page(second)}">#{second.number}</a>' in merged
    assert _merge_url(first) not in merged  # a closed ticket offers no merge


def test_two_requesters_need_a_second_step_naming_both(client, lab, new_ticket, other_requester):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    client.force_login(lab.john)
    response = client.post(_merge_url(first), {"version": first.version, "into": second.number})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Mallory" in page and "mallory@example.org" in page and "Karen" in page
    assert 'name="confirm" value="on"' in page
    assert Ticket.objects.get(pk=first.pk).merged_into_id is None  # nothing yet
    response = client.post(
        _merge_url(first), {"version": first.version, "into": second.number, "confirm": "on"}
    )
    assert response.status_code == 302 and response["Location"] == _page(second)
    assert Ticket.objects.get(pk=first.pk).merged_into_id == second.pk


def test_refusals_are_said_in_words(client, lab, pair, new_ticket):
    first, second = pair
    client.force_login(lab.john)
    response = client.post(_merge_url(first), {"version": first.version, "into": "999999"})
    assert ("error", "Merge: there is no ticket #999999 that you can see.") in _messages(response)
    response = client.post(_merge_url(first), {"version": first.version, "into": "abc"})
    assert ("error", "Merge: Enter a ticket number, such as 100042.") in _messages(response)
    response = client.post(_merge_url(first), {"version": first.version - 1, "into": second.number})
    assert any("changed since you opened it" in text for _, text in _messages(response))
    elsewhere = new_ticket(subject="VPN for admins", department=lab.sysadmins)
    client.force_login(lab.jane)
    response = client.post(_merge_url(first), {"version": first.version, "into": elsewhere.number})
    assert any("different departments: transfer one" in text for _, text in _messages(response))
    # John does not see the SysAdmins' ticket: the same words as for no ticket.
    client.force_login(lab.john)
    response = client.post(_merge_url(first), {"version": first.version, "into": elsewhere.number})
    unseen = f"Merge: there is no ticket #{elsewhere.number} that you can see."
    assert ("error", unseen) in _messages(response)
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_view_only_sees_no_form_and_cannot_merge(client, lab, pair):
    first, second = pair
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.support])
    client.force_login(viewer)
    assert _merge_url(first) not in client.get(_page(first)).content.decode()
    response = client.post(_merge_url(first), {"version": first.version, "into": second.number})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=first.pk).state != State.CLOSED


def test_a_requester_is_sent_to_the_console_sign_in(client, lab, pair):
    first, second = pair
    client.force_login(lab.karen)
    response = client.post(_merge_url(first), {"version": first.version, "into": second.number})
    assert response.status_code == 302 and response["Location"].startswith("/agents/login/")
    assert Ticket.objects.get(pk=first.pk).merged_into_id is None


def test_the_workspaces_cost_no_more_queries_with_more_merged(client, lab, new_ticket):
    survivor = new_ticket(subject="VPN drops")
    client.force_login(lab.john)

    def count(ticket):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_page(ticket)).status_code == 200
        return len(queries)

    first = new_ticket(subject="VPN 0")
    services.ticket_merge(ticket=first, into=survivor, actor=lab.john)
    one = (count(survivor), count(first))
    for n in range(1, 4):
        services.ticket_merge(ticket=new_ticket(subject=f"VPN {n}"), into=survivor, actor=lab.john)
    assert (count(survivor), count(first)) == one
