"""The ticket's lifecycle timeline on the workspace: each stay with its stage, start (local
time), length, mover and move, the SLA clock's pauses marked, at a fixed cost in queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import services
from tickets.models import Ticket


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(at(2026, 11, 30, 9), tick=False)
    return time_machine


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def timeline_of(response) -> tuple[str, list[str]]:
    """The timeline's summary line and each stay's text, as a reader sees them."""
    page = response.content.decode()
    found = re.search(r'<details class="[^"]*lifecycle-timeline[^"]*">(.*?)</details>', page, re.S)
    assert found, "no timeline on the page"
    summary = re.search(r"<summary[^>]*>(.*?)</summary>", found.group(1), re.S).group(1)
    items = re.findall(r"<li\b[^>]*>(.*?)</li>", found.group(1), re.S)
    return _text(summary), [_text(item) for item in items]


def test_each_stay_with_its_start_length_mover_and_pause(clock, lab, john, new_ticket, settings):
    settings.TIME_ZONE = "Europe/Paris"  # the page shows local times: UTC+1 in winter
    ticket = new_ticket()
    clock.move_to(at(2026, 11, 30, 9, 20))
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    clock.move_to(at(2026, 11, 30, 11, 25))
    services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="Which browser?")
    clock.move_to(at(2026, 12, 3, 15, 25))
    services.ticket_receive_reply(ticket=fresh(ticket), actor=lab.karen, body="Firefox.")
    clock.move_to(at(2026, 12, 3, 15, 37))

    summary, stays = timeline_of(john.get(reverse("agents:ticket", args=[ticket.number])))
    intake = fresh(ticket).transitions.get(name="intake").actor_label
    assert intake.startswith("system")
    assert summary == "Lifecycle · 5 steps, in progress for 12 min so far"
    assert stays == [
        "New 0 s 30 Nov 2026, 10:00 · create by Karen",
        f"Open 20 min 30 Nov 2026, 10:00 · intake by {intake}",
        "Assigned 2 h 5 min 30 Nov 2026, 10:20 · claim by John Doe",
        "Awaiting user 3 d 4 h SLA clock paused 30 Nov 2026, 12:25 · request_info by John Doe",
        "In progress 12 min so far 3 Dec 2026, 16:25 · receive_reply by Karen",
    ]


def test_a_closed_tickets_last_stay_is_paused_and_lasts_so_far(clock, lab, john, new_ticket):
    ticket = new_ticket()
    services.ticket_cancel(ticket=fresh(ticket), actor=lab.john, reason="Duplicate.")
    clock.move_to(at(2026, 12, 1, 11))
    summary, stays = timeline_of(john.get(reverse("agents:ticket", args=[ticket.number])))
    assert summary == "Lifecycle · 3 steps, closed for 1 d 2 h so far"
    assert stays[-1] == "Closed 1 d 2 h so far SLA clock paused 30 Nov 2026, 09:00 · cancel by John Doe"
    assert "SLA clock paused" not in " ".join(stays[:-1])


def test_the_timeline_costs_no_query_more_however_long_the_log(clock, lab, john, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    url = reverse("agents:ticket", args=[ticket.number])

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = john.get(url)
        assert response.status_code == 200
        return len(queries), len(timeline_of(response)[1])

    before, stays_before = count()
    for hour in range(10, 16):
        clock.move_to(at(2026, 11, 30, hour))
        services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="And now?")
        services.ticket_receive_reply(ticket=fresh(ticket), actor=lab.karen, body="Still broken.")
    after, stays_after = count()
    assert stays_after == stays_before + 12
    assert after == before
    # Exactly one query reads the log (the strip of stages uses the same rows).
    with CaptureQueriesContext(connection) as queries:
        john.get(url)
    assert sum('"tickets_tickettransition"' in q["sql"] for q in queries.captured_queries) == 1


def test_an_agent_who_may_not_see_the_ticket_sees_no_timeline(clock, lab, new_ticket, browser, stranger):
    ticket = new_ticket()
    response = browser(stranger).get(reverse("agents:ticket", args=[ticket.number]))
    assert response.status_code == 404
    assert "lifecycle-timeline" not in response.content.decode()


def test_the_headers_badge_stays_the_pages_one_badge_of_the_state(clock, lab, john, new_ticket):
    """The timeline's badges have colours of their own: the browser tests (and people) find the
    ticket's state as the page's one ``state-badge``."""
    ticket = new_ticket()
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    page = john.get(reverse("agents:ticket", args=[ticket.number])).content.decode()
    assert len(re.findall(r'class="[^"]*\bstate-badge\b', page)) == 1
    assert re.search(r'<span class="badge text-bg-primary stage-assigned">Assigned</span>', page)
