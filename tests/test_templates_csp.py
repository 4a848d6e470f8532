"""The Content-Security-Policy forbids inline styles and scripts; no template may need them."""

import re
from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parent.parent / "templates").rglob("*.html"))
# Django admin's own templates are not ours; the override folder only extends them. Mail
# is not served by us: its HTML needs inline styles, and tests/tickets/test_notifications.py
# checks it for scripts.
OURS = [path for path in TEMPLATES if "admin" not in path.parts and "emails" not in path.parts]


@pytest.mark.parametrize("path", OURS, ids=lambda path: path.name)
def test_no_inline_styles_or_scripts(path):
    text = path.read_text()
    if path.name == "500.html":  # served without our static files, and with no script
        assert "<script" not in text
        return
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert not re.search(r"<style\b", text), "inline <style>"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"


def test_htmx_is_told_not_to_inject_its_indicator_style():
    base = (Path(__file__).resolve().parent.parent / "templates" / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base
