"""A merged ticket's number in the portal: the requester, a signed link and a guest's session
land on the ticket it was merged into; nobody else learns that either exists."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tickets import links, services
from tickets.models import Ticket


@pytest.fixture
def merged(lab, new_ticket):
    first = new_ticket(subject="VPN drops", body="The VPN drops every hour.")
    second = new_ticket(subject="VPN drops again", body="Still dropping.")
    services.ticket_merge(ticket=first, into=second, actor=lab.john)
    return Ticket.objects.get(pk=first.pk), Ticket.objects.get(pk=second.pk)


@pytest.fixture
def mallory(db, other_requester):
    user = UserFactory(username="mallory@example.org", email="mallory@example.org")
    other_requester.user = user
    other_requester.save()
    return user


def _url(ticket, name="portal:ticket"):
    return reverse(name, kwargs={"number": ticket.number})


def test_the_requester_visiting_the_merged_number_lands_on_the_survivor(client, lab, merged):
    first, second = merged
    client.force_login(lab.karen)
    response = client.get(_url(first), follow=True)
    assert response.redirect_chain == [(_url(second), 302)]
    page = response.content.decode()
    assert f"Ticket #{first.number} was merged into #{second.number}" in page
    assert "The VPN drops every hour." in page and "Still dropping." in page
    # Writing to the merged number lands on the survivor, not in a follow-up.
    response = client.post(reverse("portal:ticket_reply", kwargs={"number": first.number}), {"body": "Hi"})
    assert response.status_code == 302 and response["Location"] == _url(second)
    assert second.thread.filter(kind="message", body="Hi").exists()
    assert not Ticket.objects.filter(follow_up_of=first).exists()


def test_a_signed_link_to_the_merged_ticket_lands_on_the_survivor(client, merged):
    first, second = merged
    token = links.ticket_token(first)
    response = client.get(reverse("portal:ticket_link", kwargs={"token": token}), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1] == (_url(second), 302)
    assert "Still dropping." in response.content.decode()


def test_another_requester_sees_neither(client, merged, mallory):
    first, second = merged
    client.force_login(mallory)
    assert client.get(_url(first)).status_code == 404
    assert client.get(_url(second)).status_code == 404


def test_the_requester_of_a_ticket_merged_into_anothers_sees_and_writes_there(
    client, lab, new_ticket, other_requester, mallory
):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    services.ticket_merge(ticket=first, into=second, actor=lab.john, confirm_other_requester=True)
    client.force_login(mallory)
    response = client.get(_url(first), follow=True)
    assert response.redirect_chain == [(_url(second), 302)]
    assert second.number in client.get(reverse("portal:my_tickets")).content.decode()
    client.post(reverse("portal:ticket_reply", kwargs={"number": second.number}), {"body": "Me too"})
    entry = second.thread.get(body="Me too")
    assert (entry.kind, entry.author_name) == ("message", "Mallory")


def test_the_redirect_costs_a_fixed_few_queries(client, lab, merged, django_assert_max_num_queries):
    first, _ = merged
    client.force_login(lab.karen)
    with django_assert_max_num_queries(8):
        assert client.get(_url(first)).status_code == 302


def test_a_guest_following_the_other_requesters_link_writes_as_them(client, lab, new_ticket, other_requester):
    first = new_ticket(subject="VPN drops", requester=other_requester, actor=None)
    second = new_ticket(subject="VPN drops too")
    services.ticket_merge(ticket=first, into=second, actor=lab.john, confirm_other_requester=True)
    link = reverse("portal:ticket_link", kwargs={"token": links.ticket_token(first)})
    response = client.get(link, follow=True)
    assert response.redirect_chain[-1] == (_url(second), 302)
    client.post(reverse("portal:ticket_reply", kwargs={"number": second.number}), {"body": "From Mallory"})
    entry = second.thread.get(body="From Mallory")
    assert (entry.kind, entry.author_name) == ("message", "Mallory")
    # Karen's own link to her ticket writes as Karen.
    other = client.__class__()
    other.get(reverse("portal:ticket_link", kwargs={"token": links.ticket_token(second)}))
    other.post(reverse("portal:ticket_reply", kwargs={"number": second.number}), {"body": "From Karen"})
    assert second.thread.get(body="From Karen").author_name == "Karen"
