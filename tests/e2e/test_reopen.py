"""Scenario C: a reopen, in Chromium. John resolves Karen's ticket; she says the fix did not
work; the ticket returns to work with her reason, and is resolved again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "Second monitor flickers"
PROBLEM = "My second monitor flickers when I move a window onto it."
FIRST_FIX = "We replaced the display cable. Please confirm the flicker is gone."
STILL_BROKEN = "It still flickers, now also on the first monitor."
SECOND_FIX = "The docking station's firmware was updated; both monitors are steady now."


def test_a_fix_that_did_not_work_is_reopened_and_resolved_again(person, screenshots):
    karen, john = person(), person(width=1440)
    steps.portal_sign_in(karen, "karen@example.com")
    steps.portal_open_ticket(karen, topic="Personal Computer Issues", subject=SUBJECT, body=PROBLEM)

    steps.console_sign_in(john, "john")
    steps.open_from_queue(john, "Unassigned", SUBJECT)
    steps.act(john, "Take it")
    steps.act(john, "Resolve", {"Resolution message (sent to the requester)": FIRST_FIX})
    expect(john.page.locator(".state-badge")).to_have_text("Resolved")

    # Karen says it is not fixed, and why.
    steps.portal_ticket(karen, SUBJECT)
    assert steps.portal_stage(karen) == "Resolved: please confirm"
    karen.page.get_by_label("What is still wrong?").fill(STILL_BROKEN)
    screenshots(karen.page, "e2e-c1-karen-reopens")
    karen.page.get_by_role("button", name="No, it's still broken — reopen").click()
    assert steps.portal_stage(karen) == "Being worked on"
    expect(karen.page.get_by_role("button", name="Yes, it's fixed — close it")).to_have_count(0)

    # Back to work for John, with her reason in the thread.
    john.page.reload()
    expect(john.page.locator(".state-badge")).to_have_text("In progress")
    # Once: her words as her message, the event saying only what happened.
    expect(steps.thread(john)).to_contain_text("Reopened by Karen")
    expect(steps.thread(john).get_by_text(STILL_BROKEN)).to_have_count(1)
    screenshots(john.page, "e2e-c2-john-reopened")
    steps.act(john, "Resolve", {"Resolution message (sent to the requester)": SECOND_FIX})
    expect(john.page.locator(".state-badge")).to_have_text("Resolved")

    karen.page.reload()
    assert steps.portal_stage(karen) == "Resolved: please confirm"
    expect(karen.page.get_by_role("region", name="Conversation").get_by_text(SECOND_FIX)).to_be_visible()
    karen.page.get_by_role("button", name="Yes, it's fixed — close it").click()
    assert steps.portal_stage(karen) == "Closed"
    john.page.reload()
    expect(john.page.locator(".state-badge")).to_have_text("Closed")
    events = [item[1] for item in steps.trail(john) if item[0] == "event"]
    assert events == [
        "Received: department Support, priority Normal, SLA plan Default SLA, Unassigned",
        "John Doe took the ticket over: John Doe",
        "Resolved by John Doe",
        "Reopened by Karen",
        "Resolved by John Doe",
        "Closed by Karen: The requester confirmed the fix.",
    ]
