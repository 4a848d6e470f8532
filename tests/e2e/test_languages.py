"""The portal in Arabic and French, in a real browser (docs/i18n.md): the language picker in the
footer, the Arabic pages right to left and within a phone's 375 px, the French ones as Karen
chose them. The screenshots of the ticket page in both are docs/screenshots/portal-ticket-*.png."""

from __future__ import annotations

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.e2e import steps
from tickets import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def worked_ticket(lab, new_ticket):
    """Karen's Example 1 ticket, with John's question waiting for her."""
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Since when does it fail?")
    return ticket


def _in(code: str, text: str) -> str:
    with translation.override(code):
        return translation.gettext(text)


def _choose(person, language: str) -> None:
    """The footer's picker, as a person uses it: the select, then its button."""
    page = person.page
    page.locator("#language-picker").select_option(language)
    page.locator(".language-picker button").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_the_arabic_portal_reads_right_to_left_and_fits_a_phone(person, worked_ticket, screenshots):
    karen = person(width=375, height=800)
    karen.go("/accounts/login/")
    karen.page.get_by_label("E-mail address").fill("karen@example.com")
    karen.page.get_by_label("Password").fill(steps.PASSWORD)
    karen.page.get_by_role("main").get_by_role("button", name="Sign in").click()
    _choose(karen, "ar")
    page = karen.page
    for path in ("/", "/tickets/", f"/tickets/{worked_ticket.number}/", "/help/"):
        karen.go(path)
        assert page.evaluate("document.documentElement.dir") == "rtl", path
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl", path
        assert page.evaluate(SIDEWAYS) <= 0, f"{path} scrolls sideways at 375 px in Arabic"
    karen.go(f"/tickets/{worked_ticket.number}/")
    # Her ticket's page speaks Arabic (its words from the catalogue), her ticket's text is hers.
    expect(page.get_by_role("heading", name=worked_ticket.subject)).to_be_visible()
    expect(page.get_by_text(_in("ar", "Waiting for your reply")).first).to_be_visible()
    assert page.locator("link[href*='bootstrap.rtl.min.css']").count() == 1
    screenshots(page, "portal-ticket-ar-phone")
    desktop = person(width=1280, height=900)
    desktop.context.add_cookies(karen.context.cookies())
    desktop.go(f"/tickets/{worked_ticket.number}/")
    assert desktop.page.evaluate("document.documentElement.dir") == "rtl"
    screenshots(desktop.page, "portal-ticket-ar")


def test_karen_reads_her_ticket_in_french_as_she_chose(person, worked_ticket, screenshots):
    karen = person(width=1280, height=900)
    steps.portal_sign_in(karen, "karen@example.com")
    _choose(karen, "fr")
    karen.go(f"/tickets/{worked_ticket.number}/")
    page = karen.page
    assert page.evaluate("document.documentElement.dir") == "ltr"
    expect(page.get_by_text(_in("fr", "Waiting for your reply")).first).to_be_visible()
    expect(page.get_by_role("button", name=_in("fr", "Sign out"))).to_be_visible()
    screenshots(page, "portal-ticket-fr")
    phone = person(width=375, height=800)
    phone.context.add_cookies(karen.context.cookies())
    phone.go(f"/tickets/{worked_ticket.number}/")
    assert phone.page.evaluate(SIDEWAYS) <= 0
    screenshots(phone.page, "portal-ticket-fr-phone")


@pytest.mark.parametrize("language", ["de", "ar"])
@pytest.mark.parametrize("width", [375, 1280])
def test_the_console_in_german_and_arabic_scrolls_no_page_sideways(person, worked_ticket, language, width):
    """German's long words and Arabic's turned layout, in the browser's language (Accept-Language)."""
    jane = person(width=width, height=900, locale=language)
    jane.go("/agents/login/")
    page = jane.page
    page.locator("input[name=username]").fill("jane")
    page.locator("input[name=password]").fill(steps.PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    for path in ("/agents/queues/all/", f"/agents/tickets/{worked_ticket.number}/", "/agents/alerts/"):
        jane.go(path)
        assert page.evaluate("document.documentElement.dir") == ("rtl" if language == "ar" else "ltr")
        assert page.evaluate(SIDEWAYS) <= 0, f"{path} scrolls sideways at {width} px in {language}"
