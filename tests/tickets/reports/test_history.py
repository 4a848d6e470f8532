"""A ticket's timeline, built from hand-made histories on a frozen clock: each stay's stage,
start, end, who moved it there and by which move, and whether the SLA clock ran in it."""

from datetime import UTC, datetime, timedelta

import pytest

from tickets import services
from tickets.models import Ticket, TicketTransition
from tickets.reports.history import duration_words, timeline


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_10 = at(2026, 11, 30, 10)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    return time_machine


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def rows(visits):
    return [
        (v.state, v.entered_at, v.left_at, v.moved_by, v.move, v.clock_paused) for v in visits
    ]


def test_a_new_ticket_is_new_then_open_since_its_creation(clock, lab, new_ticket):
    ticket = new_ticket()
    visits = timeline(ticket)
    assert rows(visits) == [
        ("new", MONDAY_10, MONDAY_10, "Karen", "create", False),
        ("open", MONDAY_10, None, visits[1].moved_by, "intake", False),
    ]
    assert visits[1].moved_by.startswith("system")
    assert [v.label for v in visits] == ["New", "Open"]
    assert visits[0].duration == timedelta(0) and visits[1].duration is None


def test_each_move_to_another_stage_is_a_stay_with_its_mover_and_the_pauses_marked(
    clock, lab, new_ticket
):
    ticket = new_ticket()
    clock.move_to(at(2026, 11, 30, 11))
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    clock.move_to(at(2026, 11, 30, 11, 30))
    services.ticket_start_work(ticket=fresh(ticket), actor=lab.john)
    clock.move_to(at(2026, 11, 30, 13))
    services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="Which browser?")
    clock.move_to(at(2026, 12, 1, 9))
    services.ticket_receive_reply(ticket=fresh(ticket), actor=lab.karen, body="Firefox.")
    clock.move_to(at(2026, 12, 1, 10, 5))
    services.ticket_resolve(ticket=fresh(ticket), actor=lab.john, message="Cleared the cache.")
    clock.move_to(at(2026, 12, 3, 10, 5))
    services.ticket_close(ticket=fresh(ticket), actor=lab.karen)

    visits = timeline(fresh(ticket))
    assert rows(visits)[1:] == [
        ("open", MONDAY_10, at(2026, 11, 30, 11), visits[1].moved_by, "intake", False),
        ("assigned", at(2026, 11, 30, 11), at(2026, 11, 30, 11, 30), "John Doe", "claim", False),
        ("in_progress", at(2026, 11, 30, 11, 30), at(2026, 11, 30, 13), "John Doe", "start_work", False),
        ("awaiting_user", at(2026, 11, 30, 13), at(2026, 12, 1, 9), "John Doe", "request_info", True),
        ("in_progress", at(2026, 12, 1, 9), at(2026, 12, 1, 10, 5), "Karen", "receive_reply", False),
        ("resolved", at(2026, 12, 1, 10, 5), at(2026, 12, 3, 10, 5), "John Doe", "resolve", True),
        ("closed", at(2026, 12, 3, 10, 5), None, "Karen", "close", True),
    ]
    assert visits[4].duration == timedelta(hours=20)
    # Each stay ends where the next begins.
    assert all(a.left_at == b.entered_at for a, b in zip(visits, visits[1:], strict=False))


def test_a_move_that_keeps_the_stage_does_not_start_a_stay(clock, lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    clock.move_to(at(2026, 11, 30, 12))
    services.ticket_escalate(
        ticket=fresh(ticket), actor=lab.john, team=lab.online_banking, summary="Gateway."
    )
    clock.move_to(at(2026, 11, 30, 14))
    services.ticket_claim(ticket=fresh(ticket), actor=lab.jane)  # escalated -> escalated
    assert fresh(ticket).transitions.filter(name="claim", source="escalated", target="escalated").exists()

    visits = timeline(fresh(ticket))
    assert [(v.state, v.move, v.moved_by) for v in visits] == [
        ("new", "create", "Karen"),
        ("open", "intake", visits[1].moved_by),
        ("assigned", "claim", "John Doe"),
        ("escalated", "escalate", "John Doe"),
    ]
    assert (visits[-1].entered_at, visits[-1].left_at) == (at(2026, 11, 30, 12), None)


def test_a_move_by_the_system_is_named_as_the_log_names_it(clock, lab, new_ticket):
    ticket = new_ticket()
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    clock.move_to(at(2026, 11, 30, 12))
    services.ticket_resolve(ticket=fresh(ticket), actor=lab.john, message="Done.")
    clock.move_to(at(2026, 12, 7, 12))
    services.ticket_close(ticket=fresh(ticket), actor=None, system_rule="auto-close after 7 days")
    last = timeline(fresh(ticket))[-1]
    assert (last.state, last.move, last.entered_at) == ("closed", "close", at(2026, 12, 7, 12))
    assert last.moved_by == TicketTransition.objects.get(ticket=ticket, name="close").actor_label
    assert last.moved_by.startswith("system: ")


def test_one_query_whatever_the_length_of_the_log(clock, lab, new_ticket, django_assert_num_queries):
    ticket = new_ticket()
    services.ticket_claim(ticket=fresh(ticket), actor=lab.john)
    for hour in range(11, 17):
        clock.move_to(at(2026, 11, 30, hour))
        services.ticket_request_info(ticket=fresh(ticket), actor=lab.john, message="And now?")
        services.ticket_receive_reply(ticket=fresh(ticket), actor=lab.karen, body="Still broken.")
    ticket = fresh(ticket)
    assert ticket.transitions.count() == 15
    with django_assert_num_queries(1):
        visits = timeline(ticket)
    assert len(visits) == 15
    assert sum(v.clock_paused for v in visits) == 6


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(0), "0 s"),
        (timedelta(seconds=-3), "0 s"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
    ],
)
def test_a_stay_reads_to_its_two_largest_units(delta, words):
    assert duration_words(delta) == words


def test_a_move_stamped_before_the_tickets_creation_makes_no_negative_stay(clock, lab, new_ticket):
    ticket = new_ticket()
    TicketTransition.objects.create(
        ticket=ticket,
        name="claim",
        source="open",
        target="assigned",
        actor_label="John Doe",
        created_at=MONDAY_10 - timedelta(seconds=1),
    )
    visits = timeline(ticket)
    assert [(v.state, v.moved_by) for v in visits] == [
        ("new", "Karen"),
        ("assigned", "John Doe"),
        ("open", visits[2].moved_by),
    ]
    assert all(v.duration >= timedelta(0) for v in visits[:-1])
    assert visits[1].entered_at == MONDAY_10
