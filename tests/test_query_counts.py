"""Every page people read costs the same number of queries however many tickets there are, and a
ticket's page however long its thread: the console (home, every queue, every sort, search by
number, e-mail and word, a later page, the workspace, alerts), the portal (home, the requester's
list, a ticket) and the API (list, detail, configuration). Each is counted on the lab's demo
data with two pages of tickets, then again after every one of its parts has grown (issue 16,
item 4)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import apikeys, selectors, services
from tickets import lab as lab_data
from tickets.models import ApiKey, Ticket

pytestmark = pytest.mark.django_db

QUEUE_PAGES = [("agents:queue", [key], {}) for key in selectors.QUEUES] + [
    ("agents:queue", ["all"], {"sort": sort}) for sort in selectors.SORTS
]
CONSOLE_PAGES = [
    ("agents:home", [], {}),
    *QUEUE_PAGES,
    ("agents:queue", ["all"], {"q": "printer"}),
    ("agents:queue", ["all"], {"q": "karen@example.com"}),
    ("agents:queue", ["all"], {"q": "{number}"}),
    ("agents:queue", ["all"], {"page": "2"}),
    ("agents:queue", ["all"], {"state": "open", "department": "{support}"}),
    ("agents:ticket", ["{number}"], {}),
    ("agents:alerts", [], {}),
]
PORTAL_PAGES = [
    ("portal:home", [], {}),
    ("portal:my_tickets", [], {}),
    ("portal:ticket", ["{number}"], {}),
]
API_PAGES = [
    ("/api/v1/tickets/", {}),
    ("/api/v1/tickets/", {"queue": "unassigned", "sort": "priority"}),
    ("/api/v1/tickets/", {"q": "printer"}),
    ("/api/v1/tickets/{number}/", {}),
    ("/api/v1/help-topics/", {}),
    ("/api/v1/departments/", {}),
]


def _fill(value: str, ticket: Ticket) -> str:
    return value.format(number=ticket.number, support=ticket.department_id)


def _grow(lab, ticket: Ticket, *, tickets: int, entries: int) -> None:
    """More of everything a page could read row by row: tickets (with printers in them) for
    Karen in Support, and entries of every kind on ``ticket``."""
    karen = lab.karen.requester
    for i in range(tickets):
        services.ticket_create(
            requester=karen,
            subject=f"Printer {i} jams on every page",
            body="The printer on the second floor jams.",
            help_topic=lab.topic("Report a Problem"),
            actor=lab.karen,
        )
    for i in range(entries):
        services.ticket_note(ticket=ticket, actor=lab.john, body=f"Note {i}: the printer driver again.")
        services.ticket_reply(ticket=ticket, actor=lab.john, body=f"Reply {i}: please try again.")
        services.ticket_receive_reply(ticket=ticket, actor=lab.karen, body=f"Message {i}: it still jams.")


def _count(client: Client, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, (url, params, response.status_code)
    return len(queries)


@pytest.fixture
def world(lab):
    lab_data.load_tickets(lab)
    ticket = services.ticket_create(
        requester=lab.karen.requester,
        subject="The printer jams",
        body="Every page.",
        help_topic=lab.topic("Report a Problem"),
        actor=lab.karen,
    )
    services.ticket_claim(ticket=ticket, actor=lab.john)
    # Two pages of the console's lists already, so that "page 2" is a page of rows both times.
    _grow(lab, ticket, tickets=30, entries=1)
    return ticket


def _census(lab, ticket: Ticket) -> dict[str, int]:
    john, karen, api = Client(), Client(), Client()
    john.force_login(lab.john)
    karen.force_login(lab.karen)
    raw = apikeys.apikey_create(name="census", owner=lab.john, scope=ApiKey.Scope.ACT, rate_limit=10_000)[1]
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    counts = {}
    for client, pages in ((john, CONSOLE_PAGES), (karen, PORTAL_PAGES)):
        for name, args, params in pages:
            url = reverse(name, args=[_fill(a, ticket) for a in args])
            filled = {k: _fill(v, ticket) for k, v in params.items()}
            counts[f"{name} {args} {params}"] = _count(client, url, filled)
    for path, params in API_PAGES:
        counts[f"{path} {params}"] = _count(api, _fill(path, ticket), params)
    return counts


def test_no_page_costs_more_queries_with_more_tickets_or_entries(lab, world):
    ticket = world
    before = _census(lab, ticket)
    _grow(lab, ticket, tickets=40, entries=10)
    ticket.refresh_from_db()
    after = _census(lab, ticket)
    # Fewer is allowed: a list prefetches a related table only when its rows name one.
    grew = {page: (before[page], after[page]) for page in before if after[page] > before[page]}
    assert not grew, grew
    # The goal of issue 16: no page past 15 queries.
    assert max(after.values()) <= 15, sorted(after.items(), key=lambda item: -item[1])[:8]
