"""The reports' charts as inline SVG, built on the server: no script, no inline style (the CSP
refuses both), colours from ``static/agents/reports.css`` (Bootstrap's variables and
``currentColor``, so they follow the theme and print in black and grey).

Widths are percentages of the chart's box and heights are pixels, so the text keeps its size
from a phone to a wide screen and nothing is scaled out of reach. Every chart is an image with
a title and a spoken summary (``role="img"``, ``aria-label``); its numbers are in the table the
template puts beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django import template
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from tickets.reports.types import Attainment, DayCount, LoadRow, Rate, Spread, StageTime, WhatIf

register = template.Library()

EMPTY = gettext_lazy("No tickets in this period.")
LABEL_HEIGHT = 18  # the line with a row's label and value
BAR_HEIGHT = 12
BAR_GAP = 3
ROW_GAP = 12
LEGEND_HEIGHT = 22
LABEL_CHARS = 34  # a longer label is cut in the chart (the table beside it has it whole)


# -- words for numbers -----------------------------------------------------------------------------


@register.filter
def duration(value: timedelta | None) -> str:
    """ "2 d 3 h", "3 h 10 min", "12 min", "< 1 min"; "–" for no value."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        # Translators: a duration in days and hours, abbreviated.
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        # Translators: a duration in hours and minutes, abbreviated.
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    # Translators: a duration in minutes, abbreviated.
    return _("%(minutes)s min") % {"minutes": minutes} if minutes else _("< 1 min")


@register.filter
def percent(value: float | None) -> str:
    """ "92.3 %"; "–" when there was nothing to count."""
    return "–" if value is None else f"{value:.1f} %"


@register.filter
def signed_points(value: float | None) -> str:
    """A difference of two percentages: "+4.2 points", "−1.0 points", "no change"."""
    if value is None:
        return "–"
    if abs(value) < 0.05:
        return _("no change")
    # Translators: a difference of two percentages, "+4.2 points" or "−1.0 points".
    return _("%(sign)s%(value)s points") % {"sign": "+" if value > 0 else "−", "value": f"{abs(value):.1f}"}


# -- horizontal bars ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    fractions: Sequence[float]  # one per series, 0 to 1 of the chart's width
    text: str  # the value written at the row's right
    track: bool = False  # a grey bar behind, for shares of a whole


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _width(fraction: float) -> str:
    # A bar for a value above zero is never quite invisible.
    share = max(0.0, min(1.0, fraction))
    return f"{max(share * 100, 0.4 if share > 0 else 0):.2f}%"


def _legend(series: Sequence[tuple[str, str]], y: int = 0) -> SafeString:
    parts, x = [], 0
    for css, label in series:
        name = str(label)  # a lazy translation, now in the page's language
        parts.append(
            format_html(
                '<rect class="chart-key {}" x="{}" y="{}" width="10" height="10" rx="2"></rect>'
                '<text class="chart-legend" x="{}" y="{}">{}</text>',
                css,
                x,
                y + 2,
                x + 14,
                y + 11,
                name,
            )
        )
        x += 14 + 8 * len(name) + 18
    return mark_safe("".join(parts))  # noqa: S308 (each part built by format_html)


def _svg(title: str, summary: str, height: int, body: SafeString, css: str = "") -> SafeString:
    return format_html(
        '<svg class="chart {}" role="img" aria-label="{}" width="100%" height="{}" focusable="false">'
        "<title>{}</title>{}</svg>",
        css,
        # Translators: a chart's title, then what it shows in words.
        _("%(title)s: %(summary)s") % {"title": title, "summary": summary},
        height,
        title,
        body,
    )


def hbars(
    title: str, rows: Sequence[Row], series: Sequence[tuple[str, str]], *, legend: bool = False
) -> SafeString:
    """One row per item: its label and value on a line, then a bar per series under it."""
    y = LEGEND_HEIGHT if legend else 0
    parts = [_legend(series, 0)] if legend else []
    for row in rows:
        parts.append(
            format_html(
                '<text class="chart-label" x="0" y="{}">{}<title>{}</title></text>'
                '<text class="chart-value" x="100%" y="{}" text-anchor="end">{}</text>',
                y + 13,
                _cut(row.label),
                row.label,
                y + 13,
                row.text,
            )
        )
        y += LABEL_HEIGHT
        if not row.track and not any(fraction > 0 for fraction in row.fractions):
            y += ROW_GAP - BAR_GAP  # nothing to draw: the label's line only
            continue
        for (css, _name), fraction in zip(series, row.fractions, strict=True):
            if row.track:
                parts.append(
                    format_html(
                        '<rect class="chart-track" x="0" y="{}" width="100%" height="{}" rx="2"></rect>',
                        y,
                        BAR_HEIGHT,
                    )
                )
            if fraction > 0:
                parts.append(
                    format_html(
                        '<rect class="{}" x="0" y="{}" width="{}" height="{}" rx="2"></rect>',
                        css,
                        y,
                        _width(fraction),
                        BAR_HEIGHT,
                    )
                )
            y += BAR_HEIGHT + BAR_GAP
        y += ROW_GAP - BAR_GAP
    summary = "; ".join(f"{row.label} {row.text}" for row in rows)
    return _svg(title, summary, y, mark_safe("".join(parts)), "chart-bars")  # noqa: S308


