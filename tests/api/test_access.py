"""Who may reach what: every URL refuses the anonymous; a ticket the caller may not see is the
same 404 as one that does not exist; key scopes and roles are 403."""

import pytest

from api.v1 import urlpatterns
from api.views.actions import AGENT_MOVES
from tests.api.conftest import url
from tickets.models import ApiKey

NUMBER = "100001"
ENDPOINTS = [
    ("get", "/api/v1/tickets/"),
    ("post", "/api/v1/tickets/"),
    ("get", url(NUMBER)),
    ("patch", url(NUMBER)),
    ("get", url(NUMBER, "attachments", "1")),
    ("post", url(NUMBER, "replies")),
    ("post", url(NUMBER, "notes")),
    ("post", url(NUMBER, "messages")),
    *[("post", url(NUMBER, "transitions", name)) for name in AGENT_MOVES],
    ("post", url(NUMBER, "transitions", "teleport")),
    ("post", url(NUMBER, "merge")),
    ("post", "/api/v1/incidents/"),
    ("post", url(NUMBER, "incident")),
    ("patch", url(NUMBER, "incident")),
    ("delete", url(NUMBER, "incident-link")),
    ("get", url(NUMBER, "reports")),
    ("post", url(NUMBER, "reports")),
    ("get", url(NUMBER, "updates", "preview")),
    ("post", url(NUMBER, "updates")),
    ("get", url(NUMBER, "related")),
    ("post", url(NUMBER, "related")),
    ("delete", url(NUMBER, "related", "100002")),
    ("get", "/api/v1/help-topics/"),
    ("get", "/api/v1/priorities/"),
    ("get", "/api/v1/departments/"),
    ("get", "/api/v1/teams/"),
    ("get", "/api/v1/sla-plans/"),
    ("get", "/api/v1/reports/dashboard/"),
    ("get", "/api/v1/reports/what-if/"),
]
# The ticket's reads and writes, and what a "create only" or "read" key gets from each.
TICKET_READS = [("get", ()), ("get", ("attachments", "1"))]
TICKET_WRITES = [
    ("patch", (), {"priority": None}),
    ("post", ("replies",), {"body": "x"}),
    ("post", ("notes",), {"body": "x"}),
    ("post", ("transitions", "claim"), {}),
    ("post", ("merge",), {"into": "999999"}),
    ("post", ("incident",), {"status": "Down"}),
    ("post", ("reports",), {"tickets": ["100001"]}),
    ("delete", ("incident-link",), {}),
    ("post", ("updates",), {"body": "x"}),
    ("post", ("related",), {"ticket": "100002"}),
]


def test_every_endpoint_is_listed_here(lab):
    """A new URL must join ENDPOINTS (and so the anonymous test below)."""
    assert len(urlpatterns) == len({path for _, path in ENDPOINTS if "teleport" not in path}) + 1


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_the_anonymous_get_401_everywhere(db, api, method, path):
    answer = getattr(api(), method)(path, {}, format="json")
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("how", ["session", "key"])
def test_a_requester_cannot_see_another_requesters_ticket(lab, api, make_key, ticket, how):
    ken = api(lab.ken) if how == "session" else api(key=make_key(lab.ken, ApiKey.Scope.ACT))
    missing = ken.get(url("999999"))
    for method, path in TICKET_READS:
        answer = getattr(ken, method)(url(ticket.number, *path))
        assert answer.status_code == 404 and answer.json() == missing.json()
    for method, path, body in [*TICKET_WRITES, ("post", ("messages",), {"body": "x"})]:
        answer = getattr(ken, method)(url(ticket.number, *path), body, format="json")
        assert answer.status_code == 404, path
        assert answer.json() == {"code": "not_found", "message": "No such ticket."}


def test_an_agent_outside_the_department_gets_404(lab, api, stranger, ticket):
    client = api(stranger)
    assert client.get(url(ticket.number)).json() == client.get(url("999999")).json()
    for method, path, body in TICKET_WRITES:
        assert getattr(client, method)(url(ticket.number, *path), body, format="json").status_code == 404


def test_a_key_limited_to_another_department_gets_404(lab, api, make_key, ticket):
    key = make_key(lab.jane, ApiKey.Scope.ACT, department=lab.sysadmins)
    assert api(lab.jane).get(url(ticket.number)).status_code == 200
    assert api(key=key).get(url(ticket.number)).status_code == 404


def test_a_create_only_key_reads_nothing(lab, api, integration, ticket):
    client = api(key=integration)
    assert client.get("/api/v1/tickets/").status_code == 403
    for method, path in TICKET_READS:
        answer = getattr(client, method)(url(ticket.number, *path))
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    for method, path, body in TICKET_WRITES:
        assert getattr(client, method)(url(ticket.number, *path), body, format="json").status_code == 403


@pytest.mark.parametrize("owner", ["jane", "karen"])
def test_a_read_key_cannot_write(lab, api, make_key, ticket, owner):
    client = api(key=make_key(getattr(lab, owner), ApiKey.Scope.READ))
    assert client.get(url(ticket.number)).status_code == 200
    writes = [*TICKET_WRITES, ("post", ("messages",), {"body": "x"}), ("post", ("transitions", "close"), {})]
    for method, path, body in writes:
        answer = getattr(client, method)(url(ticket.number, *path), body, format="json")
        assert answer.status_code == 403 and answer.json()["message"] == "This API key is read only."
    assert client.post("/api/v1/tickets/", {"subject": "x"}, format="json").status_code == 403


def test_requesters_may_not_do_what_agents_do(lab, api, ticket):
    karen = api(lab.karen)
    for method, path, body in TICKET_WRITES:
        answer = getattr(karen, method)(url(ticket.number, *path), body, format="json")
        assert answer.status_code == 403, path


def test_a_deactivated_agents_session_is_refused(lab, api, ticket):
    client = api(lab.john)
    lab.john.is_active = False
    lab.john.save()
    assert client.get(url(ticket.number)).status_code == 401
