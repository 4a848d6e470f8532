from django.urls import reverse

from tests.factories import AgentFactory


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(reverse("agents:home"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_requester_is_not_let_in(client, lab):
    client.force_login(lab.karen)
    response = client.get(reverse("agents:home"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_queue_counts_are_the_agents_own(client, lab, new_ticket):
    new_ticket()
    client.force_login(lab.john)
    response = client.get(reverse("agents:home"))
    assert response.status_code == 200
    assert [(q["label"], q["count"]) for q in response.context["queues"]][:2] == [
        ("Unassigned", 1),
        ("My tickets", 0),
    ]
    outsider = AgentFactory(username="outsider", role="Agent")
    client.force_login(outsider)
    response = client.get(reverse("agents:home"))
    assert {q["count"] for q in response.context["queues"]} == {0}


def test_the_console_costs_the_same_queries_with_more_tickets(
    client, lab, new_ticket, django_assert_max_num_queries
):
    new_ticket()
    client.force_login(lab.john)
    with django_assert_max_num_queries(14):
        client.get(reverse("agents:home"))
    for _ in range(10):
        new_ticket()
    with django_assert_max_num_queries(14):
        client.get(reverse("agents:home"))
