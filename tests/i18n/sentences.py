"""Telling which language a text is in, by the catalogue's own sentences."""

from __future__ import annotations

import functools
import re

import polib
from django.conf import settings

PLACEHOLDER = re.compile(r"%\(\w+\)|%[sd]|\{")


@functools.cache
def sentences(code: str) -> tuple[tuple[str, str], ...]:
    """The catalogue's (English, translated) sentences long enough to tell apart, without
    placeholders or markup: found whole in a text, they say which language it speaks."""
    path = f"{settings.BASE_DIR}/locale/{code}/LC_MESSAGES/django.po"
    return tuple(
        (entry.msgid, entry.msgstr)
        for entry in polib.pofile(path)
        if entry.msgstr
        and entry.msgstr != entry.msgid
        and len(entry.msgid) >= 14
        and not PLACEHOLDER.search(entry.msgid)
        and "<" not in entry.msgid
    )


def mail_text(message) -> str:
    parts = [message.subject, message.body, *(content for content, _ in message.alternatives)]
    return " ".join(" ".join(parts).split())


def english_left(text: str, code: str) -> list[str]:
    """The English sentences ``text`` still says, which the ``code`` catalogue translates; and
    it must say at least one translated one."""
    found = any(translated in text for _, translated in sentences(code))
    assert found, f"no {code} sentence in: {text[:200]}"
    return [english for english, _ in sentences(code) if english in text]
