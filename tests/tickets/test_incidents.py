"""Major incidents through the services: Example 1 as an outage many people report."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from tickets import linked, selectors, services
from tickets.models import Requester, SLAPlan, State, ThreadEntry, Ticket

STATUS = "We know about this outage and are working on it."



def _log(ticket):
    return [(t.name, t.source, t.target, t.actor_label) for t in ticket.transitions.all()]


def _events(ticket):
    return [e.body for e in ticket.thread.filter(kind=ThreadEntry.Kind.EVENT)]


def test_reports_are_linked_assigned_to_the_incident_team_and_logged(lab, outage):
    incident, reports = outage
    assert incident.is_major_incident and incident.incident_status == STATUS
    assert incident.state == State.ASSIGNED and incident.assignee == lab.jane
    assert incident.team == lab.online_banking and incident.department == lab.sysadmins
    for report in reports:
        assert report.incident == incident
        assert report.state == State.ASSIGNED and report.team == lab.online_banking
        # The move the link made is in the report's log, as the system naming the incident.
        linked = f"system: linked to incident #{incident.number}"
        assert _log(report)[-1] == ("assign", "open", "assigned", linked)
        assert f"Linked to major incident #{incident.number} by Jane Doe" in _events(report)
        assert f"#{report.number} linked as a report by Jane Doe" in _events(incident)
    assert sorted(incident.reports.values_list("pk", flat=True)) == sorted(r.pk for r in reports)


def test_a_reports_resolution_clock_is_the_incidents(lab, outage):
    incident, reports = outage
    assert incident.resolution_due is not None
    for report in reports:
        # Watched once, on the incident; each report's first response is still its own.
        assert report.resolution_due is None
        assert report.first_response_due is not None


def test_one_update_reaches_every_reporter(lab, outage, django_capture_on_commit_callbacks):
    incident, reports = outage
    assert services.incident_audience(incident) == services.Audience(reports=3, requesters=3)
    with django_capture_on_commit_callbacks(execute=True):
        reached = services.incident_post_update(
            incident=incident, actor=lab.jane, body="We found the cause: a gateway certificate."
        )
    assert reached == services.Audience(reports=3, requesters=3)
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == sorted(["karen@example.com", "ken@example.com", "branch12@example.com", "jane@example.com"])
    for report in reports:
        report.refresh_from_db()
        reply = report.thread.filter(kind=ThreadEntry.Kind.REPLY).get()
        assert (reply.body, reply.author, reply.is_public) == (
            "We found the cause: a gateway certificate.",
            lab.jane,
            True,
        )
        assert report.first_responded_at == reply.created_at
        assert linked.incident_public_status(report) == STATUS


def test_resolving_the_incident_resolves_every_report_then_each_requester_decides(
    lab, outage, django_capture_on_commit_callbacks
):
    incident, (karens, kens, branch) = outage
    message = "Fixed: the gateway certificate was renewed."
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_resolve(ticket=incident, actor=lab.jane, message=message)
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    rule = f"system: incident #{incident.number}, resolved by Jane Doe"
    for report in (karens, kens, branch):
        report.refresh_from_db()
        assert report.state == State.RESOLVED and report.incident == incident
        assert _log(report)[-1] == ("resolve", "assigned", "resolved", rule)
        last = report.thread.filter(kind=ThreadEntry.Kind.REPLY).last()
        assert (last.body, last.author) == (message, lab.jane)
        assert report.resolution_met == incident.resolution_met
    # Each requester got the resolution mail with the message.
    resolved_mail = {m.to[0]: m.body for m in mail.outbox if message in m.body}
    assert {"karen@example.com", "ken@example.com", "branch12@example.com"} <= set(resolved_mail)
    note = incident.thread.filter(kind=ThreadEntry.Kind.NOTE).last()
    assert note.body == "Resolved with the incident: 3 report(s)."

    # Karen confirms the fix: her ticket closes.
    services.ticket_confirm_fix(ticket=karens, actor=lab.karen)
    karens.refresh_from_db()
    assert karens.state == State.CLOSED
    # Ken says it still fails: his ticket leaves the incident and goes back to work alone.
    services.ticket_requester_reopen(ticket=kens, reason="Still cannot log in.", system_rule="e-mail")
    kens.refresh_from_db()
    assert kens.state == State.IN_PROGRESS and kens.incident is None
    assert kens.team == lab.online_banking
    assert kens.resolution_due is not None  # its own clock again
    assert f"Left major incident #{incident.number}: back to work on its own" in _events(kens)
    assert f"#{kens.number} left this incident: reopen by system: e-mail" in _events(incident)
    assert list(incident.reports.order_by("pk")) == sorted([karens, branch], key=lambda t: t.pk)


def test_a_report_resolved_with_the_incident_is_met_as_the_incident_was(lab, outage):
    incident, reports = outage
    sev_a = SLAPlan.objects.get(name="Sev-A")
    services.ticket_update_properties(ticket=incident, actor=lab.jane, sla_plan=sev_a)
    incident.refresh_from_db()
    services.ticket_resolve(ticket=incident, actor=lab.jane, message="Fixed.")
    incident.refresh_from_db()
    assert incident.resolution_met is not None
    for report in reports:
        report.refresh_from_db()
        assert report.resolution_met is incident.resolution_met


def test_an_agent_reopening_a_report_takes_it_off_the_incident(lab, outage):
    incident, (karens, *_) = outage
    services.ticket_resolve(ticket=incident, actor=lab.jane, message="Fixed.")
    karens.refresh_from_db()
    services.ticket_reopen(ticket=karens, actor=lab.jane, reason="Karen still sees the error page.")
    karens.refresh_from_db()
    assert karens.incident is None and karens.state == State.IN_PROGRESS


def test_unlinking_gives_the_report_its_own_clock_back(lab, outage):
    incident, (karens, *_) = outage
    services.ticket_unlink_incident(ticket=karens, actor=lab.jane)
    karens.refresh_from_db()
    assert karens.incident is None and karens.resolution_due is not None
    assert f"#{karens.number} unlinked by Jane Doe" in _events(incident)
    with pytest.raises(services.TicketActionError, match="reports no incident"):
        services.ticket_unlink_incident(ticket=karens, actor=lab.jane)


def test_an_agent_links_only_tickets_they_can_see(lab, outage, new_ticket, stranger):
    incident, _ = outage
    other = new_ticket(subject="Also down")
    # John works in Support: he sees the report but not the incident (System Administrators).
    assert not selectors.ticket_visible_to(lab.john, incident)
    with pytest.raises(PermissionDenied):
        services.ticket_link_incident(ticket=other, actor=lab.john, incident=incident)
    # An agent of another department sees neither.
    with pytest.raises(PermissionDenied):
        services.ticket_link_incident(ticket=other, actor=stranger, incident=incident)
    other.refresh_from_db()
    assert other.incident is None and other.state == State.OPEN


def test_declaring_and_updates_are_for_the_managers_of_incidents(lab, new_ticket):
    ticket = new_ticket()
    with pytest.raises(PermissionDenied):
        services.incident_declare(ticket=ticket, actor=lab.john, status=STATUS)
    services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.jane)
    services.incident_declare(ticket=ticket, actor=lab.jane, status=STATUS)
    assert ticket.is_major_incident
    with pytest.raises(PermissionDenied):
        services.incident_post_update(incident=ticket, actor=lab.john, body="Hello")
    with pytest.raises(services.TicketActionError, match="already a major incident"):
        services.incident_declare(ticket=ticket, actor=lab.jane, status=STATUS)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("itself", "cannot report itself"),
        ("twice", "already reports this incident"),
        ("closed", "only an active ticket can be linked"),
        ("not an incident", "is not a major incident"),
        ("incident resolved", "it takes no new reports"),
        ("incident as report", "is a major incident itself"),
        ("incident nobody's", "has no team or agent yet: assign it first"),
    ],
)
def test_links_that_make_no_sense_are_refused(lab, outage, new_ticket, case, message):
    incident, (karens, *_) = outage
    ticket, target = new_ticket(subject="Another"), incident
    if case == "itself":
        ticket = incident
    elif case == "twice":
        ticket = karens
    elif case == "closed":
        services.ticket_cancel(ticket=ticket, actor=lab.jane, reason="spam")
    elif case == "not an incident":
        target = karens
    elif case == "incident resolved":
        services.ticket_resolve(ticket=incident, actor=lab.jane, message="Fixed.")
        incident.refresh_from_db()
    elif case == "incident as report":
        services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.jane)
        services.incident_declare(ticket=ticket, actor=lab.jane, status="Another outage")
        ticket, target = incident, ticket
    elif case == "incident nobody's":
        target = services.incident_declare(ticket=new_ticket(subject="Outage"), actor=lab.jane, status=STATUS)
    with pytest.raises(services.TicketActionError, match=message):
        services.ticket_link_incident(ticket=ticket, actor=lab.jane, incident=target)


def test_status_line_is_checked_and_changed_with_an_event(lab, outage):
    incident, (karens, *_) = outage
    with pytest.raises(services.TicketActionError, match="at most 200 characters"):
        services.incident_set_status(incident=incident, actor=lab.jane, status="x" * 201)
    with pytest.raises(services.TicketActionError, match="required"):
        services.incident_set_status(incident=incident, actor=lab.jane, status="  ")
    services.incident_set_status(incident=incident, actor=lab.jane, status="Fixed for most customers.")
    karens.refresh_from_db()
    assert linked.incident_public_status(karens) == "Fixed for most customers."
    assert "Status changed by Jane Doe: Fixed for most customers." in _events(incident)


def test_a_report_of_an_incident_without_a_status_line_reads_the_default(lab, outage):
    incident, (karens, *_) = outage
    Ticket.objects.filter(pk=incident.pk).update(incident_status="")
    karens.refresh_from_db()
    assert linked.incident_public_status(karens) == linked.DEFAULT_INCIDENT_STATUS
    assert linked.incident_public_status(incident) == ""


def test_the_incidents_requester_is_the_agent_who_opened_it(lab, outage):
    incident, _ = outage
    assert incident.requester == Requester.objects.get(email="jane@example.com")
    assert incident.thread.first().on_behalf_of_requester is True


def test_a_report_resolved_alone_is_met_by_the_incidents_due_time(lab, outage):
    incident, (karens, *_) = outage
    services.ticket_claim(ticket=karens, actor=lab.jane)
    karens.refresh_from_db()
    services.ticket_resolve(ticket=karens, actor=lab.jane, message="Fixed for you.")
    karens.refresh_from_db()
    assert incident.resolution_due is not None
    assert karens.resolution_met is (karens.resolved_at <= incident.resolution_due)
    assert karens.resolution_met is True


def test_the_replay_keeps_a_reports_resolution_outcome(lab, outage):
    from tickets.reports.sla import rebuild_outcomes

    incident, reports = outage
    services.ticket_resolve(ticket=incident, actor=lab.jane, message="Fixed.")
    # Its own log would say otherwise: the report's stored outcome is the incident's.
    Ticket.objects.filter(pk__in=[r.pk for r in reports]).update(resolution_met=False)
    rebuild_outcomes()
    kept = Ticket.objects.filter(pk__in=[r.pk for r in reports]).values_list("resolution_met", flat=True)
    assert set(kept) == {False}
    incident.refresh_from_db()
    assert incident.resolution_met is True


def test_cancelling_an_incident_releases_its_reports(lab, outage):
    incident, reports = outage
    services.ticket_cancel(ticket=incident, actor=lab.jane, reason="Declared by mistake")
    for report in reports:
        report.refresh_from_db()
        assert report.incident is None and report.state == State.ASSIGNED
        assert report.resolution_due is not None  # its own clock again, watched again
        assert f"Left major incident #{incident.number}: it was cancelled" in _events(report)
    assert "Cancelled: its 3 active report(s) go on on their own" in _events(incident)
