"""Which language and time zone a person reads the help desk in (docs/i18n.md).

The rules, in one place: a code the help desk ships (``settings.LANGUAGES``) or nothing, a zone
the machine knows or nothing, and a context that renders as a given reader. What a person
chose is stored on their ``Requester`` or ``AgentProfile`` (blank: the help desk's own) and
kept in their session at sign-in, where ``helpdesk.i18n`` reads it on each request.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

# The session keys a signed-in person's choices are kept under.
SESSION_LANGUAGE = "helpdesk_language"
SESSION_TIME_ZONE = "helpdesk_time_zone"


def language(code: str | None) -> str:
    """The shipped language ``code`` names ("fr-CA" is "fr"), or "" for none of them."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code.strip().replace("_", "-").lower())
    except LookupError:
        return ""


def content_language(header: str | None) -> str:
    """The first shipped language of an e-mail's Content-Language ("de-DE, en"), or ""."""
    for part in (header or "").split(","):
        found = language(part.split(";")[0])
        if found:
            return found
    return ""


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(name: str | None) -> str:
    """``name`` if it is a time zone this machine knows ("Europe/Paris"), else ""."""
    name = (name or "").strip()
    return name if name in _zones() else ""


def time_zones() -> list[str]:
    """Every zone this machine knows, in order, for a select box."""
    return sorted(_zones())


def language_or_default(code: str | None) -> str:
    return language(code) or settings.LANGUAGE_CODE


def time_zone_or_default(name: str | None) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(time_zone(name) or settings.TIME_ZONE)


# Languages whose nouns keep their capital inside a sentence: a state's name ("In Bearbeitung")
# is not lowered there.
_CAPITALISED_NOUNS = {"de"}


def in_sentence(label: Any) -> str:
    """A label (a state's name) as it reads inside a sentence of the active language: "in
    progress", "en cours", but German's "In Bearbeitung" as it is."""
    return str(label) if translation.get_language() in _CAPITALISED_NOUNS else str(label).lower()


@contextmanager
def reading_as(code: str | None, zone: str | None) -> Iterator[None]:
    """Render as a reader of ``code`` in ``zone`` (blank: the help desk's own): a mail, say,
    whatever the language of the person or task that sends it."""
    with translation.override(language_or_default(code)), timezone.override(time_zone_or_default(zone)):
        yield
