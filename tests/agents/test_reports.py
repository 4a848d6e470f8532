"""The console's reports: the charts (server-drawn SVG) and their tables, the period and filters
form, the dashboard page with the figures it is given and with real tickets, its CSV exports,
the SLA what-if, and the cost of the page. Who may open them: test_reports_access.py."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.reports_forms import ReportForm, WhatIfForm
from agents.templatetags import charts
from agents.views.reports import TABLES
from tickets import selectors, services
from tickets.models import SLAPlan, State, Ticket
from tickets.reports import figures, sla
from tickets.reports.types import (
    MAX_RANGE_DAYS,
    Attainment,
    Dashboard,
    DayCount,
    LoadRow,
    Period,
    Rate,
    ReportFilters,
    Spread,
    StageTime,
    WhatIf,
)

H = timedelta(hours=1)
NOW = timezone.make_aware(datetime(2025, 3, 14, 12, 0))
STAGES = [(value, label) for value, label in State.choices]


def _svg(html: str) -> ElementTree.Element:
    """The chart's markup parsed as XML: it must be well-formed to be drawn."""
    return ElementTree.fromstring(str(html))  # noqa: S314 (our own markup)


def _bars(svg: ElementTree.Element, css: str) -> list[ElementTree.Element]:
    """The bars of one series (not the legend's swatch of it)."""
    classes = [(el, el.get("class", "").split()) for el in svg.iter("rect")]
    return [el for el, names in classes if css in names and "chart-key" not in names]


def _widths(svg: ElementTree.Element, css: str) -> list[float]:
    return [float(el.get("width").rstrip("%")) for el in _bars(svg, css)]


def _texts(svg: ElementTree.Element) -> list[str]:
    return ["".join(el.itertext()) for el in svg.iter("text")]


def spread(count: int, median_hours: float | None, p90_hours: float | None) -> Spread:
    return Spread(
        count,
        None if median_hours is None else median_hours * H,
        None if p90_hours is None else p90_hours * H,
    )


def dashboard(**overrides) -> Dashboard:
    """A dashboard as the figures would give it, numbers chosen by hand."""
    period = Period.last_days(7, NOW)
    values = {
        "period": period,
        "filters": ReportFilters(),
        "funnel": [
            (state, label, n) for n, (state, label) in zip([0, 3, 2, 1, 4, 1, 5, 8], STAGES, strict=True)
        ],
        "stage_times": [
            StageTime(state, label, spread(n, n * 1.5 or None, n * 4 or None))
            for n, (state, label) in zip([0, 3, 2, 1, 4, 1, 5, 0], STAGES, strict=True)
        ],
        "waiting_on_requester": spread(5, 2, 30),
        "with_desk": spread(5, 6, 48),
        "attainment": [
            Attainment("first_response", "First response", met=9, missed=1),
            Attainment("resolution", "Resolution", met=3, missed=2),
        ],
        "rates": [
            Rate("reopen", "Reopen rate", 1, 8, "Resolved tickets reopened"),
            Rate("escalation", "Escalation rate", 2, 10, "Tickets escalated"),
            Rate("follow_up", "Follow-up rate", 0, 10, "New tickets following up a closed one"),
        ],
        "trend": [DayCount(day, created=i % 3, closed=(i + 1) % 2) for i, day in enumerate(period.days())],
        "teams": [LoadRow(1, "Online Banking", 2, 3, 5 * H)],
        "agents": [
            LoadRow(2, "John Doe", 4, 6, 90 * timedelta(minutes=1)),
            LoadRow(3, "Jane Doe", 0, 0, None),
        ],
        "slowest_topics": [
            LoadRow(4, "Report a Problem / Access Issue", 1, 2, 50 * H),
            LoadRow(5, "=HYPERLINK(\"http://evil\")", 0, 1, 3 * H),
        ],
    }
    values.update(overrides)
    return Dashboard(**values)


# -- numbers in words -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "–"),
        (timedelta(seconds=20), "< 1 min"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=3, minutes=10), "3 h 10 min"),
        (timedelta(days=2, hours=3, minutes=59), "2 d 3 h"),
    ],
)
def test_durations_in_words(value, words):
    assert charts.duration(value) == words


