"""Take the portal's screenshots from a running help desk loaded with the lab data.

    make run            # in one terminal (or any server with `load_lab --with-tickets`)
    .venv/bin/python docs/screenshots/portal.py [http://127.0.0.1:8000]

Needs Chromium at /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

from chromium import BASE, OUT, launch
from playwright.sync_api import Page, sync_playwright

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def sign_in(page: Page, email: str) -> None:
    page.goto(f"{BASE}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("Password1")
    page.get_by_role("button", name="Sign in").click()


def ticket_number(page: Page, subject: str) -> str:
    page.goto(f"{BASE}/tickets/")
    return page.get_by_role("link", name=subject).first.inner_text().split("#", 1)[1].split()[0]


def main() -> None:
    with sync_playwright() as p:
        browser = launch(p)
        for size, viewport in WIDTHS.items():
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{BASE}/")
            page.screenshot(path=OUT / f"portal-home-{size}.png", full_page=True)
            page.goto(f"{BASE}/tickets/new/")
            page.screenshot(path=OUT / f"portal-open-ticket-{size}.png", full_page=True)
            sign_in(page, "karen@example.com")
            page.screenshot(path=OUT / f"portal-my-tickets-{size}.png", full_page=True)
            number = ticket_number(page, "Outlook keeps asking")
            page.goto(f"{BASE}/tickets/{number}/")
            page.screenshot(path=OUT / f"portal-ticket-progress-{size}.png", full_page=True)
            context.close()
            # Ken's tickets: one waits for his answer, one waits for his confirmation.
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            sign_in(page, "ken@example.com")
            for subject, name in (("Cannot reset my password", "waiting"), ("Second monitor", "resolved")):
                page.goto(f"{BASE}/tickets/{ticket_number(page, subject)}/")
                page.screenshot(path=OUT / f"portal-ticket-{name}-{size}.png", full_page=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
