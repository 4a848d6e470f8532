"""A requester whose ticket reports a major incident reads the incident's public status line on
their ticket page and a "Known problem" badge in their list, and nothing else of the incident."""

import re

import pytest
from django.urls import reverse

from tickets import linked, links, services
from tickets.models import State, Ticket

STATUS = "We know about this outage and are working on it."
NOTICE = re.compile(
    r'<div class="alert[^"]*known-problem" role="status">\s*<div><strong>Known problem:</strong> ([^<]*)'
)


@pytest.fixture
def karen_client(browser, lab):
    return browser(lab.karen)


@pytest.fixture
def outage(lab, new_ticket):
    """Karen's ticket, linked by Jane to the online-banking incident she opened from it."""
    karens = new_ticket()
    incident = services.incident_open(
        actor=lab.jane,
        subject="Online banking outage",
        body="Gateway certificate expired; internal: change CHG-4711.",
        status=STATUS,
        department=lab.sysadmins,
        team=lab.online_banking,
        first_report=karens,
    )
    return incident, Ticket.objects.get(pk=karens.pk)


def _page(client, ticket):
    response = client.get(reverse("portal:ticket", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def _notice(page):
    found = NOTICE.findall(page)
    assert len(found) <= 1
    return found[0] if found else None


def test_a_report_shows_the_incidents_status_line_and_nothing_else_of_it(karen_client, outage):
    incident, karens = outage
    page = _page(karen_client, karens)
    assert _notice(page) == STATUS
    # The notice sits in the "Where your ticket is" card, before the stage strip.
    assert page.index("where-now") < page.index("Known problem:") < page.index("conversation")
    # Not the incident's number, subject, opening message or the events that linked it.
    assert f"#{incident.number}" not in page
    assert incident.subject not in page and "CHG-4711" not in page
    assert "Linked to major incident" not in page


def test_a_guest_following_the_mailed_link_reads_it_too(browser, outage):
    incident, karens = outage
    guest = browser()
    landed = guest.get(reverse("portal:ticket_link", args=[links.ticket_token(karens)]), follow=True)
    assert landed.status_code == 200 and landed.redirect_chain
    page = landed.content.decode()
    assert _notice(page) == STATUS and f"#{incident.number}" not in page


def test_an_ordinary_ticket_shows_no_notice(karen_client, new_ticket, outage):
    ordinary = new_ticket(subject="Printer on floor 2 jams")
    page = _page(karen_client, ordinary)
    assert _notice(page) is None and "Known problem" not in page


def test_the_default_line_when_the_incident_has_none(karen_client, outage):
    incident, karens = outage
    Ticket.objects.filter(pk=incident.pk).update(incident_status="")
    assert _notice(_page(karen_client, karens)) == linked.DEFAULT_INCIDENT_STATUS


def test_a_new_status_line_reaches_the_page(karen_client, lab, outage):
    incident, karens = outage
    services.incident_set_status(incident=incident, actor=lab.jane, status="Fixed for most <customers>.")
    # Escaped as any text a person wrote.
    assert _notice(_page(karen_client, karens)) == "Fixed for most &lt;customers&gt;."


def test_no_notice_once_resolved_with_the_incident_nor_after_reopening(karen_client, lab, outage):
    incident, karens = outage
    services.ticket_resolve(ticket=incident, actor=lab.jane, message="Fixed: the certificate was renewed.")
    karens.refresh_from_db()
    assert karens.state == State.RESOLVED and karens.incident_id == incident.pk
    # Resolved: the resolution message speaks, not "we are working on it".
    page = _page(karen_client, karens)
    assert _notice(page) is None and "Fixed: the certificate was renewed." in page

    response = karen_client.post(
        reverse("portal:ticket_reopen", args=[karens.number]), {"reason": "Still cannot log in."}
    )
    assert response.status_code == 302
    karens.refresh_from_db()
    assert karens.incident_id is None and karens.is_active
    assert _notice(_page(karen_client, karens)) is None


def test_the_list_marks_an_active_report_as_a_known_problem(karen_client, new_ticket, outage):
    incident, karens = outage
    new_ticket(subject="Printer on floor 2 jams")
    page = karen_client.get(reverse("portal:my_tickets")).content.decode()
    rows = re.findall(r'<a class="list-group-item.*?</a>', page, flags=re.S)
    marked = [row for row in rows if "Known problem" in row]
    assert len(rows) == 2 and len(marked) == 1 and karens.subject in marked[0]
    assert f"#{incident.number}" not in page


def _count(client, name, number, django_assert_max_num_queries):
    url = reverse(name, args=[number] if number else [])
    with django_assert_max_num_queries(12) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_notice_and_the_badge_cost_no_query(
    karen_client, lab, new_ticket, outage, django_assert_max_num_queries
):
    _, karens = outage
    ordinary = new_ticket(subject="Printer on floor 2 jams")
    services.ticket_assign(ticket=ordinary, actor=lab.john, agent=lab.john)
    count = django_assert_max_num_queries
    report = _count(karen_client, "portal:ticket", karens.number, count)
    assert report == _count(karen_client, "portal:ticket", ordinary.number, count)
    listed = _count(karen_client, "portal:my_tickets", None, count)
    services.ticket_unlink_incident(ticket=karens, actor=lab.jane)
    assert listed == _count(karen_client, "portal:my_tickets", None, count)
