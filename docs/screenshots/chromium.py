"""What the screenshot scripts share: where the help desk runs and how Chromium starts."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, Playwright

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
OUT = Path(__file__).resolve().parent
# The browser tests' Chromium and flags (Debian's; Playwright's own download does not work here).
sys.path.insert(0, str(OUT.parents[1]))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
