"""A true duplicate merged, in Chromium: John merges Karen's second report into her first
from the workspace; both workspaces point at each other, and Karen's old number leads her to
the survivor in the portal. Phone and desktop widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_duplicate_is_merged_from_the_workspace(person, screenshots, lab, new_ticket):
    first = new_ticket(subject="VPN drops every hour", body="Since Monday the VPN drops every hour.")
    second = new_ticket(subject="VPN keeps dropping", body="It dropped again at 10:00.")
    services.ticket_reply(ticket=second, actor=lab.john, body="We are looking at the VPN gateway.")

    john = person(width=1440)
    steps.console_sign_in(john, "john")
    john.go(f"/agents/tickets/{second.number}/")
    john.page.get_by_text("Merge into another ticket").click()
    john.page.get_by_label("Merge into ticket number").fill(first.number)
    screenshots(john.page, "merge-1-form-desktop")
    john.page.get_by_role("button", name="Merge…").click()
    expect(john.page.get_by_text(f"#{second.number} merged into #{first.number}: 3 entries")).to_be_visible()
    expect(john.page.locator(".merged-from")).to_contain_text(f"Merged from #{second.number}")
    expect(steps.thread(john)).to_contain_text("It dropped again at 10:00.")
    screenshots(john.page, "merge-2-survivor-desktop")
    john.go(f"/agents/tickets/{second.number}/")
    expect(john.page.locator(".merged-banner")).to_contain_text(f"Merged into #{first.number}")
    screenshots(john.page, "merge-3-merged-desktop")
    assert Ticket.objects.get(pk=second.pk).merged_into_id == first.pk

    karen = person()
    steps.portal_sign_in(karen, "karen@example.com")
    karen.page.set_viewport_size({"width": 390, "height": 844})
    karen.go(f"/tickets/{second.number}/")
    expect(karen.page).to_have_url(f"{karen.base}/tickets/{first.number}/")
    expect(karen.page.get_by_text(f"Ticket #{second.number} was merged into #{first.number}")).to_be_visible()
    screenshots(karen.page, "merge-4-portal-phone")
    phone = person()
    steps.console_sign_in(phone, "john")
    phone.page.set_viewport_size({"width": 390, "height": 844})
    phone.go(f"/agents/tickets/{second.number}/")
    screenshots(phone.page, "merge-5-merged-phone")