def _empty(text: str = EMPTY) -> SafeString:
    return format_html('<p class="chart-empty text-body-secondary small mb-0">{}</p>', text)


def _seconds(value: timedelta | None) -> float:
    return value.total_seconds() if value is not None else 0.0


@register.simple_tag
def funnel_chart(funnel: Iterable[tuple[str, str, int]]) -> SafeString:
    stages = list(funnel)
    top = max((count for _, _, count in stages), default=0)
    if not top:
        return _empty()
    rows = [Row(label, [count / top], grouped(count)) for _, label, count in stages]
    return hbars(
        _("Tickets created in the period, by their stage now"), rows, [("chart-s1", _("Tickets"))]
    )


SPREAD_SERIES = [("chart-s1", gettext_lazy("Median")), ("chart-s2", gettext_lazy("90th percentile"))]


def _spread_rows(items: Iterable[tuple[str, Spread]]) -> list[Row]:
    items = list(items)
    top = max((_seconds(spread.p90) for _, spread in items), default=0.0)
    rows = []
    for label, spread in items:
        if not spread.count or not top:
            rows.append(Row(label, [0.0, 0.0], pgettext("no value in a chart", "none")))
            continue
        # Translators: the median and the 90th percentile of a duration.
        text = _("%(median)s / %(p90)s") % {"median": duration(spread.median), "p90": duration(spread.p90)}
        rows.append(Row(label, [_seconds(spread.median) / top, _seconds(spread.p90) / top], text))
    return rows


@register.simple_tag
def stage_chart(stage_times: Iterable[StageTime]) -> SafeString:
    rows = _spread_rows((stage.label, stage.spread) for stage in stage_times)
    if _blank(rows):
        return _empty(_("No ticket left a stage in this period."))
    return hbars(_("Time in each stage, median / 90th percentile"), rows, SPREAD_SERIES, legend=True)


@register.simple_tag
def waiting_chart(waiting_on_requester: Spread, with_desk: Spread) -> SafeString:
    rows = _spread_rows(
        [(_("Waiting on the requester"), waiting_on_requester), (_("With the desk"), with_desk)]
    )
    if _blank(rows):
        return _empty(_("No ticket was resolved in this period."))
    return hbars(
        _("Resolved tickets' time waiting on the requester and with the desk, median / 90th percentile"),
        rows,
        SPREAD_SERIES,
        legend=True,
    )


def _blank(rows: Sequence[Row]) -> bool:
    """No row has a value to draw (every spread row had nothing to measure)."""
    return all(not any(fraction > 0 for fraction in row.fractions) for row in rows)


def _percent_row(label: str, value: float | None, part: int, whole: int, none: str) -> Row:
    """A share of a whole; ``none`` is the words for a row with nothing to count."""
    if value is None:
        return Row(label, [0.0], none, track=True)
    # Translators: "92.3 % (120 of 130)".
    text = _("%(percent)s (%(part)s of %(whole)s)") % {
        "percent": percent(value),
        "part": grouped(part),
        "whole": grouped(whole),
    }
    return Row(label, [value / 100], text, track=True)


@register.simple_tag
def attainment_chart(attainment: Iterable[Attainment]) -> SafeString:
    targets = list(attainment)
    none = pgettext("SLA target", "none reached")
    rows = [_percent_row(a.label, a.percent, a.met, a.total, none) for a in targets]
    if all(a.percent is None for a in targets):
        return _empty(_("No SLA target was reached in this period."))
    return hbars(_("SLA targets met, in per cent"), rows, [("chart-met", pgettext("SLA targets", "Met"))])


@register.simple_tag
def rates_chart(rates: Iterable[Rate]) -> SafeString:
    shares = list(rates)
    none = _("none counted")
    rows = [_percent_row(r.label, r.percent, r.numerator, r.denominator, none) for r in shares]
    if all(r.percent is None for r in shares):
        return _empty()
    return hbars(_("Rates, in per cent"), rows, [("chart-s1", _("Rate"))])


@register.simple_tag
def topics_chart(topics: Iterable[LoadRow]) -> SafeString:
    items = [row for row in topics if row.median_resolution is not None]
    if not items:
        return _empty(_("No ticket was resolved in this period."))
    top = max(_seconds(row.median_resolution) for row in items) or 1.0
    rows = [
        Row(row.name, [_seconds(row.median_resolution) / top], duration(row.median_resolution))
        for row in items
    ]
    return hbars(
        _("Slowest help topics, median resolution time"), rows, [("chart-s1", _("Median resolution"))]
    )


