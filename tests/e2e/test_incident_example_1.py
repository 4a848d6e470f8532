"""Scenario: Example 1 as a major incident, in Chromium. Karen reports the outage in the portal,
Ken by e-mail and a branch by phone; Jane declares the incident from Karen's ticket in the
console, links the two other reports, posts one update that reaches all three requesters and
resolves the incident, which resolves the three reports with her message. Karen confirms and her
ticket closes; Ken reopens his, which leaves the incident and goes back to work alone."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e import steps
from tickets import services
from tickets.models import State, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "Entire mobile/online banking system is down"
OUTAGE = "Customers cannot log in to mobile or online banking since 9:00."
KENS = "Online banking down?"
BRANCH = "Customers at the counter cannot use the app"
INCIDENT = "Online banking outage"
STATUS = "We know about this outage and are working on it."
UPDATE = "We found the cause (an expired gateway certificate) and are replacing it."
RESOLUTION = "Resolved: the gateway certificate was renewed; online banking works again."
STILL_BROKEN = "I still cannot log in from the app."


def _other_reports(lab):
    """Ken's e-mail and the branch's phone call, as the mail-in and the phone form make them."""
    _, kens = services.ticket_create_for_contact(
        email="ken@example.com",
        name="Ken",
        subject=KENS,
        body="I cannot log in since this morning.",
        source=Ticket.Source.EMAIL,
    )
    _, branch = services.ticket_create_for_contact(
        email="branch12@example.com",
        name="Branch 12",
        subject=BRANCH,
        body="Three customers so far.",
        source=Ticket.Source.PHONE,
        actor=lab.john,
    )
    return kens, branch


def _panel(person):
    return person.page.get_by_role("region", name="Major incident")


def test_example_1_as_a_major_incident(person, lab, screenshots):
    karen, ken, jane = person(), person(), person(width=1440)

    # Three reports of one outage: Karen's in the portal, Ken's by e-mail, the branch's by phone.
    steps.portal_sign_in(karen, "karen@example.com")
    number = steps.portal_open_ticket(karen, topic="Report a Problem", subject=SUBJECT, body=OUTAGE)
    kens, branch = _other_reports(lab)

    # Jane declares the incident from Karen's ticket: a new incident ticket, Karen's its first report.
    steps.console_sign_in(jane, "jane")
    jane.go(f"/agents/tickets/{number}/")
    panel = _panel(jane)
    panel.get_by_text("Declare a major incident…").click()
    panel.get_by_label("Public status line").fill(STATUS)
    panel.get_by_label("Open a new incident ticket; this one becomes its first report").check()
    panel.get_by_label("Incident subject").fill(INCIDENT)
    panel.get_by_label("Team").select_option(label="Online Banking")
    panel.get_by_label("Department").select_option(label="SysAdmins")
    panel.get_by_role("button", name="Declare the major incident").click()
    expect(jane.page.get_by_role("heading", name=INCIDENT)).to_be_visible()
    incident = Ticket.objects.get(is_major_incident=True)

    # She links Ken's and the branch's tickets, both numbers at once.
    panel = _panel(jane)
    panel.get_by_label("Link reports").fill(f"{kens.number}, {branch.number}")
    panel.get_by_role("button", name="Link reports").click()
    expect(jane.page.get_by_text(f"2 of 2 ticket(s) linked to incident #{incident.number}.")).to_be_visible()
    panel = _panel(jane)
    expect(panel.locator(".incident-report")).to_have_count(3)
    expect(panel).to_contain_text("An update goes to 3 reports from 3 requesters.")

    # One update reaches all three requesters, each in their own thread.
    mail.outbox.clear()
    panel.get_by_label("Public update").fill(UPDATE)
    panel.get_by_role("button", name="Post to all 3 reports (3 requesters)").click()
    expect(jane.page.get_by_text("sent to 3 report(s), 3 requester(s)")).to_be_visible()
    screenshots(jane.page, "e2e-i1-jane-incident")
    got_update = {m.to[0] for m in mail.outbox if UPDATE in m.body}
    assert {"karen@example.com", "ken@example.com", "branch12@example.com"} <= got_update
    steps.portal_ticket(karen, SUBJECT)
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(UPDATE)).to_be_visible()

    # Jane resolves the incident; the dialog says what else that does.
    dialog = steps.open_dialog(jane, "Resolve")
    expect(dialog).to_contain_text("Resolving this incident also resolves its 3 active reports")
    dialog.get_by_label("Resolution message").fill(RESOLUTION)
    dialog.get_by_role("button", name="Resolve", exact=True).click()
    expect(jane.page.locator(".state-badge")).to_have_text("Resolved")
    for report in Ticket.objects.filter(incident=incident):
        assert report.state == State.RESOLVED
        assert report.thread.filter(body=RESOLUTION, is_public=True).exists()

    # Karen confirms: her ticket closes.
    karen.page.reload()
    assert steps.portal_stage(karen) == "Resolved: please confirm"
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(RESOLUTION)).to_be_visible()
    karen.page.get_by_role("button", name="Yes, it's fixed — close it").click()
    assert steps.portal_stage(karen) == "Closed"

    # Ken reopens his: it leaves the incident and is back at work on its own.
    steps.portal_sign_in(ken, "ken@example.com")
    steps.portal_ticket(ken, KENS)
    ken.page.get_by_label("What is still wrong?").fill(STILL_BROKEN)
    ken.page.get_by_role("button", name="No, it's still broken — reopen").click()
    assert steps.portal_stage(ken) == "Being worked on"
    kens.refresh_from_db()
    assert kens.state == State.IN_PROGRESS and kens.incident is None
    jane.go(f"/agents/tickets/{kens.number}/")
    expect(jane.page.locator(".state-badge")).to_have_text("In progress")
    expect(jane.page.locator(".incident-banner")).to_have_count(0)
    expect(steps.thread(jane)).to_contain_text(f"Left major incident #{incident.number}")
    jane.go(f"/agents/tickets/{incident.number}/")
    expect(_panel(jane)).to_contain_text("Closed: 1")
    branch.refresh_from_db()
    assert branch.state == State.RESOLVED and branch.incident == incident
