"""The console's queues: which tickets each lists for whom, the sidebar's counts, filters,
search, sorting, pages, the columns, and the cost of a page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.views.queues import PAGE_SIZE
from tests.factories import AgentFactory
from tickets import selectors, services
from tickets.models import NO_PRIORITY_RANK, HelpTopic, Priority, State, Ticket
from tickets.templatetags.helpdesk import count_label

ROW_NUMBER = re.compile(r'<td class="font-monospace"><a href="/agents/tickets/(\d+)/">#\1</a></td>')


def _url(key, **params):
    return reverse("agents:queue", args=[key]), params


def _get(client, key, **params):
    url, query = _url(key, **params)
    response = client.get(url, query)
    assert response.status_code == 200
    return response


def _numbers(response):
    """The ticket numbers of the page's rows, in order, as rendered."""
    numbers = ROW_NUMBER.findall(response.content.decode())
    assert numbers == [t.number for t in response.context["tickets"]]
    return numbers


def _subjects(client, key, **params):
    response = _get(client, key, **params)
    numbers = _numbers(response)
    return {t.subject for t in Ticket.objects.filter(number__in=numbers)}


def _counts(response):
    return {q["key"]: q["count"] for q in response.context["queues"]}


def _badges(response):
    """The sidebar as rendered: queue key -> the badge's text."""
    page = response.content.decode()
    nav = page.split('aria-label="Queues"', 1)[1].split("</nav>", 1)[0]
    return dict(re.findall(r'href="/agents/queues/(\w+)/".*?queue-count">([^<]*)</span>', nav, re.S))


# -- a ticket in every state ----------------------------------------------------------------------


@pytest.fixture
def world(lab, new_ticket):
    """Tickets in every state, in Support unless said otherwise; a few overdue.

    subject -> ticket, after all the moves.
    """
    john, jane = lab.john, lab.jane
    t = {}

    def make(subject, **kwargs):
        t[subject] = new_ticket(subject=subject, **kwargs)
        return t[subject]

    make("Plain open")
    make("Open and overdue")
    services.ticket_claim(ticket=make("Assigned to John, first response overdue"), actor=john)
    worked = make("John works on it")
    services.ticket_claim(ticket=worked, actor=john)
    services.ticket_start_work(ticket=worked, actor=john)
    waiting = make("Waiting for Karen")
    services.ticket_claim(ticket=waiting, actor=john)
    services.ticket_request_info(ticket=waiting, actor=john, message="Which browser?")
    escalated = make("Escalated to Online Banking")
    services.ticket_claim(ticket=escalated, actor=john)
    services.ticket_escalate(ticket=escalated, actor=john, team=lab.online_banking, summary="Needs them.")
    resolved = make("Resolved, due long ago")
    services.ticket_claim(ticket=resolved, actor=john)
    services.ticket_resolve(ticket=resolved, actor=john, message="Fixed.")
    closed = make("Resolved and closed")
    services.ticket_claim(ticket=closed, actor=john)
    services.ticket_resolve(ticket=closed, actor=john, message="Fixed.")
    services.ticket_close(ticket=closed, actor=john)
    services.ticket_cancel(ticket=make("Cancelled as spam"), actor=john, reason="Spam.")
    services.ticket_update_properties(ticket=make("A SysAdmins ticket"), actor=jane, department=lab.sysadmins)
    services.ticket_claim(ticket=make("Jane took it"), actor=jane)
    # Still being created: no agent sees it in any queue.
    Ticket.objects.create(subject="Never through intake", requester=lab.karen.requester)
    past = timezone.now() - timedelta(hours=2)
    late = ["Open and overdue", "Resolved, due long ago"]
    Ticket.objects.filter(subject__in=late).update(resolution_due=past)
    Ticket.objects.filter(subject="Assigned to John, first response overdue").update(first_response_due=past)
    return t


SUPPORT = {
    "Plain open",
    "Open and overdue",
    "Assigned to John, first response overdue",
    "John works on it",
    "Waiting for Karen",
    "Escalated to Online Banking",
    "Resolved, due long ago",
    "Resolved and closed",
    "Cancelled as spam",
    "Jane took it",
}
EXPECTED = {
    "john": {
        "unassigned": {"Plain open", "Open and overdue"},
        "mine": {"Assigned to John, first response overdue", "John works on it", "Waiting for Karen"},
        "teams": set(),
        "awaiting_user": {"Waiting for Karen"},
        "escalated": {"Escalated to Online Banking"},
        "overdue": {"Open and overdue", "Assigned to John, first response overdue"},
        "resolved": {"Resolved, due long ago"},
        "closed": {"Resolved and closed", "Cancelled as spam"},
        "all": SUPPORT,
    },
    "jane": {
        "unassigned": {"Plain open", "Open and overdue", "A SysAdmins ticket"},
        "mine": {"Jane took it"},
        "teams": {"Escalated to Online Banking"},
        "awaiting_user": {"Waiting for Karen"},
        "escalated": {"Escalated to Online Banking"},
        "overdue": {"Open and overdue", "Assigned to John, first response overdue"},
        "resolved": {"Resolved, due long ago"},
        "closed": {"Resolved and closed", "Cancelled as spam"},
        "all": SUPPORT | {"A SysAdmins ticket"},
    },
}


