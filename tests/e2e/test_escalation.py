"""Scenario B: an escalation, in Chromium. John works Karen's ticket and asks her for details;
her view says it waits for her and she answers in the portal; John escalates to Online Banking
with a summary; Jane resolves; Karen confirms the fix."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "Card payments fail at the online checkout"
PROBLEM = "Every card payment in the online shop ends with 'declined by the bank'."
QUESTION = "Does it happen with every card, or only with cards of one bank?"
ANSWER = "Only with Visa cards of our own bank; Mastercard works."
SUMMARY = (
    "Visa cards of our bank are declined at checkout since this morning; Mastercard works. Gateway side?"
)
FIX = "The card gateway's Visa routing table was restored. Payments go through again."


def test_an_escalated_ticket_is_resolved_and_confirmed(person, screenshots):
    karen, agent = person(), person(width=1440)
    steps.portal_sign_in(karen, "karen@example.com")
    number = steps.portal_open_ticket(karen, topic="Report a Problem", subject=SUBJECT, body=PROBLEM)

    # John takes it and asks Karen a question.
    steps.console_sign_in(agent, "john")
    steps.open_from_queue(agent, "Unassigned", SUBJECT)
    steps.act(agent, "Take it")
    expect(agent.page.locator(".state-badge")).to_have_text("Assigned")
    steps.act(agent, "Ask the requester", {"Your question (sent to the requester)": QUESTION})
    expect(agent.page.locator(".state-badge")).to_have_text("Awaiting user")
    expect(agent.page.get_by_text("SLA clock paused while we wait for the requester")).to_be_visible()

    # Karen's view says it waits for her; she answers in the portal.
    steps.portal_ticket(karen, SUBJECT)
    assert steps.portal_stage(karen) == "Waiting for your reply"
    expect(karen.page.get_by_role("heading", name="Answer our question")).to_be_visible()
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(QUESTION)).to_be_visible()
    screenshots(karen.page, "e2e-b1-karen-waiting-for-her")
    karen.page.get_by_label("Your message").fill(ANSWER)
    karen.page.get_by_role("button", name="Send").click()
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(ANSWER)).to_be_visible()
    assert steps.portal_stage(karen) == "Being worked on"

    # John sees her answer, the ticket back with him, and escalates with a summary.
    agent.page.reload()
    expect(agent.page.locator(".state-badge")).to_have_text("In progress")
    expect(steps.thread(agent).get_by_text(ANSWER)).to_be_visible()
    dialog = steps.open_dialog(agent, "Escalate")
    dialog.get_by_label("To team").select_option(label="Online Banking")
    dialog.get_by_label("Hand-off summary").fill(SUMMARY)
    screenshots(agent.page, "e2e-b2-john-escalates", full_page=False)
    dialog.get_by_role("button", name="Escalate", exact=True).click()
    expect(agent.page.locator(".state-badge")).to_have_text("Escalated")
    expect(steps.thread(agent)).to_contain_text(
        "Escalated by John Doe to Online Banking (department Support, tier 2)"
    )
    steps.console_sign_out(agent)

    karen.page.reload()
    assert steps.portal_stage(karen) == "With a specialist team"
    # The hand-off summary is for the agents only.
    expect(karen.page.get_by_text(SUMMARY)).to_have_count(0)

    # Jane finds it in Escalated, takes it and resolves it.
    steps.console_sign_in(agent, "jane")
    steps.open_from_queue(agent, "Escalated", SUBJECT)
    expect(steps.thread(agent).get_by_text(SUMMARY)).to_be_visible()
    steps.act(agent, "Take it")
    expect(agent.page.get_by_text("Jane Doe / Online Banking").first).to_be_visible()
    steps.act(agent, "Resolve", {"Resolution message (sent to the requester)": FIX})
    expect(agent.page.locator(".state-badge")).to_have_text("Resolved")

    # Karen confirms the fix.
    karen.page.reload()
    assert steps.portal_stage(karen) == "Resolved: please confirm"
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(FIX)).to_be_visible()
    screenshots(karen.page, "e2e-b3-karen-confirms")
    karen.page.get_by_role("button", name="Yes, it's fixed — close it").click()
    assert steps.portal_stage(karen) == "Closed"

    agent.page.reload()
    expect(agent.page.locator(".state-badge")).to_have_text("Closed")
    events = [item[1] for item in steps.trail(agent) if item[0] == "event"]
    assert events == [
        "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned",
        "John Doe took the ticket over: John Doe",
        "John Doe asked the requester for information",
        "Karen replied; the ticket is back with John Doe",
        "Escalated by John Doe to Online Banking (department Support, tier 2)",
        "Jane Doe took the ticket over: Jane Doe / Online Banking",
        "Resolved by Jane Doe",
        "Closed by Karen: The requester confirmed the fix.",
    ]
    assert number
