"""What the screenshot scripts share: where the help desk runs and how Chromium starts."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, Playwright

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
OUT = Path(__file__).resolve().parent
# Debian's Chromium (`apt-get install chromium`); Playwright's own download does not work here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
