"""A long thread in the workspace: the opening message and the newest entries, with a "show
older" control between them that brings the older ones a batch at a time (htmx), or all of them
without JavaScript; who may ask for a batch; and the page's cost, whatever the thread's length."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import RequesterFactory, UserFactory
from tickets import markup, services
from tickets.models import Priority, ThreadEntry, Ticket
from tickets.thread_pages import PAGE_SIZE

KINDS = ("reply", "note", "event")


def add_entries(ticket: Ticket, count: int, *, author) -> None:
    """``count`` entries (replies, notes and events in turn), written at once."""
    rows = []
    for i in range(count):
        kind = KINDS[i % 3]
        body = f"Entry {i}: **checked** the {kind}."
        rows.append(
            ThreadEntry(
                ticket=ticket,
                kind=kind,
                author=author,
                author_name="Jane",
                body=body,
                body_html=markup.render_markdown(body),
                is_public=kind == "reply",
            )
        )
    ThreadEntry.objects.bulk_create(rows)


def shown(response) -> list[int]:
    """The entries on a page or in a fragment, in the order they appear."""
    return [int(pk) for pk in re.findall(r'\bid="entry-(\d+)"', response.content.decode())]


def in_order(ticket: Ticket) -> list[int]:
    return list(ticket.thread.order_by("created_at", "id").values_list("pk", flat=True))


def older_link(response) -> str | None:
    """Where the "show older" control's htmx request goes (None without a control)."""
    found = re.findall(r'hx-get="([^"]+)"[^>]*>Show \d+ older', response.content.decode())
    assert len(found) <= 1
    return found[0].replace("&amp;", "&") if found else None


def page_url(ticket: Ticket, **query: str) -> str:
    url = reverse("agents:ticket", args=[ticket.number])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def long_ticket(lab, ticket):
    add_entries(ticket, 298, author=lab.jane)
    assert ticket.thread.count() == 300
    return ticket


# -- the page -------------------------------------------------------------------------------------


def test_a_short_thread_shows_every_entry_and_no_control(john, lab, ticket):
    services.ticket_note(ticket=ticket, actor=lab.john, body="Looking.")
    response = john.get(page_url(ticket))
    assert shown(response) == in_order(ticket) and len(shown(response)) == 3
    assert "older-entries" not in response.content.decode()
    assert older_link(response) is None


def test_a_long_thread_shows_the_opening_message_and_the_newest_entries(john, long_ticket):
    response = john.get(page_url(long_ticket))
    entries = in_order(long_ticket)
    assert shown(response) == [entries[0], *entries[-PAGE_SIZE:]]
    page = response.content.decode()
    assert "Nobody can log in to online banking." in page  # the requester's own words, first
    assert f"Show {PAGE_SIZE} older entries" in page and "Show all 279" in page
    # The control stands between the opening message and the newest entries.
    control = page.index("older-entries")
    assert page.index(f'id="entry-{entries[0]}"') < control < page.index(f'id="entry-{entries[-PAGE_SIZE]}"')
    # Without JavaScript, a real link: the whole thread, at the entry the control stood above.
    whole = f'href="{page_url(long_ticket, thread="all")}#entry-{entries[-PAGE_SIZE]}"'
    assert page.count(whole) == 2


def test_without_javascript_the_link_shows_every_entry(john, long_ticket):
    response = john.get(page_url(long_ticket, thread="all"))
    assert shown(response) == in_order(long_ticket)
    assert older_link(response) is None


def test_the_control_brings_older_entries_a_batch_at_a_time_in_order(john, long_ticket):
    response = john.get(page_url(long_ticket))
    first, *newest = shown(response)
    batches = []
    url = older_link(response)
    while url:
        fragment = john.get(url, HTTP_HX_REQUEST="true")
        assert fragment.status_code == 200
        batches.append(shown(fragment))
        url = older_link(fragment)
        # The fragment is only entries and maybe a new control: no page around them.
        assert "<html" not in fragment.content.decode() and "Properties" not in fragment.content.decode()
    assert [len(batch) for batch in batches] == [20] * 13 + [19]
    older = [pk for batch in reversed(batches) for pk in batch]
    assert [first, *older, *newest] == in_order(long_ticket)


