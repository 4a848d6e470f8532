"""The console's queues: counts in the sidebar, a filtered and sorted page of tickets, bulk
actions on the tickets ticked in it, and the whole queue as CSV."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agents.access import agent_required
from agents.forms import BulkForm, QueueFilterForm
from agents.templatetags.charts import grouped
from tickets import linked, selectors, services
from tickets.models import Priority, Ticket, display_name
from tickets.replica import each_from_replica, reading_from_replica
from tickets.reports.csvexport import csv_download

PAGE_SIZE = 25
# Past this page a queue asks for a filter or a search instead of scanning further.
MAX_PAGE = 400


def sidebar(user: object) -> list[dict[str, object]]:
    counts = selectors.queue_counts(user)
    return [
        {"key": key, "label": label, "count": counts[key], "capped": counts[key] > selectors.COUNT_CAP}
        for key, label in selectors.QUEUES.items()
    ]


def _queue_tickets(
    request: HttpRequest, key: str, form: QueueFilterForm
) -> tuple[QuerySet[Ticket], selectors.QueueFilters]:
    """The queue's tickets for this user, with the filters, search and sort of the request
    (the page and its CSV export alike), and the filters as read."""
    searching = bool(request.GET.get("q", "").strip())
    filters = form.filters(search_from=selectors.search_window() if searching else None)
    tickets = selectors.ticket_queue(
        request.user, queue=key, filters=filters, sort=form.sort_key(), related=False
    )
    return tickets, filters


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), MAX_PAGE))
    except ValueError:
        return 1


@agent_required
def home(request: HttpRequest) -> HttpResponse:
    return queue(request, "unassigned")


@agent_required
def queue(request: HttpRequest, key: str) -> HttpResponse:
    if key not in selectors.QUEUES:
        raise Http404("No such queue.")
    choices = selectors.console_choices()
    form = QueueFilterForm(request.GET or None, choices=choices)
    tickets, filters = _queue_tickets(request, key, form)
    number = _page_number(request)
    start = (number - 1) * PAGE_SIZE
    # One row more than a page tells whether there is a next page, without counting them all.
    rows = selectors.queue_page(tickets, start, start + PAGE_SIZE + 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "queues": sidebar(request.user),
        "current": key,
        "title": selectors.QUEUES[key],
        "form": form,
        "tickets": rows[:PAGE_SIZE],
        # "↳ #N" beside a report: its incident's number (one query, none without reports).
        "incidents": linked.incident_numbers(rows[:PAGE_SIZE]),
        "page": number,
        "has_next": len(rows) > PAGE_SIZE and number < MAX_PAGE,
        "has_previous": number > 1,
        "query": query.urlencode(),
        "bulk_form": BulkForm(choices=choices),
        # Words were looked for in the newest tickets only: the page offers all of them.
        "search_recent": grouped(selectors.SEARCH_RECENT) if filters.search_from is not None else None,
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
    }
    return render(request, "agents/queue.html", context)


# An export is one streamed query; past this many rows it says where it stopped.
EXPORT_CAP = 10_000
EXPORT_BATCH = 500
# Who may export a queue: the agents who work tickets, supervisors and admins. A View Only
# agent reads the queue's pages but takes no export (issue 17: no export for View Only).
EXPORT_PERMISSION = "tickets.work_ticket"
EXPORT_HEADER = [
    gettext_lazy("Number"),
    gettext_lazy("Subject"),
    gettext_lazy("Stage"),
    gettext_lazy("Requester"),
    gettext_lazy("Requester email"),
    gettext_lazy("Department"),
    gettext_lazy("Team"),
    gettext_lazy("Assigned to"),
    gettext_lazy("Priority"),
    gettext_lazy("Created"),
    gettext_lazy("Last activity"),
    gettext_lazy("First response due"),
    gettext_lazy("Resolution due"),
]


def _export_row(ticket: Ticket) -> list[Any]:
    return [
        ticket.number,
        ticket.subject,
        ticket.get_state_display(),
        ticket.requester.name,
        ticket.requester.email,
        ticket.department.name if ticket.department else None,
        ticket.team.name if ticket.team else None,
        display_name(ticket.assignee) if ticket.assignee else None,
        ticket.priority.name if ticket.priority else None,
        ticket.created_at,
        ticket.last_activity_at,
        ticket.first_response_due,
        ticket.resolution_due,
    ]


def _export_rows(tickets: QuerySet[Ticket], cut_line: str) -> Iterator[list[Any]]:
    """The rows, read by one query through a cursor (a batch at a time, each batch's small
    tables from the cached catalog), and a last line (``cut_line``) if the cap cut the queue
    short."""
    batch: list[Ticket] = []
    cut = False
    for count, ticket in enumerate(tickets[: EXPORT_CAP + 1].iterator(chunk_size=EXPORT_BATCH)):
        if count == EXPORT_CAP:
            cut = True
            break
        batch.append(ticket)
        if len(batch) == EXPORT_BATCH:
            yield from map(_export_row, selectors.attach_related(batch))
            batch = []
    yield from map(_export_row, selectors.attach_related(batch))
    if cut:
        yield [cut_line]


@agent_required
def queue_export(request: HttpRequest, key: str) -> HttpResponse:
    """The queue as CSV, with the page's filters, search and sort: the tickets this user may
    see, at most ``EXPORT_CAP``, streamed. Anyone but staff is sent to sign in, as on every
    console page; an agent without ``EXPORT_PERMISSION`` is refused (403). Read from the
    replica, if there is one (the permission on the primary first), the rows too, though they
    are read after the view has returned."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied("You may not export tickets.")
    if key not in selectors.QUEUES:
        raise Http404("No such queue.")
    with reading_from_replica():
        form = QueueFilterForm(request.GET or None, choices=selectors.console_choices())
        tickets, _filters = _queue_tickets(request, key, form)
    filename = f"{key}-tickets-{timezone.localdate():%Y-%m-%d}.csv"
    # Translated now, in the request's language: the rows are written after the view returns.
    header = [str(name) for name in EXPORT_HEADER]
    cut_line = _("Only the first %(cap)s tickets are here: narrow the filters for the rest.") % {
        "cap": grouped(EXPORT_CAP)
    }
    return csv_download(filename, header, each_from_replica(_export_rows(tickets, cut_line)))


