"""Reading pages in tests."""

from __future__ import annotations

import re

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def without_csrf(page: str) -> str:
    """The page with its CSRF tokens left out: each render masks the token afresh, so two
    pages that say the same thing differ only there (every page has the language picker)."""
    return _CSRF.sub('name="csrfmiddlewaretoken"', page)
