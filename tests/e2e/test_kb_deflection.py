"""A ticket not opened, in Chromium: Karen starts a ticket, types "password", sees the lab's
"Reset your password" suggested beside the form, opens it, and answers "Yes, this solved it".
No ticket is created; the article's deflection count rises, for the topic she had chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import steps
from tickets.models import Article, ArticleDay, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOPIC = "General Inquiry"


def test_an_article_suggested_on_the_ticket_form_solves_it_and_no_ticket_is_opened(lab, person, screenshots):
    article = Article.objects.get(slug="reset-your-password")
    assert article.is_public and article.deflection_count == 0
    karen = person()
    steps.portal_sign_in(karen, "karen@example.com")
    page = karen.page
    page.get_by_role("navigation").get_by_role("link", name="Open a ticket").click()
    suggestions = page.get_by_role("complementary", name="Maybe a help article answers it")
    expect(suggestions).to_contain_text("As you choose a help topic and describe the problem")

    # A topic without articles: nothing to suggest yet.
    page.get_by_label("Help topic").select_option(label=TOPIC)
    expect(suggestions).to_contain_text("No help article matches yet")
    # Typed key by key, as a person types (htmx asks after each pause).
    page.get_by_label("Subject").press_sequentially("password")
    suggested = suggestions.get_by_role("link", name="Reset your password")
    expect(suggested).to_be_visible()
    # Leaving the field asks once more ("change"); its answer must be in before the click, or
    # it replaces the list between the press and the release and the click is lost.
    with page.expect_response(lambda r: "/help/suggest/" in r.url):
        page.get_by_label("Subject").press("Tab")
    page.wait_for_load_state("networkidle")
    screenshots(page, "e2e-kb1-karen-suggestions", full_page=False)

    suggested.click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_role("button", name="Yes, this solved it").click()
    expect(page.get_by_role("heading", name="Glad it helped — no ticket was opened")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()

    assert Ticket.objects.count() == 0
    article.refresh_from_db()
    assert article.deflection_count == 1
    assert ArticleDay.objects.get(article=article, help_topic=lab.topic(TOPIC)).deflections == 1