@agent_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Run one action on the ticked tickets; report each ticket's outcome."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or [_("Tick at least one ticket and choose an action.")]:
            messages.error(request, error)
        return redirect(back or "agents:home")
    data = form.cleaned_data
    tickets = list(selectors.ticket_list_for_agent(request.user).filter(pk__in=data["tickets"]))
    hidden = len(set(data["tickets"])) - len(tickets)
    kwargs: dict[str, object] = {}
    if data["action"] == "assign":
        kwargs = {"agent": data["agent"], "team": data["team"]}
    elif data["action"] in ("close", "cancel"):
        kwargs = {"reason": data["reason"]}
    elif data["action"] == "link_incident":
        incident = selectors.tickets_visible_to(request.user).filter(number=data["incident"]).first()
        if incident is None:
            wanted = data["incident"]
            nothing = _("No ticket #%(number)s among those you can see: nothing was linked.")
            messages.error(request, nothing % {"number": wanted})
            return redirect(back or "agents:home")
        kwargs = {"incident": incident}
    outcomes = services.tickets_bulk(tickets=tickets, actor=request.user, action=data["action"], **kwargs)
    done = [o for o in outcomes if o.ok]
    if done:
        done_text = _("%(done)s of %(count)s tickets: done.")
        messages.success(request, done_text % {"done": len(done), "count": len(outcomes) + hidden})
    for outcome in outcomes:
        if not outcome.ok:
            # Translators: a ticket number, then why the action was refused on it.
            error = _("#%(number)s: %(error)s")
            messages.error(request, error % {"number": outcome.ticket.number, "error": outcome.message})
    if hidden:
        messages.error(
            request, _("%(count)s of the tickets do not exist or are not yours to see.") % {"count": hidden}
        )
    return redirect(back or "agents:home")


_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$")


def _luminance(colour: str) -> float:
    """The relative luminance of a ``#rgb`` or ``#rrggbb`` colour, as WCAG defines it."""
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = []
    for start in (0, 2, 4):
        value = int(digits[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def text_colour_on(colour: str) -> str:
    """White text on a priority's colour where it reads at WCAG AA's 4.5:1, black otherwise (an
    admin may pick a light colour, say orange or yellow, that white text would vanish on)."""
    return "#fff" if 1.05 / (_luminance(colour) + 0.05) >= 4.5 else "#000"


@agent_required
def priority_styles(request: HttpRequest) -> HttpResponse:
    """The priorities' colours as a style sheet: the CSP allows no inline styles."""
    rules = [
        f".priority-{p.pk} {{ background: {p.colour}; color: {text_colour_on(p.colour)}; }}"
        for p in Priority.objects.all()
        if _COLOUR.match(p.colour)
    ]
    response = HttpResponse("\n".join(rules), content_type="text/css")
    response["Cache-Control"] = "private, max-age=60"
    return response

