"""Example 1 of the lab, Karen's side, in the portal; the agents act through the services
(their console is a later issue)."""

from django.core import mail
from django.urls import reverse

from tickets import services
from tickets.models import Priority, SLAPlan, State, Ticket


def _ticket_page(client, ticket):
    response = client.get(reverse("portal:ticket", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def _current_stage(page):
    return page.split('aria-current="step"', 1)[1].split('class="step-label">', 1)[1].split("<", 1)[0]


def test_karen_opens_follows_and_confirms_example_1(client, lab):
    # Karen signs in and opens the ticket with the topic an end user picks.
    response = client.post(
        reverse("portal:login"), {"username": "karen@example.com", "password": "Password1"}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("portal:open_ticket"),
        {
            "help_topic": lab.topic("Report a Problem").pk,
            "subject": "Entire mobile/online banking system is down",
            "body": "Customers cannot log in to mobile or online banking.",
        },
        follow=True,
    )
    ticket = Ticket.objects.get()
    page = response.content.decode()
    assert f'Your ticket number is <strong class="font-monospace">#{ticket.number}</strong>' in page
    assert "Received" in page
    assert [m.to for m in mail.outbox if "karen@example.com" in m.to] == [["karen@example.com"]]
    assert _current_stage(_ticket_page(client, ticket)) == "Received"

    # John triages and assigns to Online Banking; Karen sees the stage move, not the details.
    services.ticket_update_properties(
        ticket=ticket,
        actor=lab.john,
        sla_plan=SLAPlan.objects.get(name="Sev-A"),
        help_topic=lab.topic("Report a Problem / Business Critical Outage"),
        priority=Priority.objects.get(name="Emergency"),
    )
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    page = _ticket_page(client, ticket)
    assert _current_stage(page) == "Assigned to our team"
    assert "Emergency" not in page and "Sev-A" not in page

    # Jane takes it over and writes twice; Karen reads both replies.
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    first = "Hi Karen, we know about the outage and are working on it."
    second = "We found the cause and replaced the certificate. Online banking is up again."
    services.ticket_reply(ticket=ticket, actor=lab.jane, body=first)
    services.ticket_reply(ticket=ticket, actor=lab.jane, body=second)
    page = _ticket_page(client, ticket)
    assert _current_stage(page) == "Being worked on"
    assert first in page and second in page and page.index(first) < page.index(second)
    assert "Jane Doe" in page

    # Jane resolves; Karen is asked to confirm and does.
    services.ticket_resolve(ticket=ticket, actor=lab.jane, message="The gateway certificate was renewed.")
    page = _ticket_page(client, ticket)
    assert _current_stage(page) == "Resolved: please confirm"
    assert "Yes, it's fixed — close it" in page
    ticket.refresh_from_db()
    response = client.post(
        reverse("portal:ticket_confirm", args=[ticket.number]), {"version": ticket.version}, follow=True
    )
    ticket.refresh_from_db()
    assert ticket.state == State.CLOSED
    page = response.content.decode()
    assert _current_stage(page) == "Closed" and "Open a follow-up ticket" in page
    assert list(ticket.transitions.values_list("name", flat=True)) == [
        "create",
        "intake",
        "assign",
        "claim",
        "start_work",
        "resolve",
        "close",
    ]
    assert ticket.transitions.last().actor == lab.karen
