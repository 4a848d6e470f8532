"""Take the mail-in screenshots from a running help desk loaded with the lab data: Ken's ticket
that came by e-mail in the console, and the admin's inbound messages with the quarantine.

    make run            # in one terminal (or any server with `load_lab --with-tickets`)
    .venv/bin/python docs/screenshots/mail_in.py [http://127.0.0.1:8000]

Needs Chromium at /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

from chromium import BASE, OUT, launch
from console import open_ticket, sign_in
from playwright.sync_api import Page, sync_playwright


def admin_sign_in(page: Page) -> None:
    page.goto(f"{BASE}/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("Password1")
    page.get_by_role("button", name="Log in").click()


def main() -> None:
    with sync_playwright() as p:
        browser = launch(p)
        console = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(console, "john")
        open_ticket(console, "VPN disconnects every hour")
        console.screenshot(path=OUT / "console-ticket-by-email.png", full_page=True)
        admin = browser.new_page(viewport={"width": 1440, "height": 900})
        admin_sign_in(admin)
        admin.goto(f"{BASE}/admin/tickets/inboundmessage/")
        admin.screenshot(path=OUT / "admin-inbound-messages.png", full_page=True)
        admin.get_by_role("link", name="Invoice 2026-118 overdue").first.click()
        admin.screenshot(path=OUT / "admin-quarantined-message.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