def test_percentages_and_differences_in_words():
    assert charts.percent(None) == "–"
    assert charts.percent(92.25) == "92.2 %" or charts.percent(92.25) == "92.3 %"
    assert charts.percent(100.0) == "100.0 %"
    assert charts.signed_points(4.2) == "+4.2 points"
    assert charts.signed_points(-1.0) == "−1.0 points"
    assert charts.signed_points(0.0) == "no change"
    assert charts.signed_points(None) == "–"


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (480, 500)]
)
def test_the_trend_axis_ends_at_a_round_number(value, top):
    assert charts.nice_ceiling(value) == top


# -- the charts ----------------------------------------------------------------------------------------


def test_the_funnel_has_a_bar_per_stage_as_long_as_its_count():
    svg = _svg(charts.funnel_chart(dashboard().funnel))
    assert svg.get("role") == "img"
    assert svg.find("title").text == "Tickets created in the period, by their stage now"
    assert "Open 3" in svg.get("aria-label") and "Closed 8" in svg.get("aria-label")
    # New has none: no bar; the others in proportion to the largest (Closed, 8).
    assert _widths(svg, "chart-s1") == [37.5, 25.0, 12.5, 50.0, 12.5, 62.5, 100.0]
    texts = _texts(svg)
    # Each label (followed by its <title>), then its value.
    assert [texts[i] for i in range(0, 16, 2)] == [label + label for _, label in STAGES]
    assert [texts[i] for i in range(1, 16, 2)] == ["0", "3", "2", "1", "4", "1", "5", "8"]


def test_a_chart_with_nothing_to_draw_says_so():
    empty = dashboard(
        funnel=[(s, label, 0) for s, label in STAGES],
        trend=[DayCount(date(2025, 3, 1), 0, 0)],
        stage_times=[StageTime(s, label, Spread(0, None, None)) for s, label in STAGES],
        attainment=[Attainment("first_response", "First response", 0, 0)],
        rates=[Rate("reopen", "Reopen rate", 0, 0, "")],
        slowest_topics=[],
    )
    for markup in (
        charts.funnel_chart(empty.funnel),
        charts.trend_chart(empty.trend),
        charts.stage_chart(empty.stage_times),
        charts.waiting_chart(Spread(0, None, None), Spread(0, None, None)),
        charts.attainment_chart(empty.attainment),
        charts.rates_chart(empty.rates),
        charts.topics_chart(empty.slowest_topics),
    ):
        assert "<svg" not in markup
        assert 'class="chart-empty' in markup


def test_time_in_stage_draws_the_median_and_the_90th_percentile_against_the_longest():
    svg = _svg(charts.stage_chart(dashboard().stage_times))
    # The longest 90th percentile (Resolved, 20 h) fills the width; New and Closed have no stays.
    assert _widths(svg, "chart-s2") == [60.0, 40.0, 20.0, 80.0, 20.0, 100.0]
    assert _widths(svg, "chart-s1")[3] == 30.0  # In progress' median, 6 h of 20
    assert "Median" in _texts(svg) and "90th percentile" in _texts(svg)
    assert "In progress 6 h 0 min / 16 h 0 min" in svg.get("aria-label")
    assert "New none" in svg.get("aria-label")


def test_waiting_on_the_requester_beside_time_with_the_desk():
    d = dashboard()
    svg = _svg(charts.waiting_chart(d.waiting_on_requester, d.with_desk))
    assert _widths(svg, "chart-s2") == [62.5, 100.0]  # 30 h and 48 h
    assert "Waiting on the requester 2 h 0 min / 1 d 6 h" in svg.get("aria-label")


def test_attainment_and_rates_are_bars_on_a_full_track():
    svg = _svg(charts.attainment_chart(dashboard().attainment))
    assert _widths(svg, "chart-met") == [90.0, 60.0]
    assert _widths(svg, "chart-track") == [100.0, 100.0]
    assert "First response 90.0 % (9 of 10)" in svg.get("aria-label")
    rates = _svg(charts.rates_chart(dashboard().rates))
    assert _widths(rates, "chart-s1") == [12.5, 20.0]  # no bar for the 0 %
    assert "Follow-up rate 0.0 % (0 of 10)" in rates.get("aria-label")


