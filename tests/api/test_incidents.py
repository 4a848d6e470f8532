"""Major incidents through the API: open or declare one, its status line, its reports (listed,
linked, unlinked), a public update to all of them, and resolving it with the `resolve`
transition; refusals are 400 (fields), 403 (role, key scope), 404 (unseen), 409 (state)."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.serializers.tickets import AGENT_DETAIL_FIELDS, AGENT_TICKET_FIELDS, REQUESTER_TICKET_FIELDS
from tests.api.conftest import etag, url
from tests.factories import AgentFactory
from tickets import services
from tickets.models import ApiKey, State, ThreadEntry, Ticket
from tickets.webhooks import payload

STATUS = "We know about this outage and are working on it."
INCIDENTS = "/api/v1/incidents/"




@pytest.fixture
def reports(outage_reports):
    """Example 1's three reports, not yet linked (tests/conftest.py)."""
    return outage_reports


def _fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


# -- the representation --------------------------------------------------------------------------


def test_an_agent_reads_the_incident_and_its_reports_links(lab, api, outage):
    incident, reports = outage
    jane = api(lab.jane)
    data = jane.get(url(incident.number)).json()
    assert tuple(data) == AGENT_TICKET_FIELDS + AGENT_DETAIL_FIELDS
    assert (data["is_major_incident"], data["incident_status"], data["incident"]) == (True, STATUS, None)
    assert data["reports_count"] == 3
    report = jane.get(url(reports[0].number)).json()
    assert (report["is_major_incident"], report["incident"], report["reports_count"]) == (
        False,
        incident.number,
        None,
    )


@pytest.mark.parametrize("which", ["incident", "report"])
def test_the_webhook_payload_carries_the_same_incident_fields(lab, api, outage, which):
    incident, reports = outage
    ticket = incident if which == "incident" else reports[1]
    shown = api(lab.jane).get(url(ticket.number)).json()
    read = Ticket.objects.select_related(*payload.TICKET_RELATED).get(pk=ticket.pk)
    sent = payload.ticket_representation(read)
    assert sent == {name: shown[name] for name in AGENT_TICKET_FIELDS}
    assert sent["incident"] == (None if which == "incident" else incident.number)


def test_the_requester_reads_the_public_status_line_and_nothing_internal(lab, api, outage):
    incident, (karens, *_) = outage
    karen = api(lab.karen)
    data = karen.get(url(karens.number)).json()
    assert data["incident_notice"] == STATUS
    assert not {"incident", "is_major_incident", "incident_status", "reports_count"} & set(data)
    assert incident.number not in str(data)  # the incident's number, thread and team stay internal
    listed = karen.get("/api/v1/tickets/").json()["results"]
    assert tuple(listed[0]) == REQUESTER_TICKET_FIELDS and listed[0]["incident_notice"] == STATUS
    services.ticket_unlink_incident(ticket=_fresh(karens), actor=lab.jane)
    assert karen.get(url(karens.number)).json()["incident_notice"] == ""


def test_the_lists_query_count_does_not_grow_with_linked_reports(lab, api, outage, new_ticket, make_key):
    incident, _ = outage
    agent, requester = api(lab.jane), api(key=make_key(lab.karen, ApiKey.Scope.READ))
    requester.get("/api/v1/tickets/")  # the key's first use of the minute writes its last_used_at

    def counts():
        found = []
        for client, path in [
            (agent, "/api/v1/tickets/"),
            (requester, "/api/v1/tickets/"),
            (agent, url(incident.number, "reports")),
            (agent, url(incident.number)),
        ]:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path, {"page_size": 100} if "reports" in path else None).status_code == 200
            found.append(len(queries))
        return found

    counts()  # fills the cached catalog
    few = counts()
    for i in range(12):
        report = new_ticket(subject=f"Down {i}")
        services.ticket_link_incident(ticket=report, actor=lab.jane, incident=incident)
    assert incident.reports.count() == 15
    assert counts() == few


# -- declaring and the status line ---------------------------------------------------------------


