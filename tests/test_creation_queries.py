"""Opening a ticket costs at most 15 queries whatever the number of agents alerted: the request
stores the ticket and queues one task; the mail is rendered and sent by the worker (issue 16).
Counted for karen's portal form, a guest's and an integration's API POST, with tasks queued as
under a broker (not run inline), in real transactions as in production."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from tickets import apikeys, selectors
from tickets.mailout import tasks
from tickets.models import ApiKey, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

MAX_QUERIES = 15
# The guest's request also reads and writes its session (the grant of the new ticket: four
# statements with BEGIN and COMMIT); the form's help topics come from the catalog.
BUDGET = {"portal karen": MAX_QUERIES, "portal guest": MAX_QUERIES, "API": MAX_QUERIES}
BODY = "The printer on floor 3 jams on every second page."


@pytest.fixture
def queued(monkeypatch):
    """The mail tasks queued, as a broker would take them (nothing runs)."""
    found: list[tuple[str, tuple]] = []
    for task in (tasks.notify_transition, tasks.notify_entry, tasks.send_email):
        monkeypatch.setattr(task, "delay", lambda *args, _name=task.name, **kw: found.append((_name, args)))
    return found


@pytest.fixture
def senders(lab, settings):
    settings.THROTTLE_GUEST_TICKETS_PER_IP = (1000, 3600)
    settings.THROTTLE_GUEST_TICKETS_PER_EMAIL = (1000, 3600)
    topic = selectors.help_topics_public()[0].pk
    karen, guest = Client(), Client()
    karen.force_login(lab.karen)
    _, raw = apikeys.apikey_create(name="monitoring", owner=lab.admin, scope=ApiKey.Scope.CREATE)
    integration = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def portal_karen(subject):
        response = karen.post("/tickets/new/", {"subject": subject, "body": BODY, "help_topic": topic})
        assert response.status_code == 302, response.content.decode()[:500]

    def portal_guest(subject):
        data = {"subject": subject, "body": BODY, "help_topic": topic}
        response = guest.post(
            "/tickets/new/", {**data, "name": "Gus", "email": "gus@example.org", "phone": ""}
        )
        assert response.status_code == 302, response.content.decode()[:500]

    def api(subject):
        data = {
            "requester_email": "mon@example.org",
            "requester_name": "Mon",
            "subject": subject,
            "body": BODY,
        }
        response = integration.post("/api/v1/tickets/", data, content_type="application/json")
        assert response.status_code == 201, response.content.decode()[:500]

    return {"portal karen": portal_karen, "portal guest": portal_guest, "API": api}


def creation_queries(send, queued) -> list[str]:
    send("warm-up")  # the catalog read into the cache, the guest's session made
    queued.clear()
    with CaptureQueriesContext(connection) as captured:
        send("counted")
    assert [name for name, _ in queued] == ["tickets.tasks.notify_transition"]
    return [query["sql"] for query in captured.captured_queries]


def support_agents(lab, count):
    have = lab.support.agents.count()
    for i in range(have, count):
        AgentFactory(username=f"agent{i}", email=f"agent{i}@example.com", departments=[lab.support])


@pytest.mark.parametrize("door", ["portal karen", "portal guest", "API"])
def test_creation_costs_the_same_few_queries_for_3_or_20_agents(lab, senders, queued, door):
    support_agents(lab, 3)
    few = creation_queries(senders[door], queued)
    support_agents(lab, 20)
    many = creation_queries(senders[door], queued)
    assert len(few) <= BUDGET[door], "\n".join(few)
    assert len(many) == len(few), "\n".join(many)
    # Nothing was mailed inside the request, and the ticket was made and taken in.
    assert mail.outbox == []
    assert Ticket.objects.filter(subject="counted", state="open", number__isnull=False).count() == 2