def test_a_very_small_share_still_shows():
    svg = _svg(charts.attainment_chart([Attainment("resolution", "Resolution", 1, 999)]))
    assert _widths(svg, "chart-met") == [0.4]


def test_the_trend_has_a_column_per_day_and_series():
    d = dashboard()
    svg = _svg(charts.trend_chart(d.trend))
    plot = svg.find("svg")
    assert plot.get("viewBox") == "0 0 8 2"  # 8 local days, at most 2 a day
    assert plot.get("preserveAspectRatio") == "none"
    created, closed = _bars(plot, "chart-s1"), _bars(plot, "chart-s3")
    assert len(created) == len(closed) == len(d.trend)
    assert [float(r.get("height")) for r in created] == [day.created for day in d.trend]
    assert [float(r.get("y")) for r in closed] == [2 - day.closed for day in d.trend]
    labels = _texts(svg)
    assert "Created" in labels and "Closed" in labels
    assert f"{d.trend[0].day.day} Mar" in labels and f"{d.trend[-1].day.day} Mar" in labels
    assert svg.find("title").text == "Tickets created and closed per day"
    assert "over 8 days" in svg.get("aria-label")
    # Each day says its numbers when pointed at.
    assert plot.find("g/title").text == f"{d.trend[0].day.day} Mar: 0 created, 1 closed"


def test_slowest_topics_chart_cuts_long_names_but_keeps_them_whole_in_a_title():
    long = LoadRow(1, "Report a Problem / Access Issue / Remote desktop gateway", 0, 1, 5 * H)
    svg = _svg(charts.topics_chart([long]))
    label = next(el for el in svg.iter("text") if "chart-label" in el.get("class"))
    assert label.text.endswith("…") and len(label.text) <= charts.LABEL_CHARS
    assert label.find("title").text == long.name


def test_the_what_if_chart_shows_actual_and_replayed():
    result = WhatIf(
        plan_name="Sev-A",
        first_response_hours=1,
        resolution_hours=4,
        actual=[
            Attainment("first_response", "First response", 8, 2),
            Attainment("resolution", "Resolution", 5, 5),
        ],
        replayed=[
            Attainment("first_response", "First response", 5, 5),
            Attainment("resolution", "Resolution", 1, 9),
        ],
        tickets=10,
    )
    svg = _svg(charts.what_if_chart(result))
    assert _widths(svg, "chart-s2") == [80.0, 50.0]
    assert _widths(svg, "chart-s1") == [50.0, 10.0]
    assert "First response 80.0 % → 50.0 %" in svg.get("aria-label")


