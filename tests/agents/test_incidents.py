"""Major incidents in the console: the workspace's panel on an incident, on a report and on an
ordinary ticket, its forms (declare, status line, one update to every report, link reports, link
to an incident, unlink), the resolve dialog's warning, and the queue's bulk link and marks."""

import re

from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import services
from tickets.models import State, ThreadEntry, Ticket

STATUS = "We know about this outage and are working on it."



def _url(name, ticket):
    return reverse(f"agents:{name}", args=[ticket.number])


def _messages(response, level=None):
    return [m.message for m in get_messages(response.wsgi_request) if level is None or m.level_tag == level]


def _fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def _start_work(lab, report):
    services.ticket_assign(ticket=report, actor=lab.jane, agent=lab.jane, team=lab.online_banking)
    services.ticket_start_work(ticket=_fresh(report), actor=lab.jane)


def _events(ticket):
    return list(ticket.thread.filter(kind=ThreadEntry.Kind.EVENT).values_list("body", flat=True))


# -- the panel ---------------------------------------------------------------------------------


def test_the_incident_workspace_shows_its_status_audience_reports_and_counts(client, lab, outage):
    incident, reports = outage
    _start_work(lab, reports[1])
    client.force_login(lab.jane)
    response = client.get(_url("ticket", incident))
    assert response.status_code == 200
    page = response.content.decode()
    panel = page.split('incident-panel"', 1)[1]
    assert STATUS in panel
    assert "An update goes to <strong>3 reports</strong> from <strong>3 requesters</strong>." in panel
    assert "Post to all 3 reports (3 requesters)" in panel
    for report in reports:
        assert f"#{report.number}</a>" in panel and report.subject in panel
        assert report.requester.name in panel
        assert reverse("agents:incident_unlink", args=[report.number]) in panel
    assert "Assigned: <strong>2</strong>" in panel and "In progress: <strong>1</strong>" in panel
    # The resolve dialog says what else resolving does.
    assert "Resolving this incident also resolves its 3 active reports with this message" in page


def test_a_reports_workspace_has_a_banner_naming_its_incident(client, lab, outage):
    incident, reports = outage
    client.force_login(lab.john)
    page = client.get(_url("ticket", reports[0])).content.decode()
    banner = page.split('incident-banner"', 1)[1].split("</div>\n", 2)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", "".join(banner)))
    assert f"Report of major incident #{incident.number} — {STATUS}" in text
    # John (Support) does not see the incident (System Administrators): named, not linked.
    assert f'href="{_url("ticket", incident)}"' not in page
    assert _url("incident_unlink", reports[0]) in page
    client.force_login(lab.jane)
    assert f'href="{_url("ticket", incident)}"' in client.get(_url("ticket", reports[0])).content.decode()
    client.force_login(lab.john)
    page = client.get(_url("ticket", reports[0])).content.decode()
    # Its resolution is due with the incident's (tickets.services.incidents).
    assert "Resolution on the incident's clock" in page
    # The link events read as sentences in both threads.
    assert f"Linked to major incident #{incident.number} by Jane Doe" in page


def test_an_ordinary_ticket_offers_declare_to_a_manager_and_only_link_to_an_agent(client, lab, new_ticket):
    ticket = new_ticket()
    incident = services.incident_open(
        actor=lab.jane, subject="Card payments fail", body="All cards.", status=STATUS, department=lab.support
    )
    client.force_login(lab.jane)
    page = client.get(_url("ticket", ticket)).content.decode()
    assert _url("incident_declare", ticket) in page and _url("incident_join", ticket) in page
    assert f'<option value="{incident.number}">#{incident.number} Card payments fail</option>' in page
    client.force_login(lab.john)
    page = client.get(_url("ticket", ticket)).content.decode()
    assert _url("incident_declare", ticket) not in page
    assert _url("incident_join", ticket) in page
    assert f'<option value="{incident.number}">' in page


