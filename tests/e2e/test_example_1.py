"""Scenario A: Example 1 of the lab, step by step, in Chromium. Karen in the portal, John and
then Jane in the console, each in a browser of their own; after each step, what the person
would see."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "Entire mobile/online banking system is down"
OUTAGE = "Customers cannot log in to mobile or online banking since 9:00."
FIRST = "Hi Karen, we know about the outage and are working on it. Next update within the hour."
SECOND = "We found the cause (an expired gateway certificate) and replaced it. Online banking is up again."
OUTAGE_TOPIC = "Report a Problem / Business Critical Outage"
RESOLUTION = "Resolved: the gateway certificate was renewed; online banking works again."


def test_example_1_in_the_browser(person, screenshots):
    karen, agent = person(), person(width=1440)

    # 1. Karen opens the ticket with the topic an end user picks, and gets its number.
    karen.go("/")
    expect(karen.page.get_by_role("heading", name="Open a New Ticket")).to_be_visible()
    screenshots(karen.page, "e2e-portal-home")
    steps.portal_sign_in(karen, "karen@example.com")
    number = steps.portal_open_ticket(karen, topic="Report a Problem", subject=SUBJECT, body=OUTAGE)
    expect(karen.page.get_by_text("Received", exact=True).first).to_be_visible()
    screenshots(karen.page, "e2e-a1-karen-confirmation")

    # 2. John sees it in Unassigned: Normal, Support, Default SLA.
    steps.console_sign_in(agent, "john")
    steps.open_queue(agent, "Unassigned")
    row = steps.queue_row(agent, SUBJECT)
    expect(row).to_contain_text(f"#{number}")
    expect(row).to_contain_text("Normal")
    expect(row).to_contain_text("Support · Default SLA")
    screenshots(agent.page, "e2e-a2-john-unassigned-queue")
    row.get_by_role("link", name=SUBJECT).click()

    # 3. He judges it critical; each change lands in the thread.
    steps.set_property(agent, "SLA plan", "Sev-A")
    steps.set_property(agent, "Help topic", "Report a Problem / Business Critical Outage")
    steps.set_property(agent, "Priority", "Emergency")
    thread = steps.thread(agent)
    expect(thread).to_contain_text("John Doe changed the SLA plan from Default SLA to Sev-A")
    expect(thread).to_contain_text(
        "John Doe changed the help topic from Report a Problem to Report a Problem / Business Critical Outage"
    )
    expect(thread).to_contain_text("John Doe changed the priority from Normal to Emergency")

    # 4. He assigns it to the Online Banking team and signs out.
    steps.act(agent, "Assign", selects={"Team": "Online Banking"})
    expect(agent.page.get_by_text("Online Banking", exact=True).first).to_be_visible()
    expect(thread).to_contain_text("Assigned")
    steps.console_sign_out(agent)

    # Karen sees her ticket has a team now; nothing of the agents' notes or properties.
    steps.portal_ticket(karen, SUBJECT)
    assert steps.portal_stage(karen) == "Assigned to our team"
    expect(karen.page.get_by_text("Emergency")).to_have_count(0)

    # 5. Jane takes it over from her team's queue: "Jane Doe / Online Banking".
    steps.console_sign_in(agent, "jane")
    steps.open_from_queue(agent, "My teams", SUBJECT)
    steps.act(agent, "Take it")
    expect(agent.page.get_by_text("Jane Doe / Online Banking").first).to_be_visible()

    # 6-7. Two replies to Karen.
    steps.compose(agent, FIRST)
    steps.compose(agent, SECOND)
    screenshots(agent.page, "e2e-a3-jane-workspace")
    karen.page.reload()
    assert steps.portal_stage(karen) == "Being worked on"
    conversation = karen.page.get_by_role("region", name="Conversation")
    expect(conversation.get_by_text(FIRST)).to_be_visible()
    expect(conversation.get_by_text(SECOND)).to_be_visible()
    screenshots(karen.page, "e2e-a4-karen-progress")

    # 8. Resolved, then closed; the whole trail in the thread.
    steps.act(agent, "Resolve", {"Resolution message (sent to the requester)": RESOLUTION})
    expect(agent.page.get_by_text("Resolved", exact=True).first).to_be_visible()
    steps.act(agent, "Close", {"Reason (optional)": ""})
    expect(agent.page.locator(".state-badge")).to_have_text("Closed")
    trail = steps.trail(agent)
    assert trail == [
        ("Requester", "Karen", OUTAGE),
        ("event", "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned"),
        ("event", "John Doe changed the SLA plan from Default SLA to Sev-A"),
        ("event", f"John Doe changed the help topic from Report a Problem to {OUTAGE_TOPIC}"),
        ("event", "John Doe changed the priority from Normal to Emergency"),
        ("event", "Assigned to Online Banking by John Doe"),
        ("event", "Jane Doe took the ticket over: Jane Doe / Online Banking"),
        ("event", "Jane Doe started work"),
        ("Reply", "Jane Doe", FIRST),
        ("Reply", "Jane Doe", SECOND),
        ("event", "Resolved by Jane Doe"),
        ("Reply", "Jane Doe", RESOLUTION),
        ("event", "Closed by Jane Doe"),
    ]
    screenshots(agent.page, "e2e-a5-jane-closed-trail")

    karen.page.reload()
    assert steps.portal_stage(karen) == "Closed"
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(RESOLUTION)).to_be_visible()
