"""The console's home: the Unassigned queue of the signed-in agent, with the sidebar."""

import re

from django.urls import reverse

from tests.factories import AgentFactory
from tickets import services

HOME = reverse("agents:home")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"] == f"{reverse('agents:login')}?next={HOME}"


def test_a_requester_is_not_let_in(client, lab):
    client.force_login(lab.karen)
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(reverse("agents:login"))


def test_home_is_the_unassigned_queue(client, lab, new_ticket):
    waiting = new_ticket(subject="Nobody has this one")
    taken = new_ticket(subject="John has this one")
    services.ticket_claim(ticket=taken, actor=lab.john)
    client.force_login(lab.john)
    response = client.get(HOME)
    assert response.status_code == 200
    assert response.context["current"] == "unassigned" and response.context["title"] == "Unassigned"
    assert [t.pk for t in response.context["tickets"]] == [waiting.pk]
    page = response.content.decode()
    assert '<h1 class="h4 mb-0">Unassigned</h1>' in page
    assert "Nobody has this one" in page and "John has this one" not in page
    assert re.search(r'href="/agents/queues/unassigned/" aria-current="page"', page)
    assert f'href="{reverse("agents:new_ticket")}"' in page
    assert f'action="{reverse("agents:logout")}"' in page


def test_home_with_no_tickets_says_so(client, lab):
    client.force_login(lab.john)
    page = client.get(HOME).content.decode()
    assert "No tickets here." in page and "bulk-bar" not in page


def test_queue_counts_are_the_agents_own(client, lab, new_ticket):
    new_ticket()
    client.force_login(lab.john)
    response = client.get(HOME)
    assert response.status_code == 200
    assert [(q["label"], q["count"]) for q in response.context["queues"]][:2] == [
        ("Unassigned", 1),
        ("My tickets", 0),
    ]
    outsider = AgentFactory(username="outsider", role="Agent")
    client.force_login(outsider)
    response = client.get(HOME)
    assert {q["count"] for q in response.context["queues"]} == {0}
    assert response.context["tickets"] == []


def test_the_console_costs_the_same_queries_with_more_tickets(
    client, lab, new_ticket, django_assert_max_num_queries
):
    new_ticket()
    client.force_login(lab.john)
    client.get(HOME)  # the first page reads the configuration tables into the cache (tickets.catalog)
    with django_assert_max_num_queries(24) as few:
        client.get(HOME)
    for _ in range(10):
        new_ticket()
    with django_assert_max_num_queries(24) as many:
        client.get(HOME)
    assert len(few) == len(many)


def test_the_priority_colours_come_as_a_style_sheet(client, lab):
    client.force_login(lab.john)
    response = client.get(reverse("agents:priority_styles"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    assert ".priority-" in css and "#dc3545" in css


def test_a_priority_s_text_is_white_or_black_whichever_reads_at_aa(client, lab):
    """White on the lab's green, blue and red (each at 4.5:1 or more); black on its orange and on
    a pale colour an admin might choose, where white would read at under 3:1."""
    from agents.views.queues import text_colour_on
    from tickets.models import Priority

    for colour in ("#198754", "#0d6efd", "#dc3545", "#000"):
        assert text_colour_on(colour) == "#fff", colour
    for colour in ("#fd7e14", "#ffc107", "#fff", "#0dcaf0"):
        assert text_colour_on(colour) == "#000", colour
    client.force_login(lab.john)
    css = client.get(reverse("agents:priority_styles")).content.decode()
    high = Priority.objects.get(name="High")
    assert f".priority-{high.pk} {{ background: #fd7e14; color: #000; }}" in css
