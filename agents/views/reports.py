"""The supervisors' reports: the lifecycle dashboard, each of its tables as CSV, and the SLA
what-if. The figures are computed in ``tickets.reports``; these views read the period and the
filters, ask for them and show them. Only staff with the "view reports" permission
(Supervisor, Supreme Admin) may open them. Their reads may be served by the read replica
(``tickets.replica``; the permission is checked on the primary first)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from agents.access import agent_required, is_agent
from agents.reports_forms import ReportForm, WhatIfForm
from agents.views import kb
from tickets import selectors
from tickets.replica import reading_from_replica
from tickets.reports import csvexport, sla, snapshots
from tickets.reports.csvexport import hours
from tickets.reports.types import Attainment, Dashboard, LoadRow, Spread

PERMISSION = "tickets.view_reports"


def reports_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-out visitors go to the console's sign-in; anyone signed in without the permission
    (a requester, a View Only agent, an agent) is refused with 403."""

    signed_in = agent_required(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not (is_agent(user) and user.has_perm(PERMISSION)):
            raise PermissionDenied(gettext("Only supervisors may read the reports."))
        return signed_in(request, *args, **kwargs)

    return wrapped


def _query(params: QueryDict) -> str:
    """The period and filters as sent, for the links to the exports and the other page."""
    keep = [*ReportForm.FILTERS, "period"]
    if params.get("period") == "custom":
        keep += ["start", "end"]
    query = params.copy()
    for name in list(query):
        if name not in keep or not query.get(name):
            query.pop(name)
    return query.urlencode()


def _dashboard(request: HttpRequest, form: ReportForm) -> Dashboard:
    """The figures as last computed (at most a few minutes ago), or now with ``?fresh=1``."""
    fresh = request.GET.get("fresh") == "1"
    return snapshots.dashboard(request.user, form.period_asked(), form.filters_value(), fresh=fresh)


def _is_empty(dashboard: Dashboard) -> bool:
    """Nothing happened in the period: no ticket created, closed, moved or answered."""
    return not (
        any(count for _, _, count in dashboard.funnel)
        or any(day.created or day.closed for day in dashboard.trend)
        or any(stage.spread.count for stage in dashboard.stage_times)
        or any(target.total for target in dashboard.attainment)
        or any(row.resolved for row in dashboard.agents + dashboard.teams + dashboard.slowest_topics)
    )


@reports_required
@reading_from_replica()
def dashboard(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET, choices=selectors.console_choices())
    found = _dashboard(request, form) if form.is_valid() else None
    context = {
        "form": form,
        "dashboard": found,
        "empty": found is not None and _is_empty(found),
        "query": _query(request.GET) if found is not None else "",
        "kb": kb.knowledge_base(found.period) if found is not None else None,
    }
    return render(request, "agents/reports.html", context, status=200 if found is not None else 400)


# -- the tables as CSV ------------------------------------------------------------------------------

# The CSV's headers are for people (translated); the key columns' values (a stage, a target, a
# rate) stay the machine's names.
LOAD_HEADER = [
    _("Id"),
    _("Name"),
    _("Open now"),
    pgettext_lazy("number of tickets resolved", "Resolved"),
    _("Median resolution (s)"),
    _("Median resolution (h)"),
]


def _load(rows: Iterable[LoadRow]) -> list[list[Any]]:
    return [
        [row.key_id, row.name, row.open_now, row.resolved, (median := row.median_resolution), hours(median)]
        for row in rows
    ]


def _spread(key: str, label: str, spread: Spread) -> list[Any]:
    return [key, label, spread.count, spread.median, hours(spread.median), spread.p90, hours(spread.p90)]


TABLES: dict[str, tuple[list[Any], Callable[[Dashboard], list[list[Any]]]]] = {
    "funnel": (
        [_("Stage"), _("Label"), _("Tickets created in the period, by stage now")],
        lambda d: [[state, label, count] for state, label, count in d.funnel],
    ),
    "stages": (
        [
            _("Stage"),
            _("Label"),
            _("Count"),
            _("Median (s)"),
            _("Median (h)"),
            _("90th percentile (s)"),
            _("90th percentile (h)"),
        ],
        lambda d: [
            # Translators: a row of the CSV of the time in each stage; stage is its name ("Open").
            *(_spread(stage.state, gettext("Time in %(stage)s") % {"stage": stage.label}, stage.spread)
              for stage in d.stage_times),
            _spread("waiting_on_requester", gettext("Waiting on the requester"), d.waiting_on_requester),
            _spread("with_desk", gettext("With the desk"), d.with_desk),
        ],
    ),
    "attainment": (
        [
            pgettext_lazy("SLA target", "Target"),
            _("Label"),
            pgettext_lazy("SLA target met, a count", "Met"),
            pgettext_lazy("SLA target missed, a count", "Missed"),
            _("Total"),
            _("Met (%)"),
        ],
        lambda d: [[a.target, a.label, a.met, a.missed, a.total, a.percent] for a in d.attainment],
    ),
    "rates": (
        [
            _("Rate"),
            _("Label"),
            _("Counted"),
            pgettext_lazy("the whole a rate is counted over", "Of"),
            _("Rate (%)"),
            _("What it counts"),
        ],
        lambda d: [[r.key, r.label, r.numerator, r.denominator, r.percent, r.explained] for r in d.rates],
    ),
    "trend": (
        [_("Day"), pgettext_lazy("number of tickets created", "Created"), _("Closed or cancelled")],
        lambda d: [[day.day, day.created, day.closed] for day in d.trend],
    ),
    "teams": (LOAD_HEADER, lambda d: _load(d.teams)),
    "agents": (LOAD_HEADER, lambda d: _load(d.agents)),
    "topics": (LOAD_HEADER, lambda d: _load(d.slowest_topics)),
}


@reports_required
@reading_from_replica()
def export(request: HttpRequest, table: str) -> HttpResponse | StreamingHttpResponse:
    """One of the dashboard's tables as CSV, for the same period and filters."""
    if table not in TABLES and table != kb.TABLE:
        raise Http404(gettext("No such table."))
    form = ReportForm(request.GET, choices=selectors.console_choices())
    if not form.is_valid():
        errors = [f"{name}: {' '.join(messages)}" for name, messages in form.errors.items()]
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain; charset=utf-8")
    if table == kb.TABLE:  # the knowledge base's numbers: over the period, not the tickets
        return kb.numbers_csv(form.period_value(timezone.now()))
    found = _dashboard(request, form)
    header, rows = TABLES[table]
    # Named by its first and last day (the period's end is not in it).
    first = timezone.localdate(found.period.start)
    last = timezone.localdate(found.period.end - timedelta(microseconds=1))
    name = f"{table}-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return csvexport.csv_download(name, header, rows(found))


# -- the SLA what-if --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    actual: Attainment
    replayed: Attainment

    @property
    def difference(self) -> float | None:
        if self.actual.percent is None or self.replayed.percent is None:
            return None
        return round(self.replayed.percent - self.actual.percent, 1)


@reports_required
@reading_from_replica()
def what_if(request: HttpRequest) -> HttpResponse:
    choices = selectors.console_choices()
    # Until a plan is chosen the page shows the form only, with the default plan picked and
    # the period and filters it was linked with (from the dashboard).
    asked = "plan" in request.GET
    initial = {} if asked else {name: request.GET.get(name) for name in request.GET}
    form = WhatIfForm(request.GET if asked else None, initial=initial, choices=choices)
    context: dict[str, Any] = {"form": form, "what_if": None, "query": _query(request.GET)}
    if asked and form.is_valid():
        data = form.cleaned_data
        period = form.period_value()
        result = sla.what_if(
            request.user,
            period,
            form.filters_value(),
            plan=data["plan"],
            first_response_hours=data["first_response_hours"],
            resolution_hours=data["resolution_hours"],
        )
        context.update(
            what_if=result,
            period=period,
            comparison=[Comparison(a, r) for a, r in zip(result.actual, result.replayed, strict=False)],
        )
    context["plan_fields"] = [form["plan"], form["first_response_hours"], form["resolution_hours"]]
    status = 400 if asked and not form.is_valid() else 200
    return render(request, "agents/reports_what_if.html", context, status=status)
