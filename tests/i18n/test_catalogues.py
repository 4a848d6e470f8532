"""The translation catalogues (locale/, docs/i18n.md) against the code and the templates.

A string put through the translation machinery that no catalogue has yet fails here, as does a
shipped language with an empty, fuzzy or mismatched entry, and a compiled ``.mo`` older than its
``.po``: ``make messages`` brings them in line, a translator fills them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]
# As the Makefile's `messages` target: the product's code and templates, not its tests or tools.
IGNORE = [".venv", "tests", "bench", "docs", "var", "build", "deploy"]
# What `make messages` reads: the product's packages and templates (not tests, bench, docs).
PRODUCT = ["helpdesk", "tickets", "portal", "agents", "api", "templates"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{(\w*)\}")


def _catalogue(code: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / code / "LC_MESSAGES" / "django.po"))


def _key(entry: polib.POEntry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """What ``makemessages`` finds in the product today, written into a folder of the test's."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("makemessages needs GNU gettext's xgettext and msgmerge (apt-get install gettext)")
    for package in PRODUCT:  # no app may keep a locale/ of its own: one catalogue per language
        assert not (ROOT / package / "locale").is_dir(), f"{package}/locale: catalogues live in locale/"
    # makemessages writes into the locale/ of the tree it runs in: a copy of the product's, so
    # that the committed catalogues are only read.
    copy = tmp_path_factory.mktemp("product")
    for package in PRODUCT:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "locale").mkdir()
    here = os.getcwd()
    os.chdir(copy)
    try:
        with override_settings(LOCALE_PATHS=[copy / "locale"]):
            call_command("makemessages", locale=["fr"], ignore_patterns=IGNORE, verbosity=0, no_location=True)
    finally:
        os.chdir(here)
    return polib.pofile(str(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"))


def test_every_translatable_string_is_in_the_catalogues(extracted):
    found = {_key(entry) for entry in extracted if entry.msgid}
    assert len(found) > 500, "the extraction found too little: is it reading the product?"
    for code in SHIPPED:
        kept = {_key(entry) for entry in _catalogue(code) if entry.msgid and not entry.obsolete}
        missing = sorted(found - kept)
        stale = sorted(kept - found)
        assert not missing, f"{code}: {len(missing)} strings no catalogue has (make messages): {missing[:10]}"
        assert not stale, f"{code}: {len(stale)} catalogue entries the product no longer has: {stale[:10]}"


@pytest.mark.parametrize("code", SHIPPED)
def test_a_shipped_language_has_every_entry_translated(code):
    catalogue = _catalogue(code)
    entries = [entry for entry in catalogue if entry.msgid and not entry.obsolete]
    assert entries
    fuzzy = [entry.msgid for entry in entries if entry.fuzzy]
    empty = [
        entry.msgid
        for entry in entries
        if (not entry.msgstr_plural and not entry.msgstr.strip())
        or (entry.msgstr_plural and not all(text.strip() for text in entry.msgstr_plural.values()))
    ]
    assert not fuzzy, f"{code}: {len(fuzzy)} fuzzy entries: {fuzzy[:10]}"
    assert not empty, f"{code}: {len(empty)} untranslated entries: {empty[:10]}"


@pytest.mark.parametrize("code", SHIPPED)
def test_a_translation_keeps_every_placeholder_of_its_string(code):
    """A translation that drops or misspells %(number)s would fail at run time (or say less)."""
    wrong = []
    for entry in _catalogue(code):
        if not entry.msgid or entry.obsolete:
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        texts = list(entry.msgstr_plural.values()) if entry.msgstr_plural else [entry.msgstr]
        for text in texts:
            got = sorted(PLACEHOLDER.findall(text))
            # A plural's singular form may leave the count out ("un ticket" for "%(n)s ticket").
            if got != wanted and not (entry.msgstr_plural and set(got) <= set(wanted)):
                wrong.append((entry.msgid, text))
    assert not wrong, f"{code}: {len(wrong)} translations with other placeholders: {wrong[:5]}"


@pytest.mark.parametrize("code", SHIPPED)
def test_the_compiled_catalogue_is_the_current_one(code):
    """Django reads the .mo: it must say what the .po says (make messages compiles it)."""
    compiled = polib.mofile(str(LOCALE / code / "LC_MESSAGES" / "django.mo"))
    source = [entry for entry in _catalogue(code) if entry.msgid and not entry.obsolete and not entry.fuzzy]
    assert _texts(compiled) == _texts(source)


def _texts(entries) -> dict:
    return {
        _key(entry): (entry.msgstr, {int(n): text for n, text in entry.msgstr_plural.items()})
        for entry in entries
        if entry.msgid
    }


def test_the_arabic_catalogue_has_its_six_plural_forms():
    header = _catalogue("ar").metadata["Plural-Forms"]
    assert header.startswith("nplurals=6;"), header
