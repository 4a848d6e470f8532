"""Real-browser tests: Playwright for Python drives Debian's Chromium against pytest-django's
live server, loaded with the lab configuration, with the requester and the agents each in a
browser context of their own.

Marked ``e2e`` (``make e2e`` runs only them). Skipped, with the reason, where Chromium is not
at /usr/bin/chromium or ``E2E_CHROMIUM`` (Debian: ``apt-get install chromium``; ``.ci/run``
installs it). Screenshots of the key screens go to ``E2E_SCREENSHOTS`` if set (``make
screenshots`` sets it to docs/screenshots/), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Debian's Chromium; E2E_CHROMIUM names another build (Playwright's own download does not work here).
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM") or "/usr/bin/chromium")
# This machine has no way out: without the background-networking flags Chromium keeps
# trying to reach Google's services. The sandbox needs user namespaces CI may not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module. Playwright's sync API keeps an event loop in this thread
    while it runs, and Django refuses database calls from a thread with a loop unless told they
    are safe: they are (the tests read the database only between browser steps), and only for
    as long as Playwright runs, so that no other test, nor a process one starts, is told so."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def desk(live_server, lab, settings):
    """The help desk at the live server's address, with the lab configuration loaded."""
    settings.HELPDESK_BASE_URL = live_server.url
    # Plain HTTP on localhost: cookies marked Secure would not come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


@pytest.fixture
def screenshots(tmp_path):
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


class Person:
    """One person in a browser context of their own (their own cookies and session)."""

    def __init__(self, browser, base: str, *, width: int = 1280, height: int = 900, **options) -> None:
        """``options`` go to Playwright's ``new_context`` (``color_scheme="dark"``, for example)."""
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height}, **options)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on(
            "console", lambda message: message.type == "error" and self.console_errors.append(message.text)
        )

    def go(self, path: str = "/") -> None:
        self.page.goto(self.base + path)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(chromium, desk):
    made: list[Person] = []

    def make(**options) -> Person:
        new = Person(chromium, desk, **options)
        made.append(new)
        return new

    yield make
    for new in made:
        # No page may trip the content security policy or break a script.
        assert real_errors(new.console_errors) == []
        new.close()


# htmx logs a request that the page's leaving cut short (a help-article suggestion still on its
# way when the ticket form is sent) as two errors, "htmx:sendAbort" and the "htmx:afterRequest"
# that closes it. Nothing failed: the browser dropped an answer nobody was waiting for.
ABORTED = ("htmx:sendAbort", "htmx:afterRequest")


def real_errors(errors: list[str]) -> list[str]:
    """The console's errors less the pairs of a request cut short by leaving the page."""
    if not any(error.startswith(ABORTED[0]) for error in errors):
        return errors
    return [error for error in errors if not error.startswith(ABORTED)]


def number_in(text: str) -> str:
    found = re.search(r"#(\d{6,})", text)
    assert found, text
    return found.group(1)