def test_every_queue_is_expected():
    assert set(EXPECTED["john"]) == set(EXPECTED["jane"]) == set(selectors.QUEUES)


@pytest.mark.parametrize("who", ["john", "jane"])
@pytest.mark.parametrize("key", list(selectors.QUEUES))
def test_each_queue_lists_exactly_its_tickets(client, lab, world, who, key):
    client.force_login(getattr(lab, who))
    assert _subjects(client, key) == EXPECTED[who][key]


@pytest.mark.parametrize("who", ["john", "jane"])
def test_the_sidebar_counts_match_the_lists(client, lab, world, who):
    client.force_login(getattr(lab, who))
    response = _get(client, "all")
    expected = {key: len(subjects) for key, subjects in EXPECTED[who].items()}
    assert _counts(response) == expected
    assert _badges(response) == {key: str(count) for key, count in expected.items()}
    for key in selectors.QUEUES:
        assert len(_numbers(_get(client, key))) == _counts(response)[key], key


def test_an_agent_with_no_department_or_team_sees_only_what_is_assigned_to_them(client, lab, world):
    loner = AgentFactory(username="loner", role="Agent")
    services.ticket_assign(ticket=world["Plain open"], actor=lab.jane, agent=loner)
    client.force_login(loner)
    assert _subjects(client, "all") == {"Plain open"}
    assert _subjects(client, "mine") == {"Plain open"}
    assert _subjects(client, "unassigned") == set()


def test_an_unknown_queue_is_404(client, lab):
    client.force_login(lab.john)
    assert client.get(reverse("agents:queue", args=["everything"])).status_code == 404


def test_the_home_page_is_the_unassigned_queue(client, lab, world):
    client.force_login(lab.john)
    home = client.get(reverse("agents:home"))
    assert home.context["current"] == "unassigned"
    assert _numbers(home) == _numbers(_get(client, "unassigned"))


# -- filters ---------------------------------------------------------------------------------------


@pytest.fixture
def varied(lab, world, new_ticket):
    """A few tickets that differ in one property each from the rest of the world."""
    phone = new_ticket(subject="Called in about the VPN", source=Ticket.Source.PHONE)
    topic = new_ticket(subject="Forgot my password", topic="Password Reset")
    urgent = world["Plain open"]
    services.ticket_update_properties(
        ticket=urgent, actor=lab.jane, priority=Priority.objects.get(name="Emergency")
    )
    return {"phone": phone, "topic": topic, "urgent": urgent}


def _filters(lab, world):
    return {
        "department": (lab.sysadmins.pk, {"A SysAdmins ticket"}),
        "team": (lab.online_banking.pk, {"Escalated to Online Banking"}),
        "agent": (lab.jane.pk, {"Jane took it"}),
        "priority": (Priority.objects.get(name="Emergency").pk, {"Plain open"}),
        "state": (State.IN_PROGRESS, {"John works on it"}),
        "help_topic": (lab.topic("Password Reset").pk, {"Forgot my password"}),
        "source": (Ticket.Source.PHONE, {"Called in about the VPN"}),
    }


FILTERS = ["department", "team", "agent", "priority", "state", "help_topic", "source"]


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_narrows_the_list(client, lab, world, varied, name):
    client.force_login(lab.jane)
    value, expected = _filters(lab, world)[name]
    everything = _subjects(client, "all")
    assert _subjects(client, "all", **{name: value}) == expected
    assert expected < everything


def test_every_filter_of_the_form_is_tested():
    from agents.forms import QueueFilterForm

    # "older" widens a search (tests/agents/test_search_recent.py).
    assert set(QueueFilterForm.base_fields) == {*FILTERS, "q", "sort", "older"}


def test_filters_combine_with_the_queue(client, lab, world, varied):
    client.force_login(lab.jane)
    assert _subjects(client, "unassigned", department=lab.support.pk) == {
        "Plain open",
        "Open and overdue",
        "Called in about the VPN",
        "Forgot my password",
    }
    assert _subjects(client, "closed", agent=lab.john.pk) == {"Resolved and closed"}