@register.simple_tag
def what_if_chart(what_if: WhatIf) -> SafeString:
    series = [("chart-s2", _("Actual")), ("chart-s1", _("Replayed"))]
    none = pgettext("SLA target", "none reached")
    rows = []
    reached = False
    for actual, replayed in zip(what_if.actual, what_if.replayed, strict=False):
        if actual.percent is None and replayed.percent is None:
            rows.append(Row(actual.label, [0.0, 0.0], none, track=True))
            continue
        reached = True
        text = f"{percent(actual.percent)} → {percent(replayed.percent)}"
        shares = [(actual.percent or 0) / 100, (replayed.percent or 0) / 100]
        rows.append(Row(actual.label, shares, text, track=True))
    if not reached:
        return _empty(_("No SLA target was reached in this period."))
    title = _("SLA targets met, actual and under %(plan)s") % {"plan": what_if.plan_name}
    return hbars(title, rows, series, legend=True)


# -- the trend: columns per day --------------------------------------------------------------------

PLOT_TOP = LEGEND_HEIGHT + 14
PLOT_HEIGHT = 150


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… at or above ``value`` (the y axis' top)."""
    if value <= 1:
        return 1
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _day(day: date) -> str:
    """ "4 Dec", the month's name in the active language."""
    return dateformat.format(day, "j M")


@register.simple_tag
def trend_chart(trend: Sequence[DayCount]) -> SafeString:
    days = list(trend)
    highest = max((max(d.created, d.closed) for d in days), default=0)
    if not highest:
        return _empty()
    top = nice_ceiling(highest)
    n = len(days)
    # Translators: one day's column in the chart of tickets created and closed per day.
    column_title = _("%(day)s: %(created)s created, %(closed)s closed")
    columns = format_html_join(
        "",
        "<g><title>{}</title>"
        '<rect class="chart-s1" x="{}.1" y="{}" width="0.38" height="{}"></rect>'
        '<rect class="chart-s3" x="{}.52" y="{}" width="0.38" height="{}"></rect></g>',
        (
            (
                column_title % {"day": _day(d.day), "created": d.created, "closed": d.closed},
                i,
                top - d.created,
                d.created,
                i,
                top - d.closed,
                d.closed,
            )
            for i, d in enumerate(days)
        ),
    )
    bottom = PLOT_TOP + PLOT_HEIGHT
    # The grid under the columns, its numbers over them (with a halo: see reports.css).
    levels = [(PLOT_TOP, _("%(count)s a day") % {"count": grouped(top)})]
    if top % 2 == 0:
        levels.append((PLOT_TOP + PLOT_HEIGHT // 2, grouped(top // 2)))
    grid = format_html_join(
        "", '<line class="chart-grid" x1="0" x2="100%" y1="{}" y2="{}"></line>', ((y, y) for y, _ in levels)
    )
    axis = format_html(
        '<line class="chart-axis-line" x1="0" x2="100%" y1="{}" y2="{}"></line>', bottom, bottom
    )
    numbers = format_html_join(
        "",
        '<text class="chart-axis" x="100%" y="{}" text-anchor="end">{}</text>',
        ((y - 4, text) for y, text in levels),
    )
    ticks = [(0, "start", days[0].day)]
    if n > 4:
        ticks.append(("50%", "middle", days[n // 2].day))
    if n > 1:
        ticks.append(("100%", "end", days[-1].day))
    dates = format_html_join(
        "",
        '<text class="chart-axis" x="{}" y="{}" text-anchor="{}">{}</text>',
        ((x, bottom + 16, anchor, _day(day)) for x, anchor, day in ticks),
    )
    body = format_html(
        '{}{}<svg x="0" y="{}" width="100%" height="{}" viewBox="0 0 {} {}" preserveAspectRatio="none">'
        "{}</svg>{}{}{}",
        _legend([("chart-s1", pgettext("tickets", "Created")), ("chart-s3", pgettext("tickets", "Closed"))]),
        grid,
        PLOT_TOP,
        PLOT_HEIGHT,
        n,
        top,
        columns,
        axis,
        numbers,
        dates,
    )
    created, closed = sum(d.created for d in days), sum(d.closed for d in days)
    summary = _(
        "%(created)s created and %(closed)s closed over %(days)s days, from %(first)s to %(last)s; "
        "at most %(highest)s a day"
    ) % {
        "created": grouped(created),
        "closed": grouped(closed),
        "days": n,
        "first": _day(days[0].day),
        "last": _day(days[-1].day),
        "highest": grouped(highest),
    }
    return _svg(_("Tickets created and closed per day"), summary, bottom + 22, body, "chart-trend")


def grouped(number: int) -> str:
    """A count with the reader's thousands separator ("10,000", "10 000", "10.000")."""
    return number_format(number, force_grouping=True)
