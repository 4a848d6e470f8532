"""GET /tickets/: what each caller may see, the console's filters and sorts, cursor pages that
neither skip nor repeat, 400 on a bad filter, and a query count that does not grow with the
number of tickets."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.serializers.tickets import AGENT_TICKET_FIELDS, REQUESTER_TICKET_FIELDS
from tickets import selectors, services
from tickets.models import ApiKey, Priority, State, Ticket

LIST = "/api/v1/tickets/"


def numbers(answer):
    assert answer.status_code == 200, answer.json()
    return [row["number"] for row in answer.json()["results"]]


def every_page(client, **params):
    """The numbers of every page, following `next`, and how many pages there were."""
    found, pages, answer = [], 0, client.get(LIST, params)
    while True:
        found += numbers(answer)
        pages += 1
        if answer.json()["next"] is None:
            return found, pages
        answer = client.get(answer.json()["next"])


@pytest.fixture
def tickets(lab, karen, new_ticket):
    """Eight tickets of Karen's in Support: varied activity times, priorities (one without),
    due times (one resolved: no due time) and states."""
    made = [new_ticket(subject=f"Ticket {i}") for i in range(8)]
    low, high = Priority.objects.get(name="Low"), Priority.objects.get(name="High")
    services.ticket_update_properties(ticket=made[1], actor=lab.john, priority=high)
    services.ticket_update_properties(ticket=made[2], actor=lab.john, priority=None)
    services.ticket_update_properties(ticket=made[3], actor=lab.john, priority=low)
    services.ticket_claim(ticket=made[4], actor=lab.john)
    services.ticket_resolve(ticket=made[4], actor=lab.john, message="Done")
    # Two tickets at the same moment: the id breaks the tie.
    now = timezone.now()
    Ticket.objects.filter(pk__in=[made[5].pk, made[6].pk]).update(last_activity_at=now - timedelta(hours=1))
    Ticket.objects.filter(pk=made[7].pk).update(resolution_due=None)
    return made


def test_an_agent_lists_the_tickets_of_their_departments(lab, api, new_ticket, stranger):
    mine = new_ticket(subject="In Support")
    services.ticket_update_properties(
        ticket=new_ticket(subject="Moved"), actor=lab.jane, department=lab.sysadmins
    )
    answer = api(lab.john).get(LIST)
    assert numbers(answer) == [mine.number]
    assert tuple(answer.json()["results"][0]) == AGENT_TICKET_FIELDS and answer.json()["next"] is None
    assert len(numbers(api(lab.jane).get(LIST))) == 2
    assert numbers(api(stranger).get(LIST)) == []


def test_a_key_with_a_department_lists_only_that_departments_tickets(lab, api, make_key, new_ticket):
    support = new_ticket(subject="In Support")
    services.ticket_update_properties(
        ticket=new_ticket(subject="Moved"), actor=lab.jane, department=lab.sysadmins
    )
    key = make_key(lab.jane, ApiKey.Scope.READ, department=lab.support)
    assert numbers(api(key=key).get(LIST)) == [support.number]


def test_a_requester_lists_their_own_tickets_newest_activity_first(lab, api, new_ticket, make_key):
    first, second = new_ticket(subject="First"), new_ticket(subject="Second")
    services.requester_get_or_create(email="ken@example.com", name="Ken")
    new_ticket(subject="Ken's", requester=lab.ken.requester, actor=lab.ken)
    services.ticket_reply(ticket=first, actor=lab.jane, body="Hello")  # newest activity now

    answer = api(lab.karen).get(LIST)

    assert numbers(answer) == [first.number, second.number]
    assert tuple(answer.json()["results"][0]) == REQUESTER_TICKET_FIELDS
    assert numbers(api(key=make_key(lab.karen, ApiKey.Scope.READ)).get(LIST)) == [first.number, second.number]
    services.ticket_claim(ticket=second, actor=lab.john)
    assert numbers(api(lab.karen).get(LIST, {"state": "assigned"})) == [second.number]


def test_the_consoles_filters_apply(lab, api, tickets):
    john = api(lab.john)
    high = Priority.objects.get(name="High")
    assert numbers(john.get(LIST, {"priority": high.pk})) == [tickets[1].number]
    assert numbers(john.get(LIST, {"state": "resolved"})) == [tickets[4].number]
    assert numbers(john.get(LIST, {"queue": "resolved"})) == [tickets[4].number]
    assert numbers(john.get(LIST, {"queue": "mine"})) == []
    assert numbers(john.get(LIST, {"q": "Ticket 3"})) == [tickets[3].number]
    assert numbers(john.get(LIST, {"agent": lab.john.pk})) == [tickets[4].number]
    assert numbers(john.get(LIST, {"source": "email"})) == []
    assert len(numbers(john.get(LIST, {"department": lab.support.pk}))) == 8
    assert numbers(john.get(LIST, {"team": lab.online_banking.pk})) == []
    topic = lab.topic("Report a Problem")
    assert len(numbers(john.get(LIST, {"help_topic": topic.pk}))) == 8


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_cursor_pages_follow_the_sort_without_skipping_or_repeating(lab, api, tickets, sort):
    john = api(lab.john)
    whole = numbers(john.get(LIST, {"sort": sort, "page_size": 100}))
    expected = [t.number for t in selectors.ticket_queue(lab.john, sort=sort)]
    assert whole == expected and len(whole) == 8

    paged, pages = every_page(john, sort=sort, page_size=3)

    assert paged == whole and pages == 3


def test_the_due_sort_puts_tickets_without_a_due_time_last(lab, api, tickets):
    paged, _ = every_page(api(lab.john), sort="due", page_size=1)
    assert set(paged[-2:]) == {tickets[4].number, tickets[7].number}


def test_the_priority_sort_puts_tickets_without_a_priority_last(lab, api, tickets):
    paged, _ = every_page(api(lab.john), sort="priority", page_size=2)
    assert paged[0] == tickets[1].number and paged[-1] == tickets[2].number


def test_a_requesters_pages(lab, api, tickets):
    paged, pages = every_page(api(lab.karen), page_size=5)
    assert paged == [t.number for t in Ticket.objects.order_by("-last_activity_at", "-id")] and pages == 2


def test_next_keeps_the_filters(lab, api, tickets):
    answer = api(lab.john).get(LIST, {"state": "open", "page_size": 2, "sort": "number"})
    assert "state=open" in answer.json()["next"] and "sort=number" in answer.json()["next"]
    paged, _ = every_page(api(lab.john), state="open", page_size=2, sort="number")
    assert len(paged) == 7 and tickets[4].number not in paged


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"priority": "high"}, "priority"),
        ({"department": "-1"}, "department"),
        ({"team": str(2**64)}, "team"),
        ({"state": "lost"}, "state"),
        ({"queue": "everything"}, "queue"),
        ({"sort": "random"}, "sort"),
        ({"source": "fax"}, "source"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_a_bad_filter_is_400_naming_it(lab, api, params, field):
    answer = api(lab.john).get(LIST, params)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and list(answer.json()["fields"]) == [field]


def test_a_cursor_of_another_sort_is_400(lab, api, tickets):
    following = api(lab.john).get(LIST, {"page_size": 2, "sort": "due"}).json()["next"]
    cursor = following.split("cursor=")[1]
    answer = api(lab.john).get(LIST, {"sort": "activity", "cursor": cursor})
    assert answer.status_code == 400 and "cursor" in answer.json()["fields"]


def test_a_create_only_key_cannot_list(lab, api, integration, tickets):
    answer = api(key=integration).get(LIST)
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def _queries(client, **params):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST, {"page_size": 100, **params}).status_code == 200
    return len(queries)


@pytest.mark.parametrize("sort", ["activity", "priority"])
def test_the_query_count_does_not_grow_with_the_tickets(lab, api, new_ticket, make_key, sort):
    """3 tickets or 30, each with its topic, department, team, assignee, priority, plan and a
    follow-up link: the same number of queries, for an agent's session and a requester's key."""
    low = Priority.objects.get(name="Low")

    def make(count):
        for i in range(count):
            made = new_ticket(subject=f"Load {i}")
            services.ticket_assign(ticket=made, actor=lab.jane, agent=lab.john, team=lab.online_banking)
            services.ticket_update_properties(ticket=made, actor=lab.jane, priority=low)
            Ticket.objects.filter(pk=made.pk).update(follow_up_of=Ticket.objects.first())

    agent, requester = api(lab.jane), api(key=make_key(lab.karen, ApiKey.Scope.READ))
    requester.get(LIST)  # the key's first use of the minute writes its last_used_at
    make(3)
    _queries(agent, sort=sort)  # the first page fills the cache (tickets.catalog)
    few = _queries(agent, sort=sort), _queries(requester)
    make(27)
    assert Ticket.objects.filter(state=State.ASSIGNED).count() == 30
    assert (_queries(agent, sort=sort), _queries(requester)) == few
