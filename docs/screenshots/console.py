"""Take the agent console's screenshots from a running help desk loaded with the lab data.

    make run            # in one terminal (or any server with `load_lab --with-tickets`)
    .venv/bin/python docs/screenshots/console.py [http://127.0.0.1:8000]

Needs Chromium at /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

from chromium import BASE, OUT, launch
from playwright.sync_api import Browser, Page, sync_playwright


def sign_in(page: Page, username: str) -> None:
    page.goto(f"{BASE}/agents/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("Password1")
    page.get_by_role("button", name="Sign in").click()


def open_ticket(page: Page, subject: str) -> None:
    page.goto(f"{BASE}/agents/queues/all/")
    page.get_by_role("link", name=subject).click()


def open_incident(page: Page) -> bool:
    """The lab's major incident (its subject says "outage"), found by its "Incident" mark in
    the queue; False if the lab has none."""
    for query in ("?q=outage", ""):
        page.goto(f"{BASE}/agents/queues/all/{query}")
        rows = page.get_by_role("row").filter(has=page.locator(".incident-mark", has_text="Incident"))
        if rows.count():
            rows.first.locator(".subject-cell a").first.click()
            page.locator(".incident-panel").wait_for()
            return True
    print("No major incident in the lab (load_lab --with-tickets adds one): console-incident*.png skipped")
    return False


def incident_pages(browser: Browser) -> None:
    """The incident's workspace at desktop and phone widths, and one of its reports."""
    for width, height, suffix in ((1440, 900, ""), (390, 844, "-phone")):
        page = browser.new_page(viewport={"width": width, "height": height})
        sign_in(page, "jane")
        if not open_incident(page):
            page.close()
            return
        page.screenshot(path=OUT / f"console-incident{suffix}.png", full_page=True)
        report = page.locator(".incident-report a").first
        if report.count():
            report.click()
            page.locator(".incident-banner").wait_for()
            page.screenshot(path=OUT / f"console-incident-report{suffix}.png", full_page=True)
        page.close()


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
        incident_pages(browser)
        browser.close()


if __name__ == "__main__":
    main()
