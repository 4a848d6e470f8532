"""The knowledge base in the composer, in Chromium. John searches the articles from Karen's
ticket, inserts the link to "Reset your password" into a reply and sends it; Karen's ticket page
in the portal shows the link, and it opens the article. An agents-only article goes into an
internal note, and the composer will not send it as a reply."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tickets.models import ThreadEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUBJECT = "I cannot sign in any more"
ARTICLE = "Reset your password"


@pytest.fixture
def ticket(new_ticket):
    return new_ticket(subject=SUBJECT, topic="Password Reset", body="It says my password is wrong.")


def _open_workspace(agent, ticket):
    agent.go(f"/agents/tickets/{ticket.number}/")
    expect(agent.page.get_by_role("heading", name=SUBJECT)).to_be_visible()


def _search(agent, words: str):
    box = agent.page.get_by_role("searchbox", name="Insert an article")
    box.fill(words)
    with agent.page.expect_response(lambda r: "/articles/?" in r.url):
        box.press("Enter")
    steps.settled(agent)
    return agent.page.get_by_role("list", name="Articles found")


def test_an_agent_inserts_an_article_link_into_a_reply_and_karen_sees_it(
    person, desk, lab, ticket, screenshots
):
    john = person(width=1280)
    steps.console_sign_in(john, "john")
    _open_workspace(john, ticket)
    page = john.page
    body = page.get_by_label("Message")
    body.fill("Hello Karen, you can reset it yourself: ")

    found = _search(john, "password")
    expect(found).to_contain_text(ARTICLE)
    expect(found.get_by_role("listitem").filter(has_text=ARTICLE)).to_contain_text("Public")
    screenshots(page, "kb-composer-search-1280")
    found.get_by_role("button", name=f"Insert a link to {ARTICLE}").click()

    link = f"[{ARTICLE}]({desk}/help/reset-your-password/)"
    expect(body).to_have_value(f"Hello Karen, you can reset it yourself: {link}")
    # Still a reply: a public article's link is for the requester.
    expect(page.get_by_label("Reply to the requester")).to_be_checked()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    reply = ThreadEntry.objects.filter(ticket=ticket, kind=ThreadEntry.Kind.REPLY).get()
    assert reply.is_public and link in reply.body

    # At a phone's width the composer's search fits.
    page.set_viewport_size({"width": 375, "height": 800})
    _search(john, "password")
    screenshots(page, "kb-composer-search-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    karen = person()
    steps.portal_sign_in(karen, "karen@example.com")
    steps.portal_ticket(karen, SUBJECT)
    anchor = karen.page.get_by_role("link", name=ARTICLE)
    expect(anchor).to_have_attribute("href", f"{desk}/help/reset-your-password/")
    anchor.click()
    expect(karen.page.get_by_role("heading", name=ARTICLE)).to_be_visible()
    assert re.search(r"/help/reset-your-password/$", karen.page.url)


def test_an_agents_only_article_goes_into_a_note_and_is_never_sent_as_a_reply(
    person, lab, ticket, screenshots
):
    john = person(width=1280)
    steps.console_sign_in(john, "john")
    _open_workspace(john, ticket)
    page = john.page
    found = _search(john, "escalation banking")
    title = "Escalation checklist for banking outages"
    item = found.get_by_role("listitem").filter(has_text=title)
    expect(item).to_contain_text("Agents only")
    item.get_by_role("button", name=f"Insert the text of {title} into a note").click()

    body = page.get_by_label("Message")
    expect(body).to_have_value(re.compile(r"^Before escalating an online banking outage"))
    expect(page.get_by_label("Internal note")).to_be_checked()
    expect(page.get_by_role("alert")).to_contain_text("sent as an internal note")

    # Back to "Reply": a warning, and sending is stopped in the browser.
    page.get_by_label("Reply to the requester").check()
    expect(page.get_by_role("alert")).to_contain_text("remove it, or send it as an internal note")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Not sent")
    screenshots(page, "kb-composer-agents-only-refused")
    assert not ThreadEntry.objects.filter(ticket=ticket, kind=ThreadEntry.Kind.REPLY).exists()

    # As a note it goes.
    page.get_by_label("Internal note").check()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    note = ThreadEntry.objects.get(ticket=ticket, kind=ThreadEntry.Kind.NOTE)
    assert not note.is_public and "Before escalating" in note.body