def test_a_supervisor_opens_an_incident_from_a_ticket(lab, api, reports):
    karens = reports[0]
    answer = api(lab.jane).post(
        INCIDENTS,
        {
            "subject": "Online banking outage",
            "body": "Down for everyone.",
            "status": STATUS,
            "department": lab.sysadmins.pk,
            "team": lab.online_banking.pk,
            "first_report": karens.number,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert data["is_major_incident"] and data["incident_status"] == STATUS and data["reports_count"] == 1
    assert answer["Location"] == url(data["number"]) and answer["ETag"] == etag(data["version"])
    assert _fresh(karens).incident.number == data["number"]


def test_opening_refuses_agents_without_the_permission_and_unseen_first_reports(
    lab, api, reports, stranger, make_key
):
    body = {"subject": "Outage", "body": "Down.", "status": STATUS, "department": lab.sysadmins.pk}
    answer = api(lab.john).post(INCIDENTS, body, format="json")
    assert answer.status_code == 403 and "may not declare major incidents" in answer.json()["message"]
    answer = api(stranger).post(INCIDENTS, {**body, "first_report": reports[0].number}, format="json")
    assert answer.status_code == 400 and answer.json()["fields"] == {"first_report": ["No such ticket."]}
    support_key = api(key=make_key(lab.jane, ApiKey.Scope.ACT, department=lab.support))
    answer = support_key.post(INCIDENTS, body, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"department": ["This API key works in Support only."]}
    answer = api(lab.jane).post(INCIDENTS, {**body, "status": "x" * 201}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"]["status"] == ["A public status line is at most 200 characters."]
    assert not Ticket.objects.filter(is_major_incident=True).exists()


def test_a_supervisor_declares_a_ticket_an_incident_and_changes_its_status(lab, api, reports):
    ticket = reports[1]
    jane = api(lab.jane)
    answer = jane.post(url(ticket.number, "incident"), {"status": STATUS}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["is_major_incident"] and answer.json()["incident_status"] == STATUS
    version = answer.json()["version"]
    answer = jane.patch(
        url(ticket.number, "incident"),
        {"status": "Fixed for most customers."},
        format="json",
        HTTP_IF_MATCH=etag(version),
    )
    assert answer.status_code == 200 and answer.json()["incident_status"] == "Fixed for most customers."
    # A copy from before that change is stale: nothing is done.
    answer = jane.patch(
        url(ticket.number, "incident"), {"status": "Back"}, format="json", HTTP_IF_MATCH=etag(version)
    )
    assert answer.status_code == 409 and answer.json()["code"] == "stale"
    assert _fresh(ticket).incident_status == "Fixed for most customers."


def test_declaring_and_the_status_line_refusals(lab, api, reports, resolved, stranger):
    ticket = reports[1]
    path = url(ticket.number, "incident")
    # An agent without the permission, an agent who cannot see it, a requester.
    assert api(lab.john).post(path, {"status": STATUS}, format="json").status_code == 403
    assert api(stranger).post(path, {"status": STATUS}, format="json").json()["code"] == "not_found"
    assert api(lab.ken).post(path, {"status": STATUS}, format="json").status_code == 403
    # A bad status line; a closed (resolved) ticket; the status of a ticket that is no incident.
    jane = api(lab.jane)
    answer = jane.post(path, {"status": ""}, format="json")
    assert answer.status_code == 400 and "status" in answer.json()["fields"]
    answer = jane.post(url(resolved.number, "incident"), {"status": STATUS}, format="json")
    assert answer.status_code == 409
    assert answer.json()["message"] == "A resolved ticket cannot become a major incident."
    answer = jane.patch(path, {"status": STATUS}, format="json")
    assert answer.status_code == 409
    assert answer.json()["message"] == f"#{ticket.number} is not a major incident."
    assert not _fresh(ticket).is_major_incident and not _fresh(resolved).is_major_incident


# -- reports: listed, linked, unlinked -----------------------------------------------------------


def test_the_reports_are_listed_by_cursor_pages(lab, api, outage):
    incident, reports = outage
    jane = api(lab.jane)
    first = jane.get(url(incident.number, "reports"), {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = jane.get(first["next"]).json()
    assert second["next"] is None
    listed = [r["number"] for r in first["results"] + second["results"]]
    assert sorted(listed) == sorted(r.number for r in reports)
    assert {r["incident"] for r in first["results"]} == {incident.number}
    # A requester lists nothing of the kind.
    assert api(lab.karen).get(url(reports[0].number, "reports")).status_code == 403


def test_linking_reports_answers_each_tickets_outcome(lab, api, reports, new_ticket, resolved):
    karens, kens, branch = reports
    incident = new_ticket(subject="Outage")
    services.ticket_assign(ticket=incident, actor=lab.jane, team=lab.online_banking)
    incident = _fresh(services.incident_declare(ticket=incident, actor=lab.jane, status=STATUS))
    answer = api(lab.jane).post(
        url(incident.number, "reports"),
        {"tickets": [karens.number, kens.number, resolved.number, "999999", karens.number, "abc"]},
        format="json",
        HTTP_IF_MATCH=etag(incident.version),
    )
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert data["results"] == [
        {"ticket": karens.number, "outcome": "linked", "reason": ""},
        {"ticket": kens.number, "outcome": "linked", "reason": ""},
        {
            "ticket": resolved.number,
            "outcome": "refused",
            "reason": f"#{resolved.number} is resolved: only an active ticket can be linked.",
        },
        {"ticket": "999999", "outcome": "refused", "reason": "No such ticket."},
        {"ticket": karens.number, "outcome": "refused", "reason": "Named twice."},
        {"ticket": "abc", "outcome": "refused", "reason": "No such ticket."},
    ]
    assert (data["linked"], data["refused"]) == (2, 4)
    assert answer["ETag"] == etag(_fresh(incident).version)
    assert _fresh(karens).incident_id == incident.pk and _fresh(kens).state == State.ASSIGNED
    # John (an agent of Support) sees the incident, not the branch's ticket once it went to the
    # Online Banking team of SysAdmins: the same "No such ticket." as a number that does not exist.
    services.ticket_assign(ticket=branch, actor=lab.jane, team=lab.online_banking, department=lab.sysadmins)
    answer = api(lab.john).post(url(incident.number, "reports"), {"tickets": [branch.number]}, format="json")
    assert answer.status_code == 200
    refused = {"ticket": branch.number, "outcome": "refused", "reason": "No such ticket."}
    assert answer.json()["results"] == [refused]
    assert _fresh(branch).incident_id is None


def test_linking_refusals(lab, api, outage, reports, stranger, make_key):
    incident, _ = outage
    other = services.ticket_create_for_contact(
        email="x@example.com", name="X", subject="Printer", body="Jammed.", actor=lab.john
    )[1]
    path = url(incident.number, "reports")
    assert api(stranger).post(path, {"tickets": [other.number]}, format="json").status_code == 404
    # Karen does not see the incident; on her own ticket she may not link.
    assert api(lab.karen).post(path, {"tickets": [other.number]}, format="json").status_code == 404
    answer = api(lab.karen).post(url(reports[0].number, "reports"), {"tickets": ["1"]}, format="json")
    assert answer.status_code == 403 and answer.json()["message"] == "Only agents work with major incidents."
    viewer = AgentFactory(username="viewer", role="View Only", departments=[lab.sysadmins, lab.support])
    answer = api(viewer).post(path, {"tickets": [other.number]}, format="json")
    assert answer.status_code == 403 and answer.json()["message"] == "Your role may not link tickets."
    answer = api(viewer).delete(url(reports[0].number, "incident-link"))
    assert answer.status_code == 403 and answer.json()["message"] == "Your role may not link tickets."
    read_key = api(key=make_key(lab.jane, ApiKey.Scope.READ))
    assert read_key.post(path, {"tickets": [other.number]}, format="json").status_code == 403
    answer = api(lab.jane).post(path, {"tickets": []}, format="json")
    assert answer.status_code == 400 and "tickets" in answer.json()["fields"]
    answer = api(lab.jane).post(path, {"tickets": ["1"] * 101}, format="json")
    assert answer.status_code == 400
    # Not an incident: 409 with the ticket as it is.
    answer = api(lab.jane).post(url(other.number, "reports"), {"tickets": [other.number]}, format="json")
    assert answer.status_code == 409
    assert answer.json()["message"] == f"#{other.number} is not a major incident."
    assert answer.json()["ticket"]["number"] == other.number
    # A stale incident: nothing linked.
    answer = api(lab.jane).post(path, {"tickets": [other.number]}, format="json", HTTP_IF_MATCH=etag(1))
    assert answer.status_code == 409 and answer.json()["code"] == "stale"
    assert _fresh(other).incident_id is None


def test_unlinking_a_report(lab, api, outage, stranger):
    incident, (karens, kens, _) = outage
    assert api(stranger).delete(url(karens.number, "incident-link")).status_code == 404
    assert api(lab.karen).delete(url(karens.number, "incident-link")).status_code == 403
    answer = api(lab.jane).delete(url(karens.number, "incident-link"), HTTP_IF_MATCH=etag(karens.version))
    assert answer.status_code == 200, answer.json()
    assert answer.json()["incident"] is None and answer.json()["version"] > karens.version
    assert _fresh(karens).incident_id is None and incident.reports.count() == 2
    answer = api(lab.jane).delete(url(karens.number, "incident-link"))
    assert answer.status_code == 409 and answer.json()["message"] == f"#{karens.number} reports no incident."
    answer = api(lab.jane).delete(url(kens.number, "incident-link"), HTTP_IF_MATCH=etag(kens.version - 1))
    assert answer.status_code == 409 and answer.json()["code"] == "stale"


# -- updates and resolving -------------------------------------------------------------------------


def test_the_preview_counts_who_an_update_reaches(lab, api, outage, stranger):
    incident, (karens, *_) = outage
    answer = api(lab.jane).get(url(incident.number, "updates", "preview"))
    assert answer.status_code == 200 and answer.json() == {"reports": 3, "requesters": 3}
    assert api(stranger).get(url(incident.number, "updates", "preview")).status_code == 404
    assert api(lab.karen).get(url(karens.number, "updates", "preview")).status_code == 403
    answer = api(lab.jane).get(url(karens.number, "updates", "preview"))
    assert answer.status_code == 409 and answer.json()["code"] == "not_allowed"


def test_an_update_reaches_every_requester_once_even_when_retried(
    lab, api, outage, django_capture_on_commit_callbacks
):
    incident, reports = outage
    jane = api(lab.jane)
    path = url(incident.number, "updates")
    body = {"body": "Engineers found the cause; a fix is being deployed."}
    with django_capture_on_commit_callbacks(execute=True):
        answer = jane.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="update-1")
        again = jane.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="update-1")
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["reports"], answer.json()["requesters"]) == (3, 3)
    assert answer.json()["ticket"]["number"] == incident.number
    assert answer["ETag"] == etag(_fresh(incident).version)
    assert again.json() == answer.json() and again["Idempotent-Replayed"] == "true"
    # Each reporter once, and Jane, the incident's own requester.
    mailed = sorted(m.to[0] for m in mail.outbox)
    assert mailed == sorted([lab.jane.email, *(r.requester.email for r in reports)])
    for report in reports:
        replies = report.thread.filter(kind=ThreadEntry.Kind.REPLY, is_public=True)
        assert [e.body for e in replies] == [body["body"]]


def test_update_refusals(lab, api, outage, stranger):
    incident, (karens, *_) = outage
    path = url(incident.number, "updates")
    # An agent of the incident's department whose role does not manage incidents; John, who cannot see it.
    agent = AgentFactory(username="sam", role="Agent", departments=[lab.sysadmins])
    answer = api(agent).post(path, {"body": "x"}, format="json")
    assert answer.status_code == 403 and "may not declare major incidents" in answer.json()["message"]
    assert api(lab.john).post(path, {"body": "x"}, format="json").status_code == 404
    assert api(stranger).post(path, {"body": "x"}, format="json").status_code == 404
    answer = api(lab.jane).post(path, {"body": ""}, format="json")
    assert answer.status_code == 400 and "body" in answer.json()["fields"]
    answer = api(lab.jane).post(url(karens.number, "updates"), {"body": "x"}, format="json")
    assert answer.status_code == 409
    assert answer.json()["message"] == f"#{karens.number} is not a major incident."
    services.ticket_resolve(ticket=_fresh(incident), actor=lab.jane, message="Fixed.")
    answer = api(lab.jane).post(path, {"body": "x"}, format="json")
    assert answer.status_code == 409 and "takes no updates" in answer.json()["message"]
    assert not karens.thread.filter(kind=ThreadEntry.Kind.REPLY, body="x").exists()


def test_resolving_the_incident_resolves_its_reports_and_says_how_many(
    lab, api, outage, django_capture_on_commit_callbacks
):
    incident, reports = outage
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(lab.jane).post(
            url(incident.number, "transitions", "resolve"),
            {"message": "The load balancer is fixed."},
            format="json",
            HTTP_IF_MATCH=etag(incident.version),
        )
    assert answer.status_code == 200, answer.json()
    assert answer["Reports-Resolved"] == "3"
    assert "Resolved with the incident: 3 report(s)." in [e["body"] for e in answer.json()["thread"]]
    assert {_fresh(r).state for r in reports} == {State.RESOLVED}
    # Each requester's resolution mail, queued on commit (mail.outbox: the tasks ran eagerly here).
    mailed = sorted(m.to[0] for m in mail.outbox)
    assert mailed == sorted([lab.jane.email, *(r.requester.email for r in reports)])


def test_resolving_an_ordinary_ticket_has_no_reports_header(lab, api, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    answer = api(lab.john).post(
        url(ticket.number, "transitions", "resolve"), {"message": "Fixed."}, format="json"
    )
    assert answer.status_code == 200 and not answer.has_header("Reports-Resolved")


def test_example_1_as_an_incident_through_the_api(lab, api, reports, django_capture_on_commit_callbacks):
    """Karen's ticket and two more reports are linked to an incident; Jane posts one update that
    reaches all three requesters and resolves the incident; all three reports are resolved with
    her message; Karen confirms and her ticket closes; Ken reopens and his goes back to work alone."""
    karens, kens, branch = reports
    jane = api(lab.jane)
    with django_capture_on_commit_callbacks(execute=True):
        opened = jane.post(
            INCIDENTS,
            {
                "subject": "Online banking outage",
                "body": "Mobile and online banking are down for everyone.",
                "status": STATUS,
                "department": lab.sysadmins.pk,
                "team": lab.online_banking.pk,
                "first_report": karens.number,
            },
            format="json",
        )
        number = opened.json()["number"]
        linked = jane.post(url(number, "reports"), {"tickets": [kens.number, branch.number]}, format="json")
    assert linked.json()["linked"] == 2
    assert jane.get(url(number, "updates", "preview")).json() == {"reports": 3, "requesters": 3}
    mail.outbox.clear()
    update = "Engineers found the cause; a fix is being deployed."
    with django_capture_on_commit_callbacks(execute=True):
        assert jane.post(url(number, "updates"), {"body": update}, format="json").status_code == 201
    reporters = sorted(r.requester.email for r in reports)
    assert sorted(m.to[0] for m in mail.outbox if m.to[0] != lab.jane.email) == reporters
    assert all(update in m.body for m in mail.outbox)
    mail.outbox.clear()
    message = "The load balancer is fixed; online banking is back."
    with django_capture_on_commit_callbacks(execute=True):
        resolved = jane.post(url(number, "transitions", "resolve"), {"message": message}, format="json")
    assert resolved.status_code == 200 and resolved["Reports-Resolved"] == "3"
    assert sorted(m.to[0] for m in mail.outbox if m.to[0] != lab.jane.email) == reporters
    for report in reports:
        shown = api(lab.jane).get(url(report.number)).json()
        assert shown["state"] == "resolved"
        assert shown["thread"][-1]["body"] == message
        assert shown["transitions"][-1]["actor"].startswith(f"system: incident #{number}")
    # Karen confirms the fix through her own key or session: her ticket closes.
    closed = api(lab.karen).post(url(karens.number, "transitions", "close"), {}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    # Ken says it did not hold: his ticket leaves the incident and goes back to work alone.
    reopened = api(lab.ken).post(
        url(kens.number, "transitions", "reopen"), {"reason": "Still cannot log in."}, format="json"
    )
    assert reopened.status_code == 200, reopened.json()
    assert reopened.json()["state"] in {"in_progress", "assigned", "escalated"}
    assert reopened.json()["incident_notice"] == ""
    assert jane.get(url(kens.number)).json()["incident"] is None
    assert jane.get(url(number)).json()["reports_count"] == 2