def test_the_incident_workspace_costs_the_same_queries_with_3_or_30_reports(
    client, lab, outage, new_ticket, django_assert_max_num_queries
):
    incident, _ = outage
    client.force_login(lab.jane)
    url = _url("ticket", incident)
    client.get(url)  # the caches warm
    with CaptureQueriesContext(connection) as three:
        assert client.get(url).status_code == 200
    for i in range(27):
        report = new_ticket(subject=f"Banking down {i}")
        services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
    with django_assert_max_num_queries(len(three)):
        response = client.get(url)
    assert len(response.context["incident_panel"]["reports"]) == 20
    assert response.context["incident_panel"]["total"] == 30
    assert "The newest 20 of 30 reports." in response.content.decode()


# -- declare -----------------------------------------------------------------------------------


def test_a_manager_declares_this_ticket_the_incident(client, lab, new_ticket):
    ticket = new_ticket()
    client.force_login(lab.jane)
    response = client.post(
        _url("incident_declare", ticket), {"version": ticket.version, "mode": "this", "status": STATUS}
    )
    assert response.status_code == 302 and response["Location"] == _url("ticket", ticket)
    ticket = _fresh(ticket)
    assert ticket.is_major_incident and ticket.incident_status == STATUS
    assert f"#{ticket.number} is now a major incident." in _messages(response)


def test_a_manager_opens_a_new_incident_with_this_ticket_as_its_first_report(client, lab, new_ticket):
    ticket = new_ticket()
    client.force_login(lab.jane)
    response = client.post(
        _url("incident_declare", ticket),
        {
            "version": ticket.version,
            "mode": "new",
            "status": STATUS,
            "subject": "Online banking outage",
            "body": "",
            "team": lab.online_banking.pk,
            "department": lab.sysadmins.pk,
        },
    )
    incident = Ticket.objects.get(is_major_incident=True)
    assert response.status_code == 302 and response["Location"] == _url("ticket", incident)
    assert incident.subject == "Online banking outage" and incident.department == lab.sysadmins
    assert incident.team == lab.online_banking and incident.assignee == lab.jane
    assert _fresh(ticket).incident == incident
    assert incident.thread.first().body == f"Opened from #{ticket.number}: {ticket.subject}"


def test_a_refused_declare_keeps_what_was_written(client, lab, new_ticket):
    ticket = new_ticket()
    client.force_login(lab.jane)
    long = "x" * 201
    response = client.post(
        _url("incident_declare", ticket),
        {"version": ticket.version, "mode": "new", "status": long, "subject": " "},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "A public status line is at most 200 characters." in page
    assert "A new incident ticket needs a subject." in page
    assert long in page and "<details class=\"incident-declare\" open>" in page
    assert not _fresh(ticket).is_major_incident


def test_a_stale_page_is_refused_with_the_conflict_message_and_the_text_kept(client, lab, outage):
    incident, _ = outage
    client.force_login(lab.jane)
    stale = incident.version
    services.incident_set_status(incident=incident, actor=lab.jane, status="Fixed soon.")
    response = client.post(_url("incident_update", incident), {"version": stale, "body": "We found it."})
    assert response.status_code == 400
    assert any("changed since you opened it" in m for m in _messages(response, "error"))
    page = response.content.decode()
    assert "We found it.</textarea>" in page
    assert f'name="version" value="{_fresh(incident).version}"' in page
    assert mail.outbox == [] and not incident.thread.filter(body="We found it.").exists()


# -- status line and the update ----------------------------------------------------------------


def test_the_status_line_changes(client, lab, outage):
    incident, reports = outage
    client.force_login(lab.jane)
    response = client.post(
        _url("incident_status", incident), {"version": incident.version, "status": "Fixed by noon."}
    )
    assert response.status_code == 302
    assert _fresh(incident).incident_status == "Fixed by noon."
    page = client.get(_url("ticket", reports[0]))
    assert "Fixed by noon." in page.content.decode()


def test_one_update_reaches_every_report_and_its_requester(
    client, lab, outage, django_capture_on_commit_callbacks
):
    incident, reports = outage
    client.force_login(lab.jane)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("incident_update", incident),
            {"version": incident.version, "body": "A fix is being rolled out."},
        )
    assert response.status_code == 302
    assert "Update posted on the incident and sent to 3 report(s), 3 requester(s)." in _messages(response)
    for report in reports:
        assert report.thread.filter(kind=ThreadEntry.Kind.REPLY, body="A fix is being rolled out.").exists()
    to = {address for message in mail.outbox for address in message.to}
    assert {"karen@example.com", "ken@example.com", "branch12@example.com"} <= to


