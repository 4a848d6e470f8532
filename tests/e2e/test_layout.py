"""No main page scrolls sideways, at a phone's, a tablet's and two desktops' widths: the
portal (home, the ticket form, my tickets, a ticket, the help pages) and the console (a queue,
the workspace, the phone form, the reports). And the console's queue table fits its card at
desktop widths, where a table wider than its card hides "Last activity" behind a scroll bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tickets import services
from tickets.models import Article, HelpTopic

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (375, 768, 1280, 1440)
SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"
TABLE_OVERFLOW = (
    "(() => { const t = document.querySelector('.queue-table');"
    " return t.scrollWidth - t.parentElement.clientWidth; })()"
)


@pytest.fixture
def tickets(lab, new_ticket):
    """Karen's tickets in several stages, one with a long topic name (the home page's pill that
    once widened the page at 375 px) and a long subject."""
    long_topic = HelpTopic.objects.create(
        name="Printers, scanners and other shared office equipment on every floor",
        parent=lab.topic("Report a Problem"),
    )
    mine = new_ticket(subject="The printer on the third floor jams on every job since the update last week")
    services.ticket_claim(ticket=mine, actor=lab.john)
    services.ticket_request_info(ticket=mine, actor=lab.john, message="Which tray do you use?")
    new_ticket(subject="Outlook keeps asking for my password", topic=long_topic.full_name)
    done = new_ticket(subject="Second monitor flickers")
    services.ticket_claim(ticket=done, actor=lab.john)
    services.ticket_resolve(ticket=done, actor=lab.john, message="Replaced the cable.")
    return mine


def _portal_sign_in(person) -> None:
    """By the sign-in page's address: at 375 px the navigation's link is folded in its menu."""
    person.go("/accounts/login/")
    person.page.get_by_label("E-mail address").fill("karen@example.com")
    person.page.get_by_label("Password").fill(steps.PASSWORD)
    person.page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(person.page).to_have_url(f"{person.base}/tickets/")


def _sideways(person, path: str) -> int:
    person.go(path)
    return person.page.evaluate(SIDEWAYS)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_portal_page_scrolls_sideways(person, tickets, width):
    karen = person(width=width)
    _portal_sign_in(karen)
    article = Article.objects.filter(
        status=Article.Status.PUBLISHED, audience=Article.Audience.PUBLIC
    ).first()
    assert article, "the lab has no published help article"
    pages = [
        "/", "/tickets/new/", "/tickets/", f"/tickets/{tickets.number}/", "/help/", f"/help/{article.slug}/"
    ]
    wider = {path: extra for path in pages if (extra := _sideways(karen, path)) > 0}
    assert wider == {}, f"pages wider than {width} px, by how much"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_console_page_scrolls_sideways(person, tickets, width):
    jane = person(width=width)  # a supervisor: she sees the reports too
    steps.console_sign_in(jane, "jane")
    pages = [
        "/agents/", "/agents/queues/all/", f"/agents/tickets/{tickets.number}/", "/agents/tickets/new/",
        "/agents/reports/",
    ]
    wider = {path: extra for path in pages if (extra := _sideways(jane, path)) > 0}
    assert wider == {}, f"pages wider than {width} px, by how much"


@pytest.mark.parametrize("width", (1280, 1440))
def test_the_queue_table_fits_its_card_on_a_desktop(person, tickets, width):
    jane = person(width=width)
    steps.console_sign_in(jane, "jane")
    jane.go("/agents/queues/all/")
    assert jane.page.evaluate(TABLE_OVERFLOW) <= 0
    sort = jane.page.locator("select[name=sort]")
    # The sort's chosen name is shown whole, not "Last activity, ne".
    assert sort.evaluate("s => s.scrollWidth <= s.clientWidth")
    assert sort.evaluate("s => s.clientWidth") >= 250


def test_a_help_topic_on_the_home_page_opens_the_form_with_it_chosen(person, lab):
    karen = person(width=375)
    karen.go("/")
    karen.page.get_by_role("link", name="Report a Problem / Access Issue").click()
    chosen = karen.page.get_by_label("Help topic")
    assert chosen.evaluate("s => s.options[s.selectedIndex].text") == "Report a Problem / Access Issue"
