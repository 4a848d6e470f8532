"""CSV for spreadsheets, safe to open: a cell and a table, and a table as a streamed download.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (some
first trim a leading tab or carriage return), so ``=HYPERLINK(...)`` in a ticket's subject
could send whoever opens the export somewhere, with their other cells in the address.
Every text cell that starts with one of those gets a leading apostrophe, which spreadsheets
hide and take as "this is text" (OWASP, CSV injection). Only text is changed: a real number,
negative or not, is written as it is; the text "-5" typed by a user is text, and neutralised.

How values are written:

- text: as it is, neutralised as above; ``None``: an empty cell; booleans: ``true``/``false``;
- numbers (``int``, ``float``, ``Decimal``): as Python writes them;
- datetimes: ISO 8601 in the site's time zone with its offset, to the second
  (``2025-03-03T09:15:00+01:00``); dates: ``2025-03-03``;
- durations (``timedelta``): whole seconds, an integer (exact, and sums and sorts as a
  number); a table that wants hours adds a column of its own (``hours()``: one decimal),
  and says the unit in its header ("Median resolution (s)", "... (h)").

The file is UTF-8 with a byte-order mark first (so Excel reads accents as UTF-8), lines end
with CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"
# What a spreadsheet may take as the start of a formula (or a DDE command).
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")


def hours(delta: timedelta | None) -> float | None:
    """A duration in hours with one decimal, for a column that says "(h)"."""
    return None if delta is None else round(delta.total_seconds() / 3600, 1)


def safe_cell(value: Any) -> str:
    """One cell's text: see the module's docstring for each kind of value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(round(value.total_seconds()))
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS_FIRST) else text


class _Line:
    """A file-like object whose ``write`` returns what it is given: csv.writer's one line."""

    def write(self, text: str) -> str:
        return text


def csv_response_rows(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The table's CSV, one line at a time (for a streamed response): the byte-order mark and
    the header first, then each row, every cell through ``safe_cell``, lines ending in CRLF.
    ``rows`` is read lazily: a generator over a database cursor is never held in memory."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield BOM + writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_download(filename: str, header: list[Any], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """The table as a streamed attachment named ``filename`` (ASCII, no quotes or slashes). The
    header's names (lazy translations) are read now, in the request's language: the rows are
    streamed after the view has returned."""
    names = [str(name) for name in header]
    response = StreamingHttpResponse(csv_response_rows(names, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
