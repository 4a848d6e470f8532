"""Screenshots of the HTML mail, rendered from the demo data (`make run`'s database).

    DEBUG=1 .venv/bin/python docs/screenshots/mail.py

Renders the resolution mail of the demo's resolved ticket and an overdue alert for its
assignee, and photographs them in Chromium as a mail client would show them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from chromium import OUT, launch  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tickets.mailout import notifications  # noqa: E402
from tickets.models import State, ThreadEntry, Ticket  # noqa: E402


def main() -> None:
    resolved = Ticket.objects.filter(state=State.RESOLVED).select_related("requester", "assignee").first()
    entry = resolved.thread.filter(kind=ThreadEntry.Kind.REPLY).last()
    mails = {
        "mail-resolved.png": notifications.for_entry(entry, "resolution")[0],
        "mail-overdue-alert.png": notifications.for_overdue(resolved, ["resolution"], [resolved.assignee_id])[
            0
        ],
    }
    with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 760, "height": 700})
        for name, payload in mails.items():
            path = Path(folder) / "mail.html"
            path.write_text(payload["html"])
            page.goto(path.as_uri())
            page.screenshot(path=OUT / name, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