# -- search ----------------------------------------------------------------------------------------


@pytest.fixture
def searchable(lab, world, new_ticket, other_requester):
    printer = new_ticket(subject="Printer jams on every job")
    mallory = new_ticket(subject="Cannot sign in", requester=other_requester, actor=None)
    replied = world["John works on it"]
    services.ticket_reply(ticket=replied, actor=lab.john, body="Try the zebracrossing setting please.")
    noted = world["Waiting for Karen"]
    services.ticket_note(ticket=noted, actor=lab.john, body="Probably the xylophone module again.")
    return {"printer": printer, "mallory": mallory}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("number", "Plain open"),
        ("#number", "Plain open"),
        ("Printer", "Printer jams on every job"),
        ("mallory@example.org", "Cannot sign in"),
        ("MALLORY@example.org", "Cannot sign in"),
        ("zebracrossing", "John works on it"),
        ("xylophone", "Waiting for Karen"),
    ],
)
def test_search_finds_by_number_subject_requester_reply_and_note(
    client, lab, world, searchable, query, expected
):
    client.force_login(lab.john)
    query = query.replace("number", world["Plain open"].number)
    assert _subjects(client, "all", q=query) == {expected}


def test_search_finds_nothing_for_an_unknown_word(client, lab, world, searchable):
    client.force_login(lab.john)
    response = _get(client, "all", q="unobtainium")
    assert _numbers(response) == []
    assert "No tickets here with these filters." in response.content.decode()


def test_search_does_not_reach_tickets_the_agent_cannot_see(client, lab, world, searchable):
    client.force_login(lab.john)
    hidden = world["A SysAdmins ticket"]
    assert _subjects(client, "all", q=hidden.number) == set()
    assert _subjects(client, "all", q="SysAdmins") == set()


# -- sorting ---------------------------------------------------------------------------------------


@pytest.fixture
def four(lab, new_ticket):
    """Four tickets whose every sort order differs: A, B, C, D in order of creation."""
    now = timezone.now()
    priorities = {p.name: p for p in Priority.objects.all()}
    values = {
        "A": (now - timedelta(hours=1), now + timedelta(hours=5), priorities["Low"]),
        "B": (now - timedelta(hours=3), None, priorities["Emergency"]),
        "C": (now - timedelta(hours=2), now + timedelta(hours=1), None),
        "D": (now - timedelta(hours=4), now + timedelta(hours=3), priorities["Normal"]),
    }
    tickets = {}
    for name, (activity, due, priority) in values.items():
        tickets[name] = new_ticket(subject=f"Ticket {name}")
        Ticket.objects.filter(pk=tickets[name].pk).update(
            last_activity_at=activity,
            resolution_due=due,
            priority=priority,
            priority_rank=priority.rank if priority else NO_PRIORITY_RANK,
        )
    return tickets


SORTED = {
    "activity": "ACBD",
    "oldest": "DBCA",
    "due": "CDAB",
    "priority": "BDAC",
    "number": "DCBA",
}


def test_every_sort_is_tested():
    assert set(SORTED) == set(selectors.SORTS)


@pytest.mark.parametrize("sort", list(SORTED))
def test_each_sort_orders_the_rows_as_named(client, lab, four, sort):
    client.force_login(lab.john)
    numbers = _numbers(_get(client, "all", sort=sort))
    assert numbers == [four[name].number for name in SORTED[sort]]


def test_the_default_order_is_the_latest_activity_first(client, lab, four):
    client.force_login(lab.john)
    assert _numbers(_get(client, "all")) == [four[name].number for name in SORTED["activity"]]


# -- pages and bad input ---------------------------------------------------------------------------


def test_26_tickets_make_two_pages(client, lab, new_ticket):
    for i in range(PAGE_SIZE + 1):
        new_ticket(subject=f"Problem {i}")
    client.force_login(lab.john)
    first = _get(client, "unassigned")
    page = first.content.decode()
    assert len(_numbers(first)) == 25
    assert ">Next</a>" in page and ">Previous</a>" not in page
    assert 'href="?page=2">Next' in page
    second = _get(client, "unassigned", page=2)
    assert len(_numbers(second)) == 1
    assert ">Next</a>" not in second.content.decode() and ">Previous</a>" in second.content.decode()
    assert set(_numbers(first)).isdisjoint(_numbers(second))
    assert Ticket.objects.filter(number__in=_numbers(first) + _numbers(second)).count() == 26


