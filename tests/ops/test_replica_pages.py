"""Where the pages' queries go with a read replica: the reports, their exports, the SLA what-if,
a queue's export and the API's reports read the replica (the snapshot they keep is written to
the primary); the workspace, an action and the page after it, and every other page read the
primary only; nothing is ever written to the replica. The router itself: test_replica.py.

The suite's settings have no replica (DATABASE_REPLICA_URL is unset), so this module adds a
``replica`` alias while its tests run: a mirror of the test database, as Django's TEST MIRROR
makes it, through a connection of its own, whose queries are counted apart from the primary's.
A second connection sees committed rows only, so these tests commit (transactional), on SQLite
(the shared in-memory database) and on PostgreSQL alike.
"""

from __future__ import annotations

import copy
import re

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.routers import REPLICA
from tests.factories import AgentFactory
from tickets import replica, services
from tickets.models import ReportSnapshot, SLAPlan, Ticket

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup, django_db_blocker):
    """A ``replica`` alias while this module runs: the test database through a second
    connection. Module-wide, so that it exists when each test declares the databases it uses."""
    settings_dict = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPLICA] = settings_dict
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


class Queries:
    """The SQL each connection ran while the block ran."""

    def __init__(self):
        self.primary = CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])
        self.replica = CaptureQueriesContext(connections[REPLICA])

    def __enter__(self):
        self.primary.__enter__()
        self.replica.__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)

    @staticmethod
    def _sql(captured) -> list[str]:
        return [q["sql"] for q in captured.captured_queries]

    @property
    def on_primary(self) -> list[str]:
        return self._sql(self.primary)

    @property
    def on_replica(self) -> list[str]:
        return self._sql(self.replica)


def touching(sql: list[str], table: str) -> list[str]:
    return [q for q in sql if f'"{table}"' in q or f"`{table}`" in q or f" {table} " in q]


@pytest.fixture
def tickets(lab, new_ticket):
    """Two tickets, committed: the replica's connection sees them. The first is answered (the
    what-if replays its log)."""
    first = new_ticket()
    services.ticket_reply(ticket=first, actor=lab.john, body="We are on it.")
    new_ticket(subject="Printer on fire")
    return first


@pytest.fixture
def supervisor(browser, lab):
    return browser(AgentFactory(username="sup", role="Supervisor", departments=[lab.support]))


def test_the_reports_figures_are_read_from_the_replica_and_kept_on_the_primary(supervisor, tickets):
    with Queries() as queries:
        response = supervisor.get(reverse("agents:reports") + "?fresh=1")
    assert response.status_code == 200
    assert response.context["dashboard"].funnel
    # The figures: the period's tickets and their moves, on the replica.
    assert touching(queries.on_replica, "tickets_ticket")
    assert touching(queries.on_replica, "tickets_tickettransition")
    assert not touching(queries.on_primary, "tickets_ticket")
    assert not touching(queries.on_primary, "tickets_tickettransition")
    # The snapshot is written to the primary, and nothing at all to the replica.
    assert [q for q in touching(queries.on_primary, "tickets_reportsnapshot") if WRITE.match(q)]
    assert not [q for q in queries.on_replica if WRITE.match(q)]
    assert ReportSnapshot.objects.count() == 1


def test_the_kept_dashboard_is_read_back_from_the_replica(supervisor, tickets):
    assert supervisor.get(reverse("agents:reports")).status_code == 200
    with Queries() as queries:
        response = supervisor.get(reverse("agents:reports"))
    assert response.status_code == 200
    kept = touching(queries.on_replica, "tickets_reportsnapshot")
    assert kept and not [q for q in kept if WRITE.match(q)]
    assert not [q for q in touching(queries.on_primary, "tickets_reportsnapshot") if not WRITE.match(q)]
    assert not touching(queries.on_primary, "tickets_ticket")


def test_the_reports_exports_and_the_what_if_read_the_replica(supervisor, tickets):
    urls = [
        reverse("agents:reports_export", args=["funnel"]) + "?fresh=1",
        reverse("agents:reports_what_if") + f"?plan={SLAPlan.objects.get(name='Sev-A').pk}&period=30",
    ]
    for url in urls:
        with Queries() as queries:
            response = supervisor.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert body
        assert touching(queries.on_replica, "tickets_ticket"), url
        assert touching(queries.on_replica, "tickets_tickettransition"), url
        assert not touching(queries.on_primary, "tickets_ticket"), url
        assert not touching(queries.on_primary, "tickets_tickettransition"), url
        assert not [q for q in queries.on_replica if WRITE.match(q)], url


def test_the_queue_export_streams_its_rows_from_the_replica(browser, lab, tickets):
    john = browser(lab.john)
    with Queries() as queries:
        response = john.get(reverse("agents:queue_export", args=["all"]))
        text = b"".join(response.streaming_content).decode("utf-8")
    assert response.status_code == 200
    assert "Printer on fire" in text
    assert touching(queries.on_replica, "tickets_ticket")
    assert not touching(queries.on_primary, "tickets_ticket")
    assert not [q for q in queries.on_replica if WRITE.match(q)]


def test_the_api_reports_read_the_replica(supervisor, tickets):
    with Queries() as queries:
        response = supervisor.get("/api/v1/reports/dashboard/?fresh=true")
    assert response.status_code == 200, response.content
    assert touching(queries.on_replica, "tickets_ticket")
    assert not touching(queries.on_primary, "tickets_ticket")
    assert [q for q in touching(queries.on_primary, "tickets_reportsnapshot") if WRITE.match(q)]
    assert not [q for q in queries.on_replica if WRITE.match(q)]


def test_the_workspace_and_an_action_then_its_page_read_the_primary_only(browser, lab, tickets):
    john = browser(lab.john)
    workspace = reverse("agents:ticket", args=[tickets.number])
    with Queries() as queries:
        assert john.get(workspace).status_code == 200
        version = Ticket.objects.get(pk=tickets.pk).version
        moved = john.post(reverse("agents:action", args=[tickets.number, "claim"]), {"version": version})
        assert moved.status_code == 302
        assert john.get(moved["Location"]).status_code == 200
    assert Ticket.objects.get(pk=tickets.pk).assignee == lab.john
    assert touching(queries.on_primary, "tickets_ticket")
    assert queries.on_replica == []


def test_pages_outside_the_scope_never_reach_the_replica(supervisor, browser, lab, karen, tickets):
    john = browser(lab.john)
    with Queries() as queries:
        assert john.get(reverse("agents:queue", args=["all"])).status_code == 200
        assert john.get(f"/api/v1/tickets/{tickets.number}/").status_code == 200
        assert browser(lab.karen).get(reverse("portal:my_tickets")).status_code == 200
    assert queries.on_primary
    assert queries.on_replica == []
    assert not replica.wants_replica()