def test_names_are_escaped_in_the_charts():
    row = LoadRow(1, '<script>alert("x")</script>', 0, 1, H)
    html = str(charts.topics_chart([row]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    _svg(html)


def test_charts_carry_no_inline_style_or_script():
    d = dashboard()
    html = "".join(
        str(chart)
        for chart in (
            charts.funnel_chart(d.funnel),
            charts.stage_chart(d.stage_times),
            charts.waiting_chart(d.waiting_on_requester, d.with_desk),
            charts.attainment_chart(d.attainment),
            charts.rates_chart(d.rates),
            charts.trend_chart(d.trend),
            charts.topics_chart(d.slowest_topics),
        )
    )
    assert not re.search(r"\sstyle\s*=|<style\b|<script\b|\son[a-z]+\s*=", html)
    assert html.count('role="img"') == 7


# -- the form --------------------------------------------------------------------------------------------


def _form(cls=ReportForm, **data):
    query = QueryDict(mutable=True)
    query.update(data)
    return cls(query, choices=selectors.console_choices())


@pytest.mark.parametrize("days", ["7", "30", "90"])
def test_the_last_days_up_to_now(lab, days):
    form = _form(period=days)
    assert form.is_valid(), form.errors
    assert form.period_value(NOW) == Period(NOW - timedelta(days=int(days)), NOW)


def test_no_period_given_is_the_last_30_days(lab):
    form = _form()
    assert form.is_valid()
    assert form.period_value(NOW) == Period(NOW - timedelta(days=30), NOW)
    assert form.filters_value() == ReportFilters()
    assert form.chosen_filters() == []


def test_a_custom_period_is_whole_local_days_both_included(lab, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    timezone.activate("Europe/Berlin")
    try:
        form = _form(period="custom", start="2025-03-01", end="2025-03-03")
        assert form.is_valid(), form.errors
        period = form.period_value(NOW)
        berlin = timezone.get_current_timezone()
        assert period.start == datetime(2025, 3, 1, tzinfo=berlin)
        assert period.end == datetime(2025, 3, 4, tzinfo=berlin)
        # A period that reaches today ends now.
        reaching = _form(period="custom", start="2025-03-01", end="2025-03-30")
        assert reaching.is_valid(), reaching.errors
        assert reaching.period_value(NOW) == Period(period.start, NOW)
    finally:
        timezone.deactivate()


BOTH_DAYS = "A custom period needs both its first and its last day."
BACKWARDS = "The period's last day is before its first."
TOO_LONG = f"A custom period is at most {MAX_RANGE_DAYS} days."
FUTURE = "The period starts in the future."


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"period": "custom"}, BOTH_DAYS),
        ({"period": "custom", "start": "2025-03-01"}, BOTH_DAYS),
        ({"period": "custom", "start": "2025-03-05", "end": "2025-03-01"}, BACKWARDS),
        ({"period": "custom", "start": "2023-01-01", "end": "2025-01-01"}, TOO_LONG),
        ({"period": "custom", "start": "2999-01-01", "end": "2999-01-02"}, FUTURE),
    ],
)
def test_a_custom_period_that_makes_no_sense_is_refused(lab, data, error):
    form = _form(**data)
    assert not form.is_valid()
    assert form.non_field_errors() == [error]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"period": "365"}, "period"),
        ({"period": "custom", "start": "yesterday", "end": "2025-03-01"}, "start"),
        ({"department": "999999"}, "department"),
        ({"team": "x"}, "team"),
        ({"agent": "999999"}, "agent"),
        ({"help_topic": "999999"}, "help_topic"),
        ({"priority": "-1"}, "priority"),
        ({"source": "fax"}, "source"),
    ],
)
def test_a_malformed_or_unknown_value_is_an_error_on_its_field(lab, data, field):
    form = _form(**data)
    assert not form.is_valid()
    assert list(form.errors) == [field]


def test_each_filter_is_passed_on(lab):
    topic = lab.topic("Report a Problem")
    form = _form(
        department=str(lab.support.pk),
        team=str(lab.online_banking.pk),
        agent=str(lab.john.pk),
        help_topic=str(topic.pk),
        priority=str(topic.priority_id or selectors.console_choices().priorities[0].pk),
        source="email",
    )
    assert form.is_valid(), form.errors
    filters = form.filters_value()
    assert filters == ReportFilters(
        department_id=lab.support.pk,
        team_id=lab.online_banking.pk,
        agent_id=lab.john.pk,
        help_topic_id=topic.pk,
        priority_id=filters.priority_id,
        source="email",
    )
    assert isinstance(filters.priority_id, int)
    chosen = dict(form.chosen_filters())
    assert chosen["Department"] == "Support" and chosen["Agent"] == "John Doe"
    assert chosen["Source"] == "E-mail" and chosen["Help topic"] == "Report a Problem"


def test_the_what_if_form_offers_the_active_plans_with_their_hours(lab):
    form = WhatIfForm(choices=selectors.console_choices())
    labels = dict(form.fields["plan"].choices)
    plans = SLAPlan.objects.filter(is_active=True)
    assert set(labels) == {plan.pk for plan in plans}
    sev_a = plans.get(name="Sev-A")
    assert labels[sev_a.pk].startswith(f"Sev-A (first response {sev_a.first_response_hours or 'none'}")
    assert form["plan"].value() == plans.get(is_default=True).pk
    bad = _form(WhatIfForm, plan=str(sev_a.pk), first_response_hours="0", resolution_hours="9000")
    assert not bad.is_valid()
    assert set(bad.errors) == {"first_response_hours", "resolution_hours"}
    good = _form(WhatIfForm, plan=str(sev_a.pk), resolution_hours="2")
    assert good.is_valid(), good.errors
    assert good.cleaned_data["plan"] == sev_a and good.cleaned_data["first_response_hours"] is None


