"""The reports in Chromium: Jane follows the console's Reports link and the dashboard's charts
are drawn (inline SVG with bars), with no console error and no content security policy
violation; at a phone's width nothing runs off the side."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tickets import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every violation of the page's content security policy, kept where the test can read it.
LISTEN_FOR_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def history(lab, new_ticket):
    """A few tickets of Karen's moved along by John: resolved, waiting on her, new."""
    done = new_ticket(subject="The printer jams")
    services.ticket_claim(ticket=done, actor=lab.john)
    services.ticket_resolve(ticket=done, actor=lab.john, message="Cleaned the rollers.")
    asked = new_ticket(subject="Outlook asks for the password")
    services.ticket_claim(ticket=asked, actor=lab.john)
    services.ticket_request_info(ticket=asked, actor=lab.john, message="Since when?")
    new_ticket(subject="The VPN drops every hour")


def test_jane_opens_the_reports_and_the_charts_are_drawn(person, history, screenshots):
    jane = person(width=1280)
    jane.page.add_init_script(LISTEN_FOR_CSP)
    steps.console_sign_in(jane, "jane")
    jane.page.get_by_role("link", name="Reports", exact=True).click()
    page = jane.page
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()

    funnel = page.get_by_role("img", name="Tickets created in the period, by their stage now")
    expect(funnel).to_be_visible()
    # One bar per stage with tickets: Open, Awaiting user, Resolved.
    expect(funnel.locator("rect.chart-s1")).to_have_count(3)
    charts = page.locator("svg.chart")
    assert charts.count() >= 6
    for index in range(charts.count()):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label")
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 20
        assert chart.locator("rect:not(.chart-key)").count() > 0
    # The charts of counts and times have bars with a width and a height on the screen.
    for name in (
        "Tickets created in the period, by their stage now",
        "Time in each stage, median / 90th percentile",
        "Tickets created and closed per day",
    ):
        bars = page.get_by_role("img", name=name).locator("rect:not(.chart-key):not(.chart-track)")
        sizes = [bars.nth(i).bounding_box() for i in range(bars.count())]
        assert [size for size in sizes if size and size["width"] > 0 and size["height"] > 0], name
    # The colours come from the style sheet (no inline style): a bar is filled with the theme's blue.
    fill = funnel.locator("rect.chart-s1").first.evaluate("bar => getComputedStyle(bar).fill")
    assert fill == "rgb(13, 110, 253)"
    # Each chart's numbers are in a table beside it.
    expect(page.get_by_role("table", name="Tickets created in the period, by stage now")).to_contain_text(
        "Awaiting user"
    )
    screenshots(page, "e2e-reports-desktop")
    assert page.evaluate("window.cspViolations") == []

    # At a phone's width the page fits: nothing to scroll sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(funnel).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate("window.cspViolations") == []
    assert jane.console_errors == []
