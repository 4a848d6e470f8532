"""The kept dashboards hold their labels in English, whoever's request computed them, and each
reader gets them in their own language (tickets.reports.snapshots.localized)."""

from __future__ import annotations

import pytest
from django.utils import translation

from tickets.models import ReportSnapshot
from tickets.reports import snapshots
from tickets.reports.types import PeriodAsked, ReportFilters

pytestmark = pytest.mark.django_db


def test_the_kept_labels_are_english_and_read_in_the_readers_language(lab, monkeypatch):
    with translation.override("fr"):
        snapshots.dashboard(lab.jane, PeriodAsked(), ReportFilters(), fresh=True)
    kept = ReportSnapshot.objects.get().figures
    assert [row[1] for row in kept["funnel"]][:2] == ["New", "Open"]
    assert kept["stage_times"][0]["label"] == "New"
    assert [a["label"] for a in kept["attainment"]] == ["First response", "Resolution"]
    assert kept["rates"][0]["label"] == "Reopen rate"
    assert kept["rates"][0]["explained"].startswith("Reopen moves made in the period")

    # A stand-in catalogue: every text the figures keep, in upper case.
    monkeypatch.setattr(snapshots, "gettext", lambda text: text.upper())
    read = snapshots.dashboard(lab.jane, PeriodAsked(), ReportFilters())
    assert [a.label for a in read.attainment] == ["FIRST RESPONSE", "RESOLUTION"]
    assert read.rates[0].label == "REOPEN RATE"
    assert read.rates[0].explained.startswith("REOPEN MOVES MADE IN THE PERIOD")
    # The stages' labels are the model's choices, in the active language.
    assert read.funnel[0][1] == "New" and read.stage_times[1].label == "Open"
