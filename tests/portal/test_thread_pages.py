"""A long conversation on the requester's ticket page: the opening message and the newest
messages, with a "show older" control between them that brings older ones a batch at a time
(htmx), or all of them without JavaScript; never an internal note or event; who may ask for a
batch; and the page's cost, whatever the thread's length."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.access import grant
from tests.factories import UserFactory
from tickets import markup
from tickets.models import ThreadEntry, Ticket
from tickets.thread_pages import PAGE_SIZE


def add_entries(ticket: Ticket, count: int, *, author, kinds=("reply", "message", "note", "event")) -> None:
    """``count`` entries of ``kinds`` in turn, written at once."""
    rows = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        body = f"Entry {i}: a {kind}."
        rows.append(
            ThreadEntry(
                ticket=ticket,
                kind=kind,
                author=author,
                author_name="Jane",
                body=body,
                body_html=markup.render_markdown(body),
                is_public=kind in ("reply", "message"),
            )
        )
    ThreadEntry.objects.bulk_create(rows)


def shown(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'\bid="entry-(\d+)"', response.content.decode())]


def public(ticket: Ticket) -> list[int]:
    return list(
        ticket.thread.filter(is_public=True).order_by("created_at", "id").values_list("pk", flat=True)
    )


def internal(ticket: Ticket) -> list[int]:
    return list(ticket.thread.filter(is_public=False).values_list("pk", flat=True))


def older_link(response) -> str | None:
    found = re.findall(r'hx-get="([^"]+)"[^>]*>Show \d+ older', response.content.decode())
    assert len(found) <= 1
    return found[0] if found else None


def page_url(ticket: Ticket, **query: str) -> str:
    url = reverse("portal:ticket", args=[ticket.number])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def batch_url(ticket: Ticket, before: int) -> str:
    return reverse("portal:thread_older", args=[ticket.number]) + f"?before={before}"


@pytest.fixture
def ticket(new_ticket):
    return new_ticket()


@pytest.fixture
def karen_client(client, lab):
    client.force_login(lab.karen)
    return client


@pytest.fixture
def long_ticket(lab, ticket):
    """300 entries, 151 of them public (the opening message, replies and messages)."""
    add_entries(ticket, 298, author=lab.jane)
    assert ticket.thread.count() == 300 and len(public(ticket)) == 151
    return ticket


# -- the page -------------------------------------------------------------------------------------


def test_a_short_conversation_shows_every_message_and_no_control(karen_client, lab, ticket):
    add_entries(ticket, 2, author=lab.jane, kinds=("reply", "note"))
    response = karen_client.get(page_url(ticket))
    assert shown(response) == public(ticket) and len(shown(response)) == 2
    assert "older-entries" not in response.content.decode() and older_link(response) is None
    assert "a note" not in response.content.decode()


def test_a_long_conversation_shows_the_opening_message_and_the_newest(karen_client, long_ticket):
    response = karen_client.get(page_url(long_ticket))
    messages = public(long_ticket)
    assert shown(response) == [messages[0], *messages[-PAGE_SIZE:]]
    page = response.content.decode()
    assert "Nobody can log in to online banking." in page
    assert f"Show {PAGE_SIZE} older messages" in page and "Show all 130" in page
    assert f'href="{page_url(long_ticket, thread="all")}#entry-{messages[-PAGE_SIZE]}"' in page
    assert not set(shown(response)) & set(internal(long_ticket))


def test_without_javascript_the_link_shows_every_message_and_no_note(karen_client, long_ticket):
    response = karen_client.get(page_url(long_ticket, thread="all"))
    assert shown(response) == public(long_ticket)
    assert "a note" not in response.content.decode() and "an event" not in response.content.decode()


def test_the_control_brings_older_messages_a_batch_at_a_time_and_never_a_note(karen_client, long_ticket):
    response = karen_client.get(page_url(long_ticket))
    first, *newest = shown(response)
    batches = []
    url = older_link(response)
    while url:
        fragment = karen_client.get(url, HTTP_HX_REQUEST="true")
        assert fragment.status_code == 200
        assert "a note" not in fragment.content.decode() and "an event" not in fragment.content.decode()
        batches.append(shown(fragment))
        url = older_link(fragment)
    assert [len(batch) for batch in batches] == [20] * 6 + [10]
    assert [first, *[pk for batch in reversed(batches) for pk in batch], *newest] == public(long_ticket)


def test_a_batch_before_an_internal_entry_is_404_as_for_any_other(karen_client, long_ticket):
    """A note's id must not give away where notes are in the thread."""
    note = long_ticket.thread.filter(kind="note").last()
    assert karen_client.get(batch_url(long_ticket, note.pk)).status_code == 404
    assert karen_client.get(batch_url(long_ticket, 999999)).status_code == 404
    url = reverse("portal:thread_older", args=[long_ticket.number])
    assert karen_client.get(f"{url}?before=abc").status_code == 404
    assert karen_client.get(url).status_code == 404


# -- who may ask for a batch ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "requester", "stranger", "john", "karen", "guest"])
def test_a_batch_is_served_to_whoever_may_see_the_ticket_in_the_portal(
    client, lab, long_ticket, other_requester, stranger, who
):
    if who == "requester":  # another requester, with an account
        other_requester.user = UserFactory(username="mallory", email=other_requester.email)
        other_requester.save()
        client.force_login(other_requester.user)
    elif who in ("stranger", "john"):  # agents work in the console, not as the requester
        client.force_login(stranger if who == "stranger" else lab.john)
    elif who == "karen":
        client.force_login(lab.karen)
    elif who == "guest":  # a browser the ticket was granted to (a signed link, a guest's ticket)
        session = client.session
        grant(type("Request", (), {"session": session})(), long_ticket)
        session.save()
    response = client.get(batch_url(long_ticket, public(long_ticket)[-PAGE_SIZE]))
    assert response.status_code == client.get(page_url(long_ticket)).status_code  # as the page answers
    if who in ("karen", "guest"):
        assert response.status_code == 200 and len(shown(response)) == PAGE_SIZE
    else:
        assert response.status_code == 404 and "Entry " not in response.content.decode()


# -- the cost -------------------------------------------------------------------------------------


def _count(client, url: str) -> int:
    client.get(url)  # caches warm, as on every page after the first
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_and_a_batch_cost_the_same_at_3_and_300_entries(karen_client, lab, ticket):
    add_entries(ticket, 1, author=lab.jane)
    assert ticket.thread.count() == 3
    few = _count(karen_client, page_url(ticket))
    add_entries(ticket, 297, author=lab.jane)
    assert ticket.thread.count() == 300
    many = _count(karen_client, page_url(ticket))
    assert few == many

    messages = public(ticket)
    near, deep = messages[-PAGE_SIZE], messages[30]
    assert _count(karen_client, batch_url(ticket, near)) == _count(karen_client, batch_url(ticket, deep))
