"""The reports in the API: the query parameters (period and filters), the figures as JSON
(durations in seconds, percentages, ISO dates), and the same numbers as ``figures.dashboard``
and ``sla.what_if`` for the same user and parameters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from api.serializers import reports as shown
from tests.api.test_schemathesis import CHECKS, api_schema, key_for  # noqa: F401 (a fixture)
from tests.factories import AgentFactory
from tickets import services
from tickets.models import ApiKey, Priority, SLAPlan, State, Team, Ticket
from tickets.reports import figures, sla, snapshots
from tickets.reports.types import (
    Attainment,
    Dashboard,
    DayCount,
    LoadRow,
    Period,
    PeriodAsked,
    Rate,
    ReportFilters,
    Spread,
    StageTime,
    WhatIf,
)

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def parsed(query: str, form=shown.ReportQuery):
    parameters = form(data=QueryDict(query))
    return parameters, parameters.is_valid()


# -- the query parameters ------------------------------------------------------------------------


def test_without_a_period_the_last_30_days_up_to_now(db):
    query, valid = parsed("")
    assert valid, query.errors
    assert query.period(NOW) == Period(NOW - timedelta(days=30), NOW)
    assert query.filters() == ReportFilters()


@pytest.mark.parametrize("days", [7, 30, 90])
def test_days_is_the_last_days_up_to_now(db, days):
    query, valid = parsed(f"days={days}")
    assert valid, query.errors
    assert query.period(NOW) == Period(NOW - timedelta(days=days), NOW)


def test_a_custom_range_runs_from_the_first_days_midnight_to_the_end_of_the_last(db, settings):
    settings.TIME_ZONE = "Europe/Paris"
    query, valid = parsed("from=2026-01-01&to=2026-01-31")
    assert valid, query.errors
    period = query.period(NOW)
    assert period.start == datetime(2025, 12, 31, 23, tzinfo=UTC)  # midnight in Paris
    assert period.end == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert period.days()[0] == date(2026, 1, 1) and period.days()[-1] == date(2026, 1, 31)


def test_a_range_without_its_end_runs_to_now(db):
    query, valid = parsed("from=2026-03-01")
    assert valid, query.errors
    assert query.period(NOW) == Period(datetime(2026, 3, 1, tzinfo=UTC), NOW)


def test_a_range_ends_now_at_the_latest(db):
    query, valid = parsed("from=2026-03-01&to=2026-03-20")
    assert valid, query.errors
    assert query.period(NOW) == Period(datetime(2026, 3, 1, tzinfo=UTC), NOW)


def test_every_filter_is_read_as_the_tickets_list_names_it(lab):
    topic, priority = lab.topic("Report a Problem"), Priority.objects.get(name="High")
    query, valid = parsed(
        f"department={lab.support.pk}&team={lab.online_banking.pk}&agent={lab.john.pk}"
        f"&help_topic={topic.pk}&priority={priority.pk}&source=email"
    )
    assert valid, query.errors
    assert query.filters() == ReportFilters(
        department_id=lab.support.pk,
        team_id=lab.online_banking.pk,
        agent_id=lab.john.pk,
        help_topic_id=topic.pk,
        priority_id=priority.pk,
        source="email",
    )


@pytest.mark.parametrize("field", ["department", "team", "agent", "help_topic", "priority"])
def test_a_filter_naming_no_row_is_refused(lab, field):
    parameters, valid = parsed(f"{field}=999999")
    assert not valid
    assert parameters.errors == {field: ['Invalid pk "999999" - object does not exist.']}


def test_an_inactive_team_and_a_requester_are_not_filters_as_in_the_console(lab):
    old = Team.objects.create(name="Old team", is_active=False)
    assert set(parsed(f"team={old.pk}")[0].errors) == {"team"}
    assert set(parsed(f"agent={lab.karen.pk}")[0].errors) == {"agent"}


def test_empty_parameters_are_left_out(db):
    query, valid = parsed("department=&source=&days=")
    assert valid, query.errors
    assert query.filters() == ReportFilters()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("days=14", "days"),
        ("days=7&from=2026-01-01", "days"),
        ("days=7&to=2026-01-01", "days"),
        ("to=2026-01-31", "from"),
        ("from=2026-02-01&to=2026-01-31", "to"),
        ("from=2025-01-01&to=2026-01-31", "to"),  # more than 366 days
        ("from=2026-01-01&to=2999-12-31", "to"),
        ("from=2026-03-12", "from"),  # tomorrow
        ("from=1999-12-31&to=2000-01-01", "from"),
        ("from=0001-01-01", "from"),
        ("from=2026-13-01", "from"),
        ("department=0", "department"),
        ("team=x", "team"),
        ("agent=-1", "agent"),
        ("priority=99999999999999999999", "priority"),
        ("source=fax", "source"),
    ],
)
def test_a_bad_parameter_is_named(db, query, field):
    parameters, valid = parsed(query)
    assert not valid
    assert set(parameters.errors) == {field}


def test_a_range_of_a_whole_leap_year_is_allowed(db, time_machine):
    later = datetime(2029, 1, 5, tzinfo=UTC)
    time_machine.move_to(later, tick=False)
    query, valid = parsed("from=2028-01-01&to=2028-12-31")
    assert valid, query.errors
    assert len(query.period(later).days()) == 366


def test_the_what_if_needs_an_active_plan_and_takes_hours_up_to_a_year(lab):
    plan = SLAPlan.objects.get(name="Default SLA")
    query, valid = parsed(
        f"plan={plan.pk}&first_response_hours=2&resolution_hours=&days=90", shown.WhatIfQuery
    )
    assert valid, query.errors
    assert query.validated_data["plan"] == plan
    assert query.validated_data["first_response_hours"] == 2
    assert query.validated_data["resolution_hours"] is None
    assert query.period(NOW) == Period.last_days(90, NOW)
    bad_ones = (
        "", "plan=999999", "plan=x", f"plan={plan.pk}&first_response_hours=0",
        f"plan={plan.pk}&resolution_hours=8761",
    )  # fmt: skip
    for bad in bad_ones:
        parameters, valid = parsed(bad, shown.WhatIfQuery)
        assert not valid, bad
    plan.is_active = False
    plan.save()
    assert not parsed(f"plan={plan.pk}", shown.WhatIfQuery)[1]


# -- the figures as JSON -------------------------------------------------------------------------


def a_dashboard() -> Dashboard:
    """A dashboard built by hand, with every kind of value (and the empty ones)."""
    hours = timedelta(hours=1)
    return Dashboard(
        period=Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)),
        filters=ReportFilters(team_id=2, source=""),
        funnel=[("new", "Ticket creation", 0), ("open", "Ticket intake", 3)],
        stage_times=[
            StageTime("open", "Ticket intake", Spread(2, timedelta(minutes=90), 5 * hours)),
            StageTime("escalated", "Escalation", Spread(0, None, None)),
        ],
        waiting_on_requester=Spread(1, timedelta(seconds=1.5), timedelta(seconds=1.5)),
        with_desk=Spread(0, None, None),
        attainment=[
            Attainment("first_response", "First response", met=2, missed=1),
            Attainment("resolution", "Resolution", met=0, missed=0),
        ],
        rates=[
            Rate("reopen", "Reopen rate", 1, 8, "Reopened of resolved."),
            Rate("escalation", "Escalation rate", 0, 0, ""),
        ],
        trend=[DayCount(date(2026, 3, 1), 4, 1), DayCount(date(2026, 3, 2), 0, 2)],
        teams=[LoadRow(2, "Online Banking", 3, 1, 26 * hours)],
        agents=[LoadRow(None, "Unassigned", 2, 0, None)],
        slowest_topics=[LoadRow(7, "Report a Problem / Access Issue", 0, 4, timedelta(days=2))],
    )


def test_a_dashboard_as_json():
    data = shown.DashboardSerializer(a_dashboard()).data
    assert data["period"] == {"start": "2026-03-01T00:00:00Z", "end": "2026-03-03T00:00:00Z"}
    assert data["filters"] == {
        "department": None, "team": 2, "agent": None, "help_topic": None, "priority": None, "source": None,
    }  # fmt: skip
    assert data["funnel"] == [
        {"state": "new", "label": "Ticket creation", "count": 0},
        {"state": "open", "label": "Ticket intake", "count": 3},
    ]
    assert data["stage_times"] == [
        {"state": "open", "label": "Ticket intake",
         "spread": {"count": 2, "median_seconds": 5400.0, "p90_seconds": 18000.0}},
        {"state": "escalated", "label": "Escalation",
         "spread": {"count": 0, "median_seconds": None, "p90_seconds": None}},
    ]  # fmt: skip
    assert data["waiting_on_requester"] == {"count": 1, "median_seconds": 1.5, "p90_seconds": 1.5}
    assert data["with_desk"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert data["attainment"] == [
        {"target": "first_response", "label": "First response", "met": 2, "missed": 1, "total": 3,
         "percent": 66.7},
        {"target": "resolution", "label": "Resolution", "met": 0, "missed": 0, "total": 0, "percent": None},
    ]  # fmt: skip
    assert data["rates"][0] == {
        "key": "reopen", "label": "Reopen rate", "numerator": 1, "denominator": 8, "percent": 12.5,
        "explained": "Reopened of resolved.",
    }  # fmt: skip
    assert data["rates"][1]["percent"] is None
    assert data["trend"] == [
        {"day": "2026-03-01", "created": 4, "closed": 1},
        {"day": "2026-03-02", "created": 0, "closed": 2},
    ]
    assert data["teams"] == [
        {"id": 2, "name": "Online Banking", "open_now": 3, "resolved": 1,
         "median_resolution_seconds": 93600.0},
    ]  # fmt: skip
    assert data["agents"][0] == {
        "id": None, "name": "Unassigned", "open_now": 2, "resolved": 0, "median_resolution_seconds": None
    }
    assert data["slowest_topics"][0]["median_resolution_seconds"] == 172800.0


def test_a_filtered_source_is_shown_as_its_value():
    data = shown.ReportFiltersSerializer(ReportFilters(source="phone", agent_id=9)).data
    assert data["source"] == "phone" and data["agent"] == 9


def test_a_what_if_as_json(lab):
    plan = SLAPlan.objects.get(name="Default SLA")
    result = WhatIf(
        plan_name="Default SLA",
        first_response_hours=2,
        resolution_hours=None,
        actual=[Attainment("first_response", "First response", 3, 1)],
        replayed=[Attainment("first_response", "First response", 1, 3)],
        tickets=4,
        notes=["One ticket had no first response."],
    )
    period = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    answer = {"period": period, "filters": ReportFilters(priority_id=1), "plan": plan, "result": result}
    data = shown.WhatIfSerializer(answer).data
    assert data["period"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
    assert data["filters"]["priority"] == 1
    assert (data["plan"], data["plan_name"], data["tickets"]) == (plan.pk, "Default SLA", 4)
    assert (data["first_response_hours"], data["resolution_hours"]) == (2, None)
    assert data["actual"][0]["percent"] == 75.0 and data["replayed"][0]["percent"] == 25.0
    assert data["notes"] == ["One ticket had no first response."]


# -- end to end: the same numbers as the domain's ------------------------------------------------

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
LATER = datetime(2026, 12, 3, 12, tzinfo=UTC)  # the Thursday after


@pytest.fixture
def history(lab, new_ticket, time_machine):
    """Three tickets moved through the services on a frozen clock, then the clock at LATER.

    printer  Mon 09:00 (web, Support): claimed by John 10:00, asks Karen 11:00, she answers
             13:00, resolved 15:00.
    card     Tue 09:00 (e-mail, Support): claimed by John 09:30, resolved 10:00, reopened by
             Karen 11:00, escalated to Online Banking 12:00.
    server   Tue 10:00 (web, SysAdmins, High): open.
    """

    def at(day: int, hour: int, minute: int = 0) -> None:
        time_machine.move_to(MONDAY + timedelta(days=day, hours=hour, minutes=minute), tick=False)

    at(0, 9)
    printer = new_ticket(subject="Printer jams")
    at(0, 10)
    services.ticket_claim(ticket=printer, actor=lab.john)
    at(0, 11)
    services.ticket_request_info(ticket=printer, actor=lab.john, message="Which printer?")
    at(0, 13)
    services.ticket_receive_reply(ticket=printer, body="Floor 2.", actor=lab.karen)
    at(0, 15)
    services.ticket_resolve(ticket=printer, actor=lab.john, message="Cleaned the rollers.")
    at(1, 9)
    card = new_ticket(subject="Card blocked", source=Ticket.Source.EMAIL)
    at(1, 9, 30)
    services.ticket_claim(ticket=card, actor=lab.john)
    at(1, 10)
    services.ticket_resolve(ticket=card, actor=lab.john, message="Unblocked.")
    server = new_ticket(
        subject="Server down", department=lab.sysadmins, priority_hint=Priority.objects.get(name="High")
    )
    at(1, 11)
    services.ticket_requester_reopen(ticket=card, reason="Still blocked.", actor=lab.karen)
    at(1, 12)
    card.refresh_from_db()
    services.ticket_escalate(ticket=card, actor=lab.john, team=lab.online_banking, summary="Bank side.")
    time_machine.move_to(LATER, tick=False)
    return printer, card, server


def expected(user, period, filters=None):
    """The domain's dashboard as the API's JSON."""
    dashboard = figures.dashboard(user, period, filters or ReportFilters(), now=LATER)
    return json.loads(json.dumps(shown.DashboardSerializer(dashboard).data))


def test_the_dashboard_is_the_domains_for_the_same_user_and_period(lab, api, history):
    answer = api(lab.jane).get("/api/v1/reports/dashboard/", {"days": 7})
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert data == expected(lab.jane, Period.last_days(7, LATER))
    # And the numbers are the history's.
    assert data["period"] == {"start": "2026-11-26T12:00:00Z", "end": "2026-12-03T12:00:00Z"}
    funnel = {row["state"]: row["count"] for row in data["funnel"]}
    assert funnel == {**dict.fromkeys(State.values, 0), "open": 1, "resolved": 1, "escalated": 1}
    trend = {row["day"]: row["created"] for row in data["trend"] if row["created"]}
    assert trend == {"2026-11-30": 1, "2026-12-01": 2}
    reopen = next(rate for rate in data["rates"] if rate["key"] == "reopen")
    assert (reopen["numerator"], reopen["denominator"], reopen["percent"]) == (1, 2, 50.0)
    # The printer waited 2 hours on Karen, of the 6 from its creation to its resolve.
    assert data["waiting_on_requester"] == {"count": 1, "median_seconds": 7200.0, "p90_seconds": 7200.0}
    assert data["with_desk"] == {"count": 1, "median_seconds": 14400.0, "p90_seconds": 14400.0}


def test_a_custom_range_and_each_filter_give_the_domains_figures(lab, api, history):
    printer, card, server = history
    period = Period(MONDAY, MONDAY + timedelta(days=1))
    asked = {"from": "2026-11-30", "to": "2026-11-30"}
    answer = api(lab.jane).get("/api/v1/reports/dashboard/", asked).json()
    assert answer == expected(lab.jane, period)
    assert sum(row["count"] for row in answer["funnel"]) == 1  # the printer only
    filters = {
        "department": ("department_id", lab.sysadmins.pk),
        "team": ("team_id", lab.online_banking.pk),
        "agent": ("agent_id", lab.john.pk),
        "help_topic": ("help_topic_id", printer.help_topic_id),
        "priority": ("priority_id", server.priority_id),
        "source": ("source", Ticket.Source.EMAIL),
    }
    week = Period.last_days(7, LATER)
    for name, (field, value) in filters.items():
        answer = api(lab.jane).get("/api/v1/reports/dashboard/", {"days": 7, name: value}).json()
        domain = expected(lab.jane, week, ReportFilters(**{field: value}))
        assert answer == domain, name
    # The filters do narrow: e-mail is the card only, SysAdmins the server only.
    by_source = api(lab.jane).get("/api/v1/reports/dashboard/", {"source": "email"}).json()
    assert {row["state"]: row["count"] for row in by_source["funnel"] if row["count"]} == {"escalated": 1}
    by_department = api(lab.jane).get("/api/v1/reports/dashboard/", {"department": lab.sysadmins.pk}).json()
    assert {row["state"]: row["count"] for row in by_department["funnel"] if row["count"]} == {"open": 1}


def test_a_supervisor_gets_the_figures_of_the_tickets_they_see(lab, api, history):
    sue = AgentFactory(username="sue", role="Supervisor", departments=[lab.support])
    answer = api(sue).get("/api/v1/reports/dashboard/").json()
    assert answer == expected(sue, Period.last_days(30, LATER))
    jane = api(lab.jane).get("/api/v1/reports/dashboard/").json()
    assert sum(row["count"] for row in jane["funnel"]) == 3
    assert sum(row["count"] for row in answer["funnel"]) < 3  # not SysAdmins' server


def test_the_what_if_is_the_domains(lab, api, history):
    plan = SLAPlan.objects.get(name="Default SLA")
    asked = {"plan": plan.pk, "first_response_hours": 1, "resolution_hours": "", "days": 7}
    answer = api(lab.jane).get("/api/v1/reports/what-if/", asked)
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    period = Period.last_days(7, LATER)
    result = sla.what_if(lab.jane, period, ReportFilters(), plan=plan, first_response_hours=1)
    domain = shown.WhatIfSerializer(
        {"period": period, "filters": ReportFilters(), "plan": plan, "result": result}
    ).data
    assert data == json.loads(json.dumps(domain))
    assert (data["plan"], data["plan_name"], data["first_response_hours"]) == (plan.pk, "Default SLA", 1)
    assert data["tickets"] == result.tickets > 0


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("dashboard", {"days": 14}, "days"),
        ("dashboard", {"days": 7, "from": "2026-11-01"}, "days"),
        ("dashboard", {"source": "fax"}, "source"),
        ("what-if", {}, "plan"),
        ("what-if", {"plan": 1, "first_response_hours": 0}, "first_response_hours"),
    ],
)
def test_a_bad_parameter_is_a_400_in_the_apis_error_format(lab, api, path, query, field):
    answer = api(lab.jane).get(f"/api/v1/reports/{path}/", query)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid" and body["message"] == "Some fields are not valid."
    assert field in body["fields"]


def test_the_schema_documents_both_endpoints(db, client):
    schema = client.get("/api/schema/?format=json").json()
    dashboard = schema["paths"]["/api/v1/reports/dashboard/"]["get"]
    assert {p["name"] for p in dashboard["parameters"]} == {
        "days", "from", "to", "department", "team", "agent", "help_topic", "priority", "source", "fresh",
    }  # fmt: skip
    assert {"200", "400", "401", "403", "429"} <= set(dashboard["responses"])
    answer = dashboard["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Dashboard"}
    what_if = schema["paths"]["/api/v1/reports/what-if/"]["get"]
    parameters = {p["name"]: p for p in what_if["parameters"]}
    assert parameters["plan"]["required"] is True
    assert {"first_response_hours", "resolution_hours", "days", "from", "to"} <= set(parameters)
    components = schema["components"]["schemas"]
    assert set(components["Dashboard"]["properties"]) == {
        "period", "filters", "funnel", "stage_times", "waiting_on_requester", "with_desk", "attainment",
        "rates", "trend", "teams", "agents", "slowest_topics", "computed_at",
    }  # fmt: skip
    assert components["Spread"]["properties"]["median_seconds"] == {
        "type": "number", "format": "double", "nullable": True, "readOnly": True,
        "description": "Null when count is 0.",
    }  # fmt: skip


def test_the_api_adds_no_query_to_the_domains_but_the_keys(lab, api, make_key, history):
    client = api(key=make_key(lab.jane, ApiKey.Scope.READ))
    asked = {"team": lab.online_banking.pk}
    client.get("/api/v1/reports/dashboard/", asked)  # the catalog cached
    with CaptureQueriesContext(connection) as domain:
        snapshots.dashboard(lab.jane, PeriodAsked(), ReportFilters(team_id=lab.online_banking.pk), fresh=True)
    with CaptureQueriesContext(connection) as answered:
        assert client.get("/api/v1/reports/dashboard/", {**asked, "fresh": "true"}).status_code == 200
    assert len(answered) == len(domain) + 1  # the key
    # Without "fresh", the figures computed a moment ago: the key and the kept figures.
    with CaptureQueriesContext(connection) as kept:
        assert client.get("/api/v1/reports/dashboard/", asked).status_code == 200
    assert len(kept) == 2


def test_the_figures_are_kept_for_a_few_minutes_unless_asked_fresh(lab, api, history, settings, time_machine):
    settings.REPORTS_MAX_AGE_SECONDS = 600
    client = api(lab.jane)
    first = client.get("/api/v1/reports/dashboard/").json()
    assert first["computed_at"] == LATER.isoformat().replace("+00:00", "Z")
    time_machine.move_to(LATER + timedelta(minutes=5), tick=False)
    services.ticket_claim(ticket=history[2], actor=lab.jane)  # the server ticket: open to assigned
    assert client.get("/api/v1/reports/dashboard/").json() == first
    fresh = client.get("/api/v1/reports/dashboard/", {"fresh": "true"}).json()
    assert fresh["computed_at"] == (LATER + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    counts = {row["state"]: row["count"] for row in fresh["funnel"]}
    assert counts["open"] == {row["state"]: row["count"] for row in first["funnel"]}["open"] - 1
    # Figures older than the age allowed are computed again when asked for.
    time_machine.move_to(LATER + timedelta(minutes=15, seconds=1), tick=False)
    later = client.get("/api/v1/reports/dashboard/").json()
    stamp = (LATER + timedelta(minutes=15, seconds=1)).isoformat().replace("+00:00", "Z")
    assert later["computed_at"] == stamp


@pytest.fixture
def openapi(history, api_schema):  # noqa: F811 (the imported fixture)
    """The API's schema for schemathesis, the history in the database (and the lab's tickets)."""
    return api_schema


@pytest.mark.parametrize("path", ["dashboard", "what-if"])
def test_the_answers_on_a_history_match_the_schema(lab, openapi, path):
    """Schemathesis rarely guesses an SLA plan's id: the what-if's answers are checked here."""
    headers = key_for(lab.jane, ApiKey.Scope.READ)
    plan = SLAPlan.objects.get(name="Default SLA")
    queries = {
        "dashboard": [{}, {"days": 7, "source": "email"}, {"from": "2026-11-30", "to": "2026-12-01"}],
        "what-if": [{"plan": plan.pk}, {"plan": plan.pk, "first_response_hours": 1, "resolution_hours": 2}],
    }[path]
    operation = openapi[f"/api/v1/reports/{path}/"]["GET"]
    for query in queries:
        answer = operation.Case(query=query).call_and_validate(headers=headers, checks=CHECKS)
        assert answer.status_code == 200
        data = answer.json()
        counted = data["tickets"] if path == "what-if" else sum(row["count"] for row in data["funnel"])
        assert counted > 0, query
