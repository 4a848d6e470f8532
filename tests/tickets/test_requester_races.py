"""A requester's message always lands, whatever raced it (PostgreSQL, real threads).

An agent's move and the requester's answers by portal and by e-mail are released together by a
barrier, round after round. Whoever wins the ticket's row lock, every message ends in the
ticket's thread or in a follow-up linked to it, exactly once; the agent may be told their page
is stale, the requester never is; and the state, the transition log and the thread agree.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client, override_settings
from django.urls import reverse

from tickets import services
from tickets.mailin import store
from tickets.models import InboundMessage, State, ThreadEntry, Ticket

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"
    ),
    pytest.mark.django_db(transaction=True),
    # Every round's mail comes from Karen; the per-sender limit is not what is tested here.
    pytest.mark.usefixtures("_no_mail_limit"),
]

ROUNDS = 10


@pytest.fixture
def _no_mail_limit():
    with override_settings(THROTTLE_MAIL_PER_SENDER=(100_000, 3600)):
        yield


def _in_progress(lab: Any, new_ticket: Callable[..., Ticket]) -> Ticket:
    ticket = new_ticket()
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    return ticket


def _resolved(lab: Any, new_ticket: Callable[..., Ticket]) -> Ticket:
    ticket = _in_progress(lab, new_ticket)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Restarted the gateway.")
    return ticket


def _awaiting(lab: Any, new_ticket: Callable[..., Ticket]) -> Ticket:
    ticket = _in_progress(lab, new_ticket)
    services.ticket_request_info(ticket=ticket, actor=lab.john, message="Which browser?")
    return ticket


AGENT_MOVES: dict[str, tuple[Callable[..., Ticket], Callable[[Ticket, Any], Any]]] = {
    "close": (_resolved, lambda t, lab: services.ticket_close(ticket=t, actor=lab.john)),
    "resolve": (
        _in_progress,
        lambda t, lab: services.ticket_resolve(ticket=t, actor=lab.john, message="Done."),
    ),
    "request_info": (
        _in_progress,
        lambda t, lab: services.ticket_request_info(ticket=t, actor=lab.john, message="Since when?"),
    ),
    "escalate": (
        _in_progress,
        lambda t, lab: services.ticket_escalate(
            ticket=t, actor=lab.john, team=lab.online_banking, summary="Needs the bank team."
        ),
    ),
}


def _mail(ticket: Ticket, token: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Karen <karen@example.com>"
    message["To"] = "Help Desk <helpdesk@localhost>"
    message["Subject"] = f"Re: [#{ticket.number}] {ticket.subject}"
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content(f"{token}\n")
    return message.as_bytes()


class Race:
    """Runs the given callables in threads of their own, released together."""

    def __init__(self, **runners: Callable[[], Any]) -> None:
        self.runners = runners
        self.outcomes: dict[str, Any] = {}
        self.barrier = threading.Barrier(len(runners))

    def _run(self, name: str, runner: Callable[[], Any]) -> None:
        try:
            self.barrier.wait(timeout=30)
            self.outcomes[name] = runner()
        except services.TicketConflict:
            self.outcomes[name] = "conflict"
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            self.outcomes[name] = exc
        finally:
            close_old_connections()
            connection.close()

    def run(self) -> dict[str, Any]:
        threads = [threading.Thread(target=self._run, args=item) for item in self.runners.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a racer hung"
        return self.outcomes


def _portal_reply(user: Any, ticket: Ticket, token: str) -> Callable[[], int]:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    url = reverse("portal:ticket_reply", args=[ticket.number])
    return lambda: client.post(url, {"body": token}).status_code


def _mail_reply(ticket: Ticket, token: str) -> Callable[[], str]:
    raw = _mail(ticket, token)
    return lambda: store.ingest(raw).status


def _landed_once(ticket: Ticket, token: str) -> ThreadEntry:
    """The one thread entry holding the token, on the ticket or a follow-up of it."""
    entries = list(ThreadEntry.objects.filter(body__contains=token))
    assert len(entries) == 1, f"{token} is in {len(entries)} entries"
    entry = entries[0]
    assert entry.kind == ThreadEntry.Kind.MESSAGE and entry.is_public
    assert entry.ticket_id == ticket.pk or entry.ticket.follow_up_of_id == ticket.pk
    return entry


def _agree(ticket: Ticket) -> None:
    """The state is where the log's chain of moves ends, and each move has its thread event."""
    ticket.refresh_from_db()
    log = list(ticket.transitions.order_by("created_at", "id"))
    assert log[0].name == "create"
    for before, after in zip(log, log[1:], strict=False):
        assert after.source == before.target, [(t.name, t.source, t.target) for t in log]
    assert log[-1].target == ticket.state
    events = ticket.thread.filter(kind=ThreadEntry.Kind.EVENT).count()
    assert events == len(log) - 1


@pytest.mark.parametrize("move", sorted(AGENT_MOVES))
def test_an_agents_move_races_a_portal_reply_and_a_mail_reply(lab, new_ticket, move):
    prepare, act = AGENT_MOVES[move]
    agent_outcomes = []
    for _ in range(ROUNDS):
        ticket = prepare(lab, new_ticket)
        agents_copy = Ticket.objects.get(pk=ticket.pk)  # the page the agent acts from
        web, mail = f"web-{uuid.uuid4()}", f"mail-{uuid.uuid4()}"
        outcomes = Race(
            agent=lambda copy=agents_copy: act(copy, lab) and "done",
            portal=_portal_reply(lab.karen, ticket, web),
            mail=_mail_reply(ticket, mail),
        ).run()
        assert outcomes["agent"] in ("done", "conflict"), outcomes
        assert outcomes["portal"] == 302, outcomes
        assert outcomes["mail"] in (InboundMessage.Status.REPLY, InboundMessage.Status.FOLLOW_UP), outcomes
        entries = [_landed_once(ticket, token) for token in (web, mail)]
        for each in {ticket, *(entry.ticket for entry in entries)}:
            _agree(each)
        closed = ticket.transitions.filter(name="close").first()
        for entry in entries:
            # A message that found the ticket closed opened a follow-up; one that came first
            # was appended to it before the close.
            if entry.ticket_id != ticket.pk:
                assert closed is not None and entry.created_at >= closed.created_at
            else:
                assert closed is None or entry.created_at <= closed.created_at
        agent_outcomes.append(outcomes["agent"])
    assert not InboundMessage.objects.filter(status=InboundMessage.Status.QUARANTINED).exists()
    # The agent won some rounds: the test raced the move, not only the messages.
    assert "done" in agent_outcomes


@pytest.mark.parametrize("prepare", [_in_progress, _awaiting, _resolved], ids=lambda f: f.__name__[1:])
def test_two_requester_messages_at_once_both_land(lab, new_ticket, prepare):
    for _ in range(ROUNDS):
        ticket = prepare(lab, new_ticket)
        web, mail = f"web-{uuid.uuid4()}", f"mail-{uuid.uuid4()}"
        outcomes = Race(portal=_portal_reply(lab.karen, ticket, web), mail=_mail_reply(ticket, mail)).run()
        assert outcomes == {"portal": 302, "mail": InboundMessage.Status.REPLY}
        for token in (web, mail):
            assert _landed_once(ticket, token).ticket_id == ticket.pk
        _agree(ticket)
        if prepare is _awaiting:
            # The first to land answered the question; the second was appended.
            assert ticket.state == State.IN_PROGRESS
            assert ticket.transitions.filter(name="receive_reply").count() == 1