# -- the dashboard page with the figures it is given ------------------------------------------------------


@pytest.fixture
def given(monkeypatch):
    """The figures the page gets, and what the page asked them for."""
    asked = []

    def make(found: Dashboard | None = None):
        def fake(user, period, filters, *, now=None):
            asked.append((user, period, filters, now))
            return found or dashboard(period=period, filters=filters)

        monkeypatch.setattr(figures, "dashboard", fake)
        return asked

    return make


def _page(response) -> str:
    return response.content.decode()


def _table(page: str, title_id: str) -> list[list[str]]:
    """The rows of the first table of the section titled ``title_id``: each cell's text."""
    section = page.split(f'aria-labelledby="{title_id}"', 1)[1].split("</section>", 1)[0]
    table = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in row] for row in cells]


def _link_query(page: str, path: str) -> dict[str, list[str]]:
    """The parameters of the page's first link to ``path``."""
    found = re.search(rf'href="{re.escape(path)}\?([^"]*)"', page)
    assert found, path
    return parse_qs(html.unescape(found.group(1)))


def test_the_dashboard_shows_every_section_with_its_chart_and_table(client, lab, given):
    given()
    client.force_login(lab.jane)
    response = client.get(reverse("agents:reports"))
    assert response.status_code == 200
    page = _page(response)
    for title in ("funnel", "stages", "waiting", "attainment", "rates", "topics", "trend", "teams", "agents"):
        assert f'id="{title}-title"' in page, title
    assert page.count('<svg class="chart') == 7
    assert _table(page, "funnel-title") == [
        [label, str(n)] for n, (_, label) in zip([0, 3, 2, 1, 4, 1, 5, 8], STAGES, strict=True)
    ]
    assert _table(page, "stages-title")[4] == ["In progress", "4", "6 h 0 min", "16 h 0 min"]
    assert _table(page, "waiting-title") == [
        ["Waiting on the requester", "5", "2 h 0 min", "1 d 6 h"],
        ["With the desk", "5", "6 h 0 min", "2 d 0 h"],
    ]
    assert _table(page, "attainment-title") == [
        ["First response", "9", "1", "90.0 %"],
        ["Resolution", "3", "2", "60.0 %"],
    ]
    assert _table(page, "rates-title")[0] == ["Reopen rate Resolved tickets reopened", "1", "8", "12.5 %"]
    assert _table(page, "agents-title") == [["John Doe", "4", "6", "1 h 30 min"], ["Jane Doe", "0", "0", "–"]]
    assert _table(page, "teams-title") == [["Online Banking", "2", "3", "5 h 0 min"]]
    assert _table(page, "topics-title")[0] == ["Report a Problem / Access Issue", "1", "2", "2 d 2 h"]
    assert len(_table(page, "trend-title")) == 8
    assert "No tickets in this period" not in page
    # Every table has its CSV, for the same period and filters (none here).
    for table in TABLES:
        assert f'href="{reverse("agents:reports_export", args=[table])}"' in page, table
    assert "every ticket you may see" in page


def test_the_period_and_filters_asked_for_are_the_ones_computed_and_kept_in_the_links(client, lab, given):
    asked = given()
    client.force_login(lab.jane)
    params = {"period": "7", "department": lab.support.pk, "source": "phone", "start": "2025-01-01"}
    before = timezone.now()
    page = _page(client.get(reverse("agents:reports"), params))
    user, period, filters, now = asked[-1]
    assert user == lab.jane
    assert before <= now <= timezone.now() and period == Period(now - timedelta(days=7), now)
    assert filters == ReportFilters(department_id=lab.support.pk, source="phone")
    assert "Department: Support, Source: Phone." in page
    # The links carry the period and filters (not a date that applies to a custom period only).
    kept = {"period": ["7"], "department": [str(lab.support.pk)], "source": ["phone"]}
    assert _link_query(page, reverse("agents:reports_export", args=["funnel"])) == kept
    assert _link_query(page, reverse("agents:reports_what_if")) == kept