def test_the_last_batch_says_how_many_remain(john, lab, ticket):
    add_entries(ticket, PAGE_SIZE + 5, author=lab.jane)  # 27 entries: 1 + 20 shown, 6 hidden
    response = john.get(page_url(ticket))
    page = response.content.decode()
    assert "Show 6 older entries" in page and "Show all" not in page
    fragment = john.get(older_link(response))
    assert shown(fragment) == in_order(ticket)[1:7] and older_link(fragment) is None


def test_an_action_keeps_the_thread_paged(jane, lab, long_ticket):
    """The part of the page htmx swaps after a change shows the thread the same way."""
    ticket = Ticket.objects.get(pk=long_ticket.pk)
    other = Priority.objects.exclude(pk=ticket.priority_id).first()
    response = jane.post(
        reverse("agents:change_property", args=[ticket.number]),
        {"field": "priority", "priority": other.pk, "version": ticket.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    entries = in_order(ticket)
    assert shown(response) == [entries[0], *entries[-PAGE_SIZE:]]
    assert "priority" in ticket.thread.order_by("-created_at", "-id").first().body.lower()
    assert older_link(response) is not None


@pytest.mark.parametrize("before", ["", "abc", "-1", "999999"])
def test_a_batch_before_no_entry_of_this_ticket_is_404(john, lab, long_ticket, new_ticket, before):
    url = reverse("agents:thread_older", args=[long_ticket.number])
    assert john.get(f"{url}?before={before}").status_code == 404
    other = new_ticket(subject="Printer on fire")
    assert john.get(f"{url}?before={other.thread.last().pk}").status_code == 404


# -- who may ask for a batch ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "requester", "owner", "stranger", "john"])
def test_a_batch_is_served_to_whoever_may_see_the_ticket_in_the_console(
    browser, lab, long_ticket, stranger, who
):
    users = {
        "anonymous": None,
        "requester": RequesterFactory(user=UserFactory(username="mallory")).user,
        "owner": lab.karen,
        "stranger": stranger,  # an agent of another department
        "john": lab.john,
    }
    client = browser(users[who])
    before = in_order(long_ticket)[-PAGE_SIZE]
    response = client.get(reverse("agents:thread_older", args=[long_ticket.number]) + f"?before={before}")
    page = client.get(page_url(long_ticket))
    assert response.status_code == page.status_code  # as the page answers them
    if who == "john":
        assert response.status_code == 200 and len(shown(response)) == PAGE_SIZE
    elif who == "stranger":
        assert response.status_code == 404
    else:  # not agents: to the console's sign-in page, seeing nothing
        assert response.status_code == 302 and response["Location"].startswith(reverse("agents:login"))
    if who != "john":
        assert "Entry " not in response.content.decode()


# -- the cost -------------------------------------------------------------------------------------


def _count(client, url: str) -> int:
    client.get(url)  # caches warm (the console's choices), as on every page after the first
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_and_a_batch_cost_the_same_at_3_and_300_entries(jane, lab, ticket, new_ticket):
    services.ticket_note(ticket=ticket, actor=lab.jane, body="Looking.")
    assert ticket.thread.count() == 3
    few = _count(jane, page_url(ticket))
    add_entries(ticket, 297, author=lab.jane)
    assert ticket.thread.count() == 300
    many = _count(jane, page_url(ticket))
    assert few == many

    batch_url = reverse("agents:thread_older", args=[ticket.number])
    entries = in_order(ticket)
    near, deep = entries[-PAGE_SIZE], entries[30]
    assert _count(jane, f"{batch_url}?before={near}") == _count(jane, f"{batch_url}?before={deep}")