def test_an_empty_update_is_refused_in_words(client, lab, outage):
    incident, _ = outage
    client.force_login(lab.jane)
    response = client.post(_url("incident_update", incident), {"version": incident.version, "body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


# -- linking -----------------------------------------------------------------------------------


def test_link_reports_reports_each_outcome_and_one_refusal_undoes_no_other(client, lab, outage, new_ticket):
    incident, reports = outage
    one, two = new_ticket(subject="Cannot log in"), new_ticket(subject="App down")
    closed = new_ticket(subject="Old")
    services.ticket_cancel(ticket=closed, actor=lab.jane, reason="Spam.")
    client.force_login(lab.jane)
    numbers = f"#{one.number}, {reports[0].number} 999999;{closed.number} {two.number}"
    response = client.post(_url("incident_link", incident), {"version": incident.version, "numbers": numbers})
    assert response.status_code == 302 and response["Location"] == _url("ticket", incident)
    assert _fresh(one).incident == incident and _fresh(two).incident == incident
    errors = _messages(response, "error")
    assert f"#{reports[0].number}: #{reports[0].number} already reports this incident." in errors
    assert "#999999: no such ticket among those you can see." in errors
    assert f"#{closed.number}: #{closed.number} is closed: only an active ticket can be linked." in errors
    assert f"2 of 5 ticket(s) linked to incident #{incident.number}." in _messages(response, "info")


def test_link_reports_refuses_words_that_are_not_numbers(client, lab, outage):
    incident, _ = outage
    client.force_login(lab.jane)
    data = {"version": incident.version, "numbers": "12a, x"}
    response = client.post(_url("incident_link", incident), data)
    assert response.status_code == 400
    assert "Not ticket numbers: “12a”, “x”." in response.content.decode()
    assert 'value="12a, x"' in response.content.decode()


def test_an_agent_links_a_ticket_to_an_incident_by_its_number_and_unlinks_it(client, lab, new_ticket):
    ticket = new_ticket()
    incident = services.incident_open(
        actor=lab.jane, subject="Card payments fail", body="All cards.", status=STATUS, department=lab.support
    )
    client.force_login(lab.john)
    data = {"version": ticket.version, "incident": f"#{incident.number}"}
    response = client.post(_url("incident_join", ticket), data)
    assert response.status_code == 302
    ticket = _fresh(ticket)
    assert ticket.incident == incident
    assert f"Linked to major incident #{incident.number} by John Doe" in _events(ticket)
    response = client.post(_url("incident_unlink", ticket), {"version": ticket.version, "back": "report"})
    assert response["Location"] == _url("ticket", ticket)
    ticket = _fresh(ticket)
    assert ticket.incident is None
    assert f"Unlinked from major incident #{incident.number} by John Doe" in _events(ticket)
    assert f"#{ticket.number} unlinked by John Doe" in _events(incident)


def test_linking_to_a_ticket_the_agent_cannot_see_is_refused_as_not_found(client, lab, outage, new_ticket):
    incident, _ = outage  # in Sysadmins: John does not see it
    ticket = new_ticket()
    client.force_login(lab.john)
    data = {"version": ticket.version, "incident": incident.number}
    response = client.post(_url("incident_join", ticket), data)
    assert response.status_code == 400
    assert f"No ticket #{incident.number} among those you can see." in _messages(response, "error")
    assert _fresh(ticket).incident is None


def test_unlink_from_the_incidents_list_goes_back_to_the_incident(client, lab, outage):
    incident, reports = outage
    client.force_login(lab.jane)
    response = client.post(
        _url("incident_unlink", reports[1]), {"version": reports[1].version, "back": "incident"}
    )
    assert response["Location"] == _url("ticket", incident)
    assert _fresh(reports[1]).incident is None


def test_unlink_with_a_stale_version_is_refused(client, lab, outage):
    incident, reports = outage
    client.force_login(lab.jane)
    stale = reports[1].version
    _start_work(lab, reports[1])
    response = client.post(_url("incident_unlink", reports[1]), {"version": stale, "back": "report"})
    assert any("changed since you opened it" in m for m in _messages(response, "error"))
    assert _fresh(reports[1]).incident == incident


# -- resolving from the workspace ----------------------------------------------------------------


def test_resolving_the_incident_in_the_console_resolves_its_reports(client, lab, outage):
    incident, reports = outage
    client.force_login(lab.jane)
    response = client.post(
        reverse("agents:action", args=[incident.number, "resolve"]),
        {"version": incident.version, "message": "Fixed: a certificate had expired."},
    )
    assert response.status_code == 302
    for report in reports:
        report = _fresh(report)
        assert report.state == State.RESOLVED
        assert report.thread.filter(body="Fixed: a certificate had expired.").exists()


# -- the queue ---------------------------------------------------------------------------------


def _bulk(client, tickets, incident):
    return client.post(
        reverse("agents:bulk"),
        {"tickets": [t.pk for t in tickets], "action": "link_incident", "incident": incident, "next": "/"},
    )


def test_bulk_link_from_a_queue_reports_each_ticket(client, lab, outage, new_ticket):
    incident, reports = outage
    one, two = new_ticket(subject="Cannot log in"), new_ticket(subject="App down")
    client.force_login(lab.jane)
    response = _bulk(client, [one, reports[0], two], f"#{incident.number}")
    assert response.status_code == 302
    assert _fresh(one).incident == incident and _fresh(two).incident == incident
    assert "2 of 3 tickets: done." in _messages(response, "success")
    assert _messages(response, "error") == [
        f"#{reports[0].number}: #{reports[0].number} already reports this incident."
    ]


def test_bulk_link_needs_an_incident_the_agent_sees(client, lab, outage, new_ticket):
    incident, _ = outage
    ticket = new_ticket()
    client.force_login(lab.john)  # John does not see the incident in Sysadmins
    response = _bulk(client, [ticket], incident.number)
    assert _messages(response, "error") == [
        f"No ticket #{incident.number} among those you can see: nothing was linked."
    ]
    client.get("/agents/")  # the messages above are read
    response = _bulk(client, [ticket], "")
    assert _messages(response, "error") == ["Give the number of the incident to link them to (100042, say)."]
    assert _fresh(ticket).incident is None


def test_the_queue_marks_incidents_and_reports_without_a_query_per_row(
    client, lab, outage, new_ticket, django_assert_max_num_queries
):
    incident, reports = outage
    client.force_login(lab.jane)
    url = reverse("agents:queue", args=["all"])
    client.get(url)  # the caches warm
    with CaptureQueriesContext(connection) as few:
        page = client.get(url).content.decode()
    assert page.count('incident-mark">Incident</span>') == 1
    assert page.count(f"↳ #{incident.number}</a>") == 3
    for i in range(10):
        report = new_ticket(subject=f"Down {i}")
        services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
    with django_assert_max_num_queries(len(few)):
        page = client.get(url).content.decode()
    assert page.count(f"↳ #{incident.number}</a>") == 13
