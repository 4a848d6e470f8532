"""Take the agent console's screenshots from a running help desk loaded with the lab data.

    make run            # in one terminal (or any server with `load_lab --with-tickets`)
    .venv/bin/python docs/screenshots/console.py [http://127.0.0.1:8000]

Needs Chromium at /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

from chromium import BASE, OUT, launch
from playwright.sync_api import Page, sync_playwright


def sign_in(page: Page, username: str) -> None:
    page.goto(f"{BASE}/agents/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("Password1")
    page.get_by_role("button", name="Sign in").click()


def open_ticket(page: Page, subject: str) -> None:
    page.goto(f"{BASE}/agents/queues/all/")
    page.get_by_role("link", name=subject).click()


def main() -> None:
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, "jane")
        page.goto(f"{BASE}/agents/queues/all/")
        page.screenshot(path=OUT / "console-queue.png", full_page=True)
        open_ticket(page, "Outlook keeps asking for my password")
        page.screenshot(path=OUT / "console-ticket.png", full_page=True)
        page.get_by_role("button", name="Escalate…").click()
        page.get_by_role("dialog").wait_for()
        page.wait_for_timeout(400)  # the dialog's fade-in
        page.screenshot(path=OUT / "console-escalate.png")
        page.close()
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        sign_in(phone, "john")
        phone.goto(f"{BASE}/agents/")
        phone.screenshot(path=OUT / "console-queue-phone.png", full_page=True)
        desk = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(desk, "john")
        desk.get_by_role("link", name="My alerts").click()
        desk.screenshot(path=OUT / "console-alerts.png", full_page=True)
        open_ticket(desk, "Cannot reset my password")
        desk.screenshot(path=OUT / "console-ticket-waiting.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