def test_the_next_link_keeps_the_filters(client, lab, new_ticket):
    for i in range(PAGE_SIZE + 1):
        new_ticket(subject=f"Problem {i}")
    client.force_login(lab.john)
    page = _get(client, "all", q="Problem", sort="oldest").content.decode()
    assert 'href="?q=Problem&amp;sort=oldest&amp;page=2">Next' in page


def test_25_tickets_make_one_page(client, lab, new_ticket):
    for i in range(PAGE_SIZE):
        new_ticket(subject=f"Problem {i}")
    client.force_login(lab.john)
    response = _get(client, "unassigned")
    assert len(_numbers(response)) == 25 and ">Next</a>" not in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-3"},
        {"page": "0"},
        {"page": "99999999999999999999"},
        {"page": "1.5"},
        {"department": "abc"},
        {"department": "999999"},
        {"team": "-1"},
        {"agent": "x"},
        {"priority": "1; DROP TABLE"},
        {"state": "bogus"},
        {"state": "new"},
        {"help_topic": "[]"},
        {"source": "fax"},
        {"sort": "subject"},
        {"q": "x" * 500},
        {"q": "\x00"},
        {"q": "#"},
        {"q": "'\"<>&|!:*()"},
    ],
)
def test_garbage_in_the_query_string_does_not_crash(client, lab, world, params):
    client.force_login(lab.jane)
    _get(client, "all", **params)


def test_a_malformed_filter_value_does_not_drop_the_other_filters(client, lab, world):
    client.force_login(lab.jane)
    assert _subjects(client, "all", q="Waiting", priority="x") == {"Waiting for Karen"}


# -- the closed count's cap -------------------------------------------------------------------------


def test_the_count_label_caps_at_1000():
    assert selectors.COUNT_CAP == 1_000
    assert count_label(1_000) == "1000"
    assert count_label(1_001) == "1000+"


