"""Who may use the console's major incident URLs (agents/views/incidents.py).

Anonymous visitors and requesters go to the console's sign-in; an agent outside the ticket gets
the 404 of a missing ticket; a View Only agent is refused (403); an Agent (without
``manage_incidents``) is refused declaring, the status line and updates, but links and unlinks
tickets it sees; a Supervisor does all of it. Nothing is written by a refused request."""

import pytest
from django.urls import reverse

from agents.urls import urlpatterns
from tests.agents.test_access import INCIDENT
from tests.factories import AgentFactory
from tickets import services
from tickets.models import ThreadEntry, Ticket, TicketTransition

LOGIN = "/agents/login/"
MANAGE = {"incident_declare", "incident_status", "incident_update"}
LINK = {"incident_link", "incident_join", "incident_unlink"}


@pytest.fixture
def desk(lab, new_ticket):
    """An incident in Support (John's department) with Karen's ticket as its report, and two
    ordinary tickets of Support."""
    report, loose, other = new_ticket(), new_ticket(subject="Cannot log in"), new_ticket(subject="App down")
    incident = services.incident_open(
        actor=lab.jane,
        subject="Online banking outage",
        body="Down for everyone.",
        status="We know.",
        department=lab.support,
        first_report=report,
    )
    made = {"incident": incident, "report": report, "loose": loose, "other": other}
    return {name: Ticket.objects.get(pk=ticket.pk) for name, ticket in made.items()}


def _requests(desk):
    """Each URL with the ticket it is about and a valid form."""
    incident, report, loose, other = desk["incident"], desk["report"], desk["loose"], desk["other"]
    return {
        "incident_declare": (loose, {"version": loose.version, "mode": "this", "status": "Down."}),
        "incident_status": (incident, {"version": incident.version, "status": "Fixed by noon."}),
        "incident_update": (incident, {"version": incident.version, "body": "A fix is coming."}),
        "incident_link": (incident, {"version": incident.version, "numbers": loose.number}),
        "incident_join": (other, {"version": other.version, "incident": incident.number}),
        "incident_unlink": (report, {"version": report.version, "back": "report"}),
    }


def _url(name, ticket):
    return reverse(f"agents:{name}", args=[ticket.number])


def _snapshot():
    return (
        list(
            Ticket.objects.order_by("pk").values_list(
                "pk", "version", "is_major_incident", "incident_id", "incident_status"
            )
        ),
        ThreadEntry.objects.count(),
        TicketTransition.objects.count(),
    )


def test_the_incident_urls_are_these():
    """A new incident URL fails here until it is added to the tests below."""
    names = {p.name for p in urlpatterns if p.name.startswith("incident")}
    assert names == INCIDENT == MANAGE | LINK


@pytest.mark.parametrize("who", ["anonymous", "requester"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anyone_but_staff_is_sent_to_the_console_sign_in(client, lab, desk, who, method):
    if who == "requester":
        client.force_login(lab.karen)  # the very requester of the report
    before = _snapshot()
    for name, (ticket, data) in _requests(desk).items():
        response = getattr(client, method)(_url(name, ticket), data if method == "post" else None)
        assert response.status_code == 302, name
        assert response["Location"].startswith(f"{LOGIN}?next="), name
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["stranger", "agent without department"])
def test_an_agent_outside_the_ticket_gets_the_404_of_a_missing_ticket(client, lab, desk, stranger, who):
    client.force_login(stranger if who == "stranger" else AgentFactory(username="nodept", role="Agent"))
    before = _snapshot()
    for name, (ticket, data) in _requests(desk).items():
        assert client.post(_url(name, ticket), data).status_code == 404, name
        assert client.post(_url(name, ticket).replace(ticket.number, "999999", 1), data).status_code == 404
    assert _snapshot() == before


def test_view_only_is_refused_everything(client, lab, desk):
    client.force_login(AgentFactory(username="viewer", role="View Only", departments=[lab.support]))
    before = _snapshot()
    for name, (ticket, data) in _requests(desk).items():
        assert client.post(_url(name, ticket), data).status_code == 403, name
    assert _snapshot() == before
    # Nor are the forms shown to them.
    page = client.get(_url("ticket", desk["incident"])).content.decode()
    assert [name for name in INCIDENT if _url(name, desk["incident"]) in page] == []


@pytest.mark.parametrize("name", sorted(MANAGE))
def test_an_agent_without_manage_incidents_is_refused_declare_status_and_updates(client, lab, desk, name):
    client.force_login(lab.john)
    ticket, data = _requests(desk)[name]
    before = _snapshot()
    assert client.post(_url(name, ticket), data).status_code == 403
    assert _snapshot() == before


@pytest.mark.parametrize("name", sorted(LINK))
def test_an_agent_without_manage_incidents_links_and_unlinks_tickets_it_sees(client, lab, desk, name):
    client.force_login(lab.john)
    ticket, data = _requests(desk)[name]
    response = client.post(_url(name, ticket), data)
    assert response.status_code == 302
    incident = desk["incident"]
    expected = {
        "incident_link": ("loose", incident.pk),
        "incident_join": ("other", incident.pk),
        "incident_unlink": ("report", None),
    }[name]
    assert Ticket.objects.get(pk=desk[expected[0]].pk).incident_id == expected[1]


@pytest.mark.parametrize("name", sorted(MANAGE))
def test_a_supervisor_may_declare_change_the_status_and_post_updates(client, lab, desk, name):
    client.force_login(AgentFactory(username="sue", role="Supervisor", departments=[lab.support]))
    ticket, data = _requests(desk)[name]
    before = _snapshot()
    response = client.post(_url(name, ticket), data)
    assert response.status_code == 302
    assert _snapshot() != before


def test_a_stale_version_is_refused_for_each_url(client, lab, desk):
    client.force_login(lab.jane)
    for name, (ticket, data) in _requests(desk).items():
        before = _snapshot()
        response = client.post(_url(name, ticket), {**data, "version": ticket.version + 1})
        assert response.status_code in (302, 400), name
        assert _snapshot() == before, name


def test_bulk_link_is_refused_per_ticket_for_view_only_and_works_for_an_agent(client, lab, desk):
    incident, loose, other = desk["incident"], desk["loose"], desk["other"]
    data = {"tickets": [loose.pk, other.pk], "action": "link_incident", "incident": incident.number}
    client.force_login(AgentFactory(username="viewer", role="View Only", departments=[lab.support]))
    before = _snapshot()
    response = client.post(reverse("agents:bulk"), data)
    errors = [m.message for m in response.wsgi_request._messages]
    assert sorted(errors) == sorted(f"#{t.number}: Your role may not link tickets." for t in (loose, other))
    assert _snapshot() == before
    client.force_login(lab.john)
    client.post(reverse("agents:bulk"), data)
    assert set(incident.reports.values_list("pk", flat=True)) == {desk["report"].pk, loose.pk, other.pk}