def test_malformed_input_shows_the_errors_and_no_figures(client, lab, given):
    asked = given()
    client.force_login(lab.jane)
    bad = {"period": "custom", "start": "2025-03-05", "end": "2025-03-01", "team": "x"}
    response = client.get(reverse("agents:reports"), bad)
    assert response.status_code == 400
    page = _page(response)
    assert "The period&#x27;s last day is before its first." in page
    assert "Select a valid choice. x is not one of the available choices." in page
    assert asked == [] and "<svg" not in page


def test_an_empty_period_says_so_and_draws_no_chart(client, lab, given):
    none = dashboard(
        funnel=[(s, label, 0) for s, label in STAGES],
        stage_times=[StageTime(s, label, Spread(0, None, None)) for s, label in STAGES],
        waiting_on_requester=Spread(0, None, None),
        with_desk=Spread(0, None, None),
        attainment=[
            Attainment("first_response", "First response", 0, 0),
            Attainment("resolution", "Resolution", 0, 0),
        ],
        rates=[Rate("reopen", "Reopen rate", 0, 0, "")],
        trend=[DayCount(day, 0, 0) for day in Period.last_days(7, NOW).days()],
        teams=[LoadRow(1, "Online Banking", 2, 0, None)],
        agents=[],
        slowest_topics=[],
    )
    given(none)
    client.force_login(lab.jane)
    page = _page(client.get(reverse("agents:reports")))
    assert '<div class="alert alert-info report-empty" role="status">No tickets in this period.</div>' in page
    assert "<svg" not in page
    # The tables are still there, with their zeros; the load now is not about the period.
    assert _table(page, "teams-title") == [["Online Banking", "2", "0", "–"]]
    assert _table(page, "agents-title") == [["No agent."]]


# -- the dashboard with real tickets -----------------------------------------------------------------------


@pytest.fixture
def week(lab, new_ticket, time_machine):
    """Three tickets of Karen's over a week: one resolved after a day with John, one John asked
    a question about, one still new in the queue."""
    start = timezone.make_aware(datetime(2026, 3, 2, 9))  # a Monday
    time_machine.move_to(start, tick=False)
    done = new_ticket(subject="Done")
    services.ticket_claim(ticket=done, actor=lab.john)
    time_machine.move_to(start + timedelta(days=1), tick=False)
    services.ticket_resolve(ticket=done, actor=lab.john, message="Fixed.")
    asked = new_ticket(subject="Asked")
    services.ticket_claim(ticket=asked, actor=lab.john)
    services.ticket_request_info(ticket=asked, actor=lab.john, message="Which printer?")
    time_machine.move_to(start + timedelta(days=2), tick=False)
    new_ticket(subject="Waiting")
    time_machine.move_to(start + timedelta(days=3), tick=False)
    return start


def test_the_dashboard_counts_real_tickets(client, lab, week):
    client.force_login(lab.jane)
    response = client.get(reverse("agents:reports"), {"period": "7"})
    assert response.status_code == 200
    page = _page(response)
    funnel = dict(_table(page, "funnel-title"))
    assert funnel == {"New": "0", "Open": "1", "Assigned": "0", "Awaiting user": "1", "In progress": "0",
                      "Escalated": "0", "Resolved": "1", "Closed": "0"}
    trend = _table(page, "trend-title")
    assert [row[1:] for row in trend if row[1:] != ["0", "0"]] == [["1", "0"], ["1", "0"], ["1", "0"]]
    assert ["John Doe", "1", "1", "1 d 0 h"] in _table(page, "agents-title")
    assert page.count('<svg class="chart') >= 5
    # Filtered to another source, there are none.
    empty = _page(client.get(reverse("agents:reports"), {"period": "7", "source": "phone"}))
    assert "No tickets in this period with these filters." in empty