def test_a_closed_count_above_the_cap_shows_the_cap_and_a_plus(client, lab, new_ticket, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    client.force_login(lab.john)
    for i in range(2):
        services.ticket_cancel(ticket=new_ticket(subject=f"Spam {i}"), actor=lab.john, reason="Spam.")
    assert _badges(_get(client, "closed"))["closed"] == "2"
    services.ticket_cancel(ticket=new_ticket(subject="More spam"), actor=lab.john, reason="Spam.")
    new_ticket(subject="Real")
    badges = _badges(_get(client, "closed"))
    assert badges["closed"] == "2+"
    assert badges["all"] == "2+" and badges["unassigned"] == "1"


# -- the cost of a page ----------------------------------------------------------------------------


def _make_mixed(lab, new_ticket, count, start=0):
    """Tickets in turn open and overdue, escalated to Jane's team and claimed by her, waiting,
    in progress, resolved, closed, assigned to the team, cancelled."""
    john, jane = lab.john, lab.jane
    past = timezone.now() - timedelta(hours=1)
    for i in range(start, start + count):
        kind = i % 8
        ticket = new_ticket(subject=f"Ticket {i}", topic="Report a Problem / Access Issue")
        if kind == 0:
            Ticket.objects.filter(pk=ticket.pk).update(resolution_due=past)
        elif kind == 1:
            services.ticket_claim(ticket=ticket, actor=john)
            services.ticket_escalate(ticket=ticket, actor=john, team=lab.online_banking, summary="Theirs.")
            services.ticket_claim(ticket=ticket, actor=jane)
        elif kind in (2, 3, 4, 5):
            services.ticket_claim(ticket=ticket, actor=jane if kind == 3 else john)
            if kind == 2:
                services.ticket_request_info(ticket=ticket, actor=john, message="Which browser?")
            elif kind == 3:
                services.ticket_start_work(ticket=ticket, actor=jane)
            else:
                services.ticket_resolve(ticket=ticket, actor=john, message="Fixed.")
                if kind == 5:
                    services.ticket_close(ticket=ticket, actor=john)
        elif kind == 6:
            services.ticket_assign(ticket=ticket, actor=john, team=lab.online_banking)
        else:
            services.ticket_cancel(ticket=ticket, actor=john, reason="Duplicate.")


def _query_counts(client, django_assert_max_num_queries):
    counts = {}
    for key in selectors.QUEUES:
        with django_assert_max_num_queries(24) as captured:
            assert client.get(reverse("agents:queue", args=[key])).status_code == 200
        counts[key] = len(captured)
    return counts


@pytest.mark.parametrize("who", ["john", "jane"])
def test_every_queue_costs_the_same_at_8_and_40_tickets(
    client, lab, new_ticket, django_assert_max_num_queries, who
):
    client.force_login(getattr(lab, who))
    # One of each kind first, so every queue has rows (an empty page skips the lookups of
    # the rows' topics, teams and agents): then 32 more must not add a query.
    _make_mixed(lab, new_ticket, 8)
    few = _query_counts(client, django_assert_max_num_queries)
    _make_mixed(lab, new_ticket, 32, start=8)
    many = _query_counts(client, django_assert_max_num_queries)
    assert few == many


# -- the columns -----------------------------------------------------------------------------------


def _row(response, ticket):
    page = response.content.decode()
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")
    (row,) = [r for r in rows if f">#{ticket.number}</a>" in r]
    return row


def test_the_columns_show_the_ticket(client, lab, new_ticket):
    ticket = new_ticket(subject="VPN drops every hour", topic="Report a Problem / Access Issue")
    high = Priority.objects.get(name="High")
    services.ticket_update_properties(ticket=ticket, actor=lab.jane, priority=high)
    services.ticket_assign(ticket=ticket, actor=lab.jane, agent=lab.john, team=lab.online_banking)
    due = timezone.now() + timedelta(hours=3, minutes=30)
    Ticket.objects.filter(pk=ticket.pk).update(
        resolution_due=due, last_activity_at=timezone.now() - timedelta(hours=2, minutes=5)
    )
    client.force_login(lab.john)
    row = _row(_get(client, "all"), ticket)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    text = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
    assert text[1:] == [
        f"#{ticket.number}",
        "VPN drops every hour",
        "Karen",
        "Report a Problem / Access Issue",
        "Support · Default SLA",
        "High",
        "Assigned",
        "John Doe / Online Banking",
        "in 3 h 29 min",
        "2 h 5 min ago",
    ]
    assert f'value="{ticket.pk}"' in cells[0]
    assert f'href="{reverse("agents:ticket", args=[ticket.number])}"' in cells[2]
    assert f"priority-{ticket.priority_id}" in cells[6] and "state-assigned" in cells[7]
    assert "overdue" not in cells[9]


def test_an_unassigned_ticket_says_so_and_an_overdue_one_is_marked(client, lab, new_ticket):
    ticket = new_ticket(subject="Late one")
    Ticket.objects.filter(pk=ticket.pk).update(resolution_due=timezone.now() - timedelta(minutes=90))
    client.force_login(lab.john)
    row = _row(_get(client, "unassigned"), ticket)
    assert "Unassigned" in row
    (due,) = re.findall(r'<span class="([^"]*)" title="[^"]*">overdue by 1 h 30 min</span>', row)
    assert "overdue" in due.split()


def test_a_closed_ticket_shows_no_due_time(client, lab, new_ticket):
    ticket = new_ticket(subject="Done")
    services.ticket_cancel(ticket=ticket, actor=lab.john, reason="Spam.")
    Ticket.objects.filter(pk=ticket.pk).update(resolution_due=timezone.now() - timedelta(hours=1))
    client.force_login(lab.john)
    row = _row(_get(client, "closed"), ticket)
    assert "overdue" not in row


def test_markup_in_a_subject_or_requester_name_is_escaped(client, lab, new_ticket, other_requester):
    other_requester.name = "<i>Mallory</i>"
    other_requester.save()
    ticket = new_ticket(subject="<script>alert(1)</script><b>bold</b>", requester=other_requester, actor=None)
    client.force_login(lab.john)
    page = _get(client, "all").content.decode()
    row = _row(_get(client, "all"), ticket)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in row
    assert "&lt;i&gt;Mallory&lt;/i&gt;" in row
    assert "<script>alert" not in page and "<b>bold" not in page and "<i>Mallory" not in page


def test_a_queue_of_tickets_with_three_level_topics_costs_the_same_at_3_and_33(
    client, lab, new_ticket, django_assert_max_num_queries
):
    HelpTopic.objects.create(name="VPN", parent=lab.topic("Report a Problem / Access Issue"))
    client.force_login(lab.john)
    for i in range(3):
        new_ticket(subject=f"VPN {i}", topic="Report a Problem / Access Issue / VPN")
    url = reverse("agents:queue", args=["unassigned"])
    client.get(url)  # the first page reads the configuration tables into the cache (tickets.catalog)
    with django_assert_max_num_queries(60) as few:
        page = client.get(url).content.decode()
    assert "Report a Problem / Access Issue / VPN" in page
    for i in range(30):
        new_ticket(subject=f"More VPN {i}", topic="Report a Problem / Access Issue / VPN")
    with django_assert_max_num_queries(60) as many:
        client.get(url)
    assert len(few) == len(many)
