"""A search looks for words in the newest tickets first; "search all tickets" is a second step
(issue 16: a common word at a million tickets). Numbers, addresses and names: everywhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tickets import selectors

URL = reverse("agents:queue", args=["all"])


@pytest.fixture
def old_and_new(lab, new_ticket, monkeypatch):
    """An old ticket about a printer, then six newer ones: the newest five are "recent"."""
    monkeypatch.setattr(selectors, "SEARCH_RECENT", 5)
    old = new_ticket(subject="The old printer jams", body="Paper everywhere.")
    newer = [new_ticket(subject=f"Newer {i}", body="The printer is fine now.") for i in range(6)]
    return old, newer


def _numbers(response) -> set[str]:
    return {ticket.number for ticket in response.context["tickets"]}


def test_words_are_looked_for_in_the_newest_tickets_and_the_page_says_so(client, lab, old_and_new):
    old, newer = old_and_new
    client.force_login(lab.john)
    response = client.get(URL, {"q": "printer"})
    assert _numbers(response) == {t.number for t in newer[1:]}
    page = response.content.decode()
    assert "Words were looked for in the 5 newest tickets" in page
    assert "q=printer&amp;older=1" in page


def test_search_all_tickets_finds_the_older_ones(client, lab, old_and_new):
    old, newer = old_and_new
    client.force_login(lab.john)
    response = client.get(URL, {"q": "printer", "older": "1"})
    assert _numbers(response) == {old.number, *(t.number for t in newer)}
    assert "newest tickets" not in response.content.decode()


def test_a_number_or_an_address_is_found_in_every_ticket(client, lab, old_and_new):
    old, _ = old_and_new
    client.force_login(lab.john)
    assert old.number in _numbers(client.get(URL, {"q": old.number}))
    assert old.number in _numbers(client.get(URL, {"q": old.requester.email}))


def test_a_small_desk_searches_everything_without_a_note(client, lab, new_ticket):
    ticket = new_ticket(subject="The printer jams")
    client.force_login(lab.john)
    response = client.get(URL, {"q": "printer"})
    assert _numbers(response) == {ticket.number}
    assert "newest tickets" not in response.content.decode()