# -- the CSV exports -----------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_each_table_as_csv(client, lab, given):
    given()
    client.force_login(lab.jane)
    files = {}
    for table in TABLES:
        response = client.get(reverse("agents:reports_export", args=[table]), {"period": "7"})
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert re.fullmatch(rf'attachment; filename="{table}-\d{{8}}-\d{{8}}\.csv"', disposition)
        files[table] = _csv(response)
    assert files["funnel"][0] == ["Stage", "Label", "Tickets created in the period, by stage now"]
    assert files["funnel"][8] == ["closed", "Closed", "8"]
    assert files["stages"][5] == ["in_progress", "Time in In progress", "4", "21600", "6.0", "57600", "16.0"]
    assert files["stages"][-2:] == [
        ["waiting_on_requester", "Waiting on the requester", "5", "7200", "2.0", "108000", "30.0"],
        ["with_desk", "With the desk", "5", "21600", "6.0", "172800", "48.0"],
    ]
    assert files["attainment"][1:] == [
        ["first_response", "First response", "9", "1", "10", "90.0"],
        ["resolution", "Resolution", "3", "2", "5", "60.0"],
    ]
    assert files["rates"][1] == ["reopen", "Reopen rate", "1", "8", "12.5", "Resolved tickets reopened"]
    assert files["trend"][0] == ["Day", "Created", "Closed or cancelled"]
    assert len(files["trend"]) == 1 + 8 and files["trend"][1][1:] == ["0", "1"]
    assert files["agents"][1:] == [
        ["2", "John Doe", "4", "6", "5400", "1.5"],
        ["3", "Jane Doe", "0", "0", "", ""],
    ]
    assert files["teams"][1] == ["1", "Online Banking", "2", "3", "18000", "5.0"]
    # A name that would be a formula in a spreadsheet is written as text.
    assert files["topics"][2][1] == "'=HYPERLINK(\"http://evil\")"


def test_an_export_takes_the_same_period_and_filters(client, lab, given):
    asked = given()
    client.force_login(lab.jane)
    params = {"period": "custom", "start": "2025-03-01", "end": "2025-03-03", "agent": lab.john.pk}
    response = client.get(reverse("agents:reports_export", args=["trend"]), params)
    assert response.status_code == 200
    _, period, filters, _ = asked[-1]
    assert timezone.localdate(period.start) == date(2025, 3, 1)
    assert timezone.localdate(period.end) == date(2025, 3, 4)
    assert filters == ReportFilters(agent_id=lab.john.pk)
    assert response["Content-Disposition"] == 'attachment; filename="trend-20250301-20250303.csv"'


def test_an_export_with_malformed_input_is_400_with_the_errors(client, lab, given):
    asked = given()
    client.force_login(lab.jane)
    response = client.get(reverse("agents:reports_export", args=["funnel"]), {"period": "365"})
    assert response.status_code == 400
    assert "period: Select a valid choice." in response.content.decode()
    assert asked == []


def test_a_real_export_counts_real_tickets(client, lab, week):
    client.force_login(lab.jane)
    rows = _csv(client.get(reverse("agents:reports_export", args=["funnel"]), {"period": "7"}))
    assert {row[0]: row[2] for row in rows[1:]}["awaiting_user"] == "1"


# -- the SLA what-if -----------------------------------------------------------------------------------------


def test_the_what_if_shows_the_form_until_a_plan_is_chosen(client, lab, monkeypatch):
    monkeypatch.setattr(sla, "what_if", lambda *a, **k: pytest.fail("nothing to replay yet"))
    client.force_login(lab.jane)
    # Linked from the dashboard: its period and filters are kept in the form.
    response = client.get(reverse("agents:reports_what_if"), {"period": "90", "team": lab.online_banking.pk})
    assert response.status_code == 200
    page = _page(response)
    default = SLAPlan.objects.get(is_default=True)
    assert f'<option value="{default.pk}" selected>' in page
    assert '<option value="90" selected>Last 90 days</option>' in page
    assert f'<option value="{lab.online_banking.pk}" selected>Online Banking</option>' in page
    assert "Under " not in page


def test_the_what_if_replays_under_the_plan_and_hours_chosen(client, lab, monkeypatch):
    calls = []
    result = WhatIf(
        plan_name="Sev-A",
        first_response_hours=1,
        resolution_hours=2,
        actual=[
            Attainment("first_response", "First response", 8, 2),
            Attainment("resolution", "Resolution", 5, 5),
        ],
        replayed=[
            Attainment("first_response", "First response", 5, 5),
            Attainment("resolution", "Resolution", 6, 4),
        ],
        tickets=10,
        notes=["Counted 24/7."],
    )
    monkeypatch.setattr(sla, "what_if", lambda *a, **k: calls.append((a, k)) or result)
    plan = SLAPlan.objects.get(name="Sev-A")
    client.force_login(lab.jane)
    response = client.get(
        reverse("agents:reports_what_if"),
        {"plan": plan.pk, "resolution_hours": "2", "period": "30", "priority": "", "source": "web"},
    )
    assert response.status_code == 200
    (user, period, filters), kwargs = calls[0]
    assert user == lab.jane and period.end - period.start == timedelta(days=30)
    assert filters == ReportFilters(source="web")
    assert kwargs == {"plan": plan, "first_response_hours": None, "resolution_hours": 2}
    page = _page(response)
    assert "Under Sev-A: first response 1 h, resolution 2 h" in page
    rows = _table(page, "what-if-title")
    assert rows == [
        ["First response", "80.0 % 8 of 10", "50.0 % 5 of 10", "−30.0 points"],
        ["Resolution", "50.0 % 5 of 10", "60.0 % 6 of 10", "+10.0 points"],
    ]
    assert "10 tickets replayed" in page and "Counted 24/7." in page
    assert page.count('<svg class="chart') == 1
    assert _link_query(page, reverse("agents:reports")) == {"source": ["web"], "period": ["30"]}


def test_the_what_if_refuses_hours_out_of_range_and_unknown_plans(client, lab, monkeypatch):
    monkeypatch.setattr(sla, "what_if", lambda *a, **k: pytest.fail("not with bad input"))
    client.force_login(lab.jane)
    for params in ({"plan": "999999"}, {"plan": SLAPlan.objects.first().pk, "first_response_hours": "0"}):
        response = client.get(reverse("agents:reports_what_if"), params)
        assert response.status_code == 400
        assert 'class="invalid-feedback"' in _page(response)


def test_the_what_if_with_real_tickets(client, lab, week):
    plan = SLAPlan.objects.get(name="Sev-A")
    client.force_login(lab.jane)
    params = {"plan": plan.pk, "period": "7", "resolution_hours": "1"}
    response = client.get(reverse("agents:reports_what_if"), params)
    assert response.status_code == 200
    result = response.context["what_if"]
    assert result.plan_name == "Sev-A" and result.resolution_hours == 1
    # The ticket resolved after a day would have missed a one-hour resolution target.
    resolution = {a.target: a for a in result.replayed}["resolution"]
    assert (resolution.met, resolution.missed) == (0, 1)


# -- the cost of the page ------------------------------------------------------------------------------------


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_for_3_and_30_tickets(client, lab, new_ticket):
    client.force_login(lab.jane)

    def grow(count):
        for i in range(count):
            ticket = new_ticket(subject=f"Ticket {i}")
            services.ticket_claim(ticket=ticket, actor=lab.john)
            if i % 2:
                services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
            elif i % 4 == 0:
                services.ticket_request_info(ticket=ticket, actor=lab.john, message="More?")

    url = reverse("agents:reports")
    grow(3)
    client.get(url)  # the catalog and the permissions into the cache
    few = _queries(client, url, {"period": "7", "fresh": "1"})
    grow(27)
    many = _queries(client, url, {"period": "7", "fresh": "1"})
    assert Ticket.objects.count() == 30
    assert few == many <= 30, (few, many)
    # Shown again within a few minutes: the figures as kept, not computed again.
    kept = _queries(client, url, {"period": "7"})
    assert kept <= many - 9, (kept, many)


def test_the_page_says_when_its_figures_were_computed_and_can_recompute_them(client, lab, given):
    asked = given()
    client.force_login(lab.jane)
    url = reverse("agents:reports")
    page = _page(client.get(url, {"period": "7", "source": "phone"}))
    assert len(asked) == 1 and "Figures as of" in page
    assert 'href="?period=7&amp;source=phone&amp;fresh=1"' in page
    client.get(url, {"period": "7", "source": "phone"})
    assert len(asked) == 1  # kept
    client.get(url, {"period": "7", "source": "phone", "fresh": "1"})
    assert len(asked) == 2
    client.get(url, {"period": "7"})  # other filters: other figures
    assert len(asked) == 3
