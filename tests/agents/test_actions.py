"""The lifecycle buttons of the workspace, posted as the console posts them: every move of
docs/lifecycle.md allowed and refused, by whom, and from a page that is out of date."""

from __future__ import annotations

import threading

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import close_old_connections, connection
from django.urls import reverse

from tests.factories import AgentFactory, TeamFactory
from tickets import services
from tickets.models import Priority, State, ThreadEntry, Ticket

# -- the lifecycle table (docs/lifecycle.md), as the console offers it ----------------------------

ALLOWED = {
    "assign": {
        State.OPEN: State.ASSIGNED,
        State.ASSIGNED: State.ASSIGNED,
        State.IN_PROGRESS: State.ASSIGNED,
        State.ESCALATED: State.ESCALATED,
    },
    "claim": {State.OPEN: State.ASSIGNED, State.ASSIGNED: State.ASSIGNED, State.ESCALATED: State.ESCALATED},
    "start_work": {State.ASSIGNED: State.IN_PROGRESS},
    "request_info": {s: State.AWAITING_USER for s in (State.ASSIGNED, State.IN_PROGRESS, State.ESCALATED)},
    "escalate": {
        s: State.ESCALATED for s in (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED)
    },
    "resolve": {
        s: State.RESOLVED for s in (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED)
    },
    "reopen": {State.RESOLVED: State.IN_PROGRESS},
    "close": {State.RESOLVED: State.CLOSED},
    "cancel": {State.OPEN: State.CLOSED, State.ASSIGNED: State.CLOSED},
}
LOWER_TIER = (
    "Escalate: Select a valid choice. That choice is not one of the available choices.; "
    "Choose a team or a department of a higher tier."
)
# Every state a stored ticket can be in (``new`` lasts only inside the creating transaction).
STORED_STATES = [s for s in State if s != State.NEW]


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def viewer(lab):
    return AgentFactory(username="viewer", role="View Only", departments=[lab.support])


@pytest.fixture
def tier_3(db):
    return TeamFactory(name="Core Platform", tier=3)


def stored(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def act(client, ticket: Ticket, name: str, *, version: int | None = None, **data):
    """Post one lifecycle button with the version the page showed (the current one by default)."""
    data["version"] = stored(ticket).version if version is None else version
    data = {k: getattr(v, "pk", v) for k, v in data.items() if v is not None}
    return client.post(reverse("agents:action", args=[ticket.number, name]), data)


def said(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def snapshot(ticket: Ticket) -> tuple:
    """Everything an action could change, to show that a refused one changed nothing."""
    t = stored(ticket)
    return (
        t.state,
        t.version,
        t.assignee_id,
        t.team_id,
        t.department_id,
        t.tier,
        t.resolved_at,
        t.closed_at,
        t.reopen_count,
        list(t.thread.values_list("kind", "body")),
        list(t.transitions.values_list("name", flat=True)),
    )


def events(ticket: Ticket) -> list[str]:
    return list(ticket.thread.filter(kind=ThreadEntry.Kind.EVENT).values_list("body", flat=True))


class Moved:
    """What one successful action left: the new transitions and the new thread entries."""

    def __init__(self, ticket: Ticket, before: tuple) -> None:
        _, _, _, _, _, _, _, _, _, entries, transitions = before
        self.ticket = stored(ticket)
        self.transitions = list(self.ticket.transitions.all()[len(transitions) :])
        self.entries = list(self.ticket.thread.all()[len(entries) :])
        self.events = [e.body for e in self.entries if e.kind == ThreadEntry.Kind.EVENT]


def page_url(ticket: Ticket) -> str:
    return reverse("agents:ticket", args=[ticket.number])


def assert_done(response, ticket, before, *, name, actor, source, target, done):
    """The action went through: back to the page, one transition by the actor, one event."""
    assert response.status_code == 302
    assert response["Location"] == page_url(ticket)
    assert ("success", done) in said(response)
    moved = Moved(ticket, before)
    assert [(t.name, t.source, t.target, t.actor) for t in moved.transitions] == [
        (name, source, target, actor)
    ]
    assert len(moved.events) == 1
    assert moved.ticket.state == target
    return moved


def assert_refused(response, ticket, before, message):
    assert response.status_code == 302 and response["Location"] == page_url(ticket)
    assert ("error", message) in said(response), said(response)
    assert snapshot(ticket) == before


# -- each action, allowed -------------------------------------------------------------------------


def test_assign_to_an_agent(john, lab, ticket):
    colleague = AgentFactory(username="pat", first_name="Pat", last_name="Lee", departments=[lab.support])
    before = snapshot(ticket)
    response = act(john, ticket, "assign", agent=colleague)
    moved = assert_done(
        response,
        ticket,
        before,
        name="assign",
        actor=lab.john,
        source="open",
        target="assigned",
        done="Assigned.",
    )
    assert (moved.ticket.assignee, moved.ticket.team, moved.ticket.department) == (
        colleague,
        None,
        lab.support,
    )
    assert moved.events == ["Assigned to Pat Lee by John Doe"]


def test_assign_to_a_team(john, lab, ticket):
    before = snapshot(ticket)
    response = act(john, ticket, "assign", team=lab.online_banking)
    moved = assert_done(
        response,
        ticket,
        before,
        name="assign",
        actor=lab.john,
        source="open",
        target="assigned",
        done="Assigned.",
    )
    assert (moved.ticket.assignee, moved.ticket.team) == (None, lab.online_banking)
    assert moved.events == ["Assigned to Online Banking by John Doe"]


def test_assign_with_a_department_transfer(jane, lab, ticket):
    before = snapshot(ticket)
    response = act(jane, ticket, "assign", agent=lab.jane, team=lab.online_banking, department=lab.sysadmins)
    moved = assert_done(
        response,
        ticket,
        before,
        name="assign",
        actor=lab.jane,
        source="open",
        target="assigned",
        done="Assigned.",
    )
    assert (moved.ticket.assignee, moved.ticket.team, moved.ticket.department) == (
        lab.jane,
        lab.online_banking,
        lab.sysadmins,
    )
    assert moved.events == ["Assigned to Jane Doe / Online Banking by Jane Doe (transferred to SysAdmins)"]


def test_a_transfer_out_of_sight_sends_the_agent_back_to_the_queues(john, lab, ticket):
    response = act(john, ticket, "assign", team=lab.online_banking, department=lab.sysadmins)
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")
    assert ("info", f"#{ticket.number} has left the tickets you can see.") in said(response)
    assert stored(ticket).department == lab.sysadmins
    assert john.get(page_url(ticket)).status_code == 404


def test_claim_take_it(john, lab, ticket):
    before = snapshot(ticket)
    response = act(john, ticket, "claim")
    moved = assert_done(
        response,
        ticket,
        before,
        name="claim",
        actor=lab.john,
        source="open",
        target="assigned",
        done="The ticket is yours.",
    )
    assert moved.ticket.assignee == lab.john
    assert moved.events == ["John Doe took the ticket over: John Doe"]


def test_start_work(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "start_work")
    moved = assert_done(
        response,
        ticket,
        before,
        name="start_work",
        actor=lab.john,
        source="assigned",
        target="in_progress",
        done="Work started.",
    )
    assert moved.events == ["John Doe started work"]


def test_request_info_asks_the_requester_in_public(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "request_info", message="Which browser do you use?")
    moved = assert_done(
        response,
        ticket,
        before,
        name="request_info",
        actor=lab.john,
        source="assigned",
        target="awaiting_user",
        done="Question sent; the ticket waits for the requester.",
    )
    assert moved.events == ["John Doe asked the requester for information"]
    question = moved.ticket.thread.get(kind=ThreadEntry.Kind.REPLY)
    assert (question.body, question.is_public, question.author) == (
        "Which browser do you use?",
        True,
        lab.john,
    )
    assert [m.to for m in mail.outbox] == [["karen@example.com"]]
    assert "Which browser do you use?" in mail.outbox[0].body
    assert moved.ticket.first_responded_at is not None


@pytest.mark.parametrize("message", ["", "   "])
def test_request_info_needs_a_question(john, lab, ticket, message):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "request_info", message=message)
    assert_refused(response, ticket, before, "Ask the requester: This field is required.")
    assert mail.outbox == []


def test_escalate_to_a_higher_tier_team(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(
        john, ticket, "escalate", team=lab.online_banking, summary="Gateway down; restarts did not help."
    )
    moved = assert_done(
        response,
        ticket,
        before,
        name="escalate",
        actor=lab.john,
        source="assigned",
        target="escalated",
        done="Escalated.",
    )
    assert (moved.ticket.tier, moved.ticket.assignee, moved.ticket.team, moved.ticket.department) == (
        2,
        None,
        lab.online_banking,
        lab.support,
    )
    assert moved.transitions[0].reason == "Gateway down; restarts did not help."
    assert moved.events == ["Escalated by John Doe to Online Banking (department Support, tier 2)"]
    note = moved.ticket.thread.get(kind=ThreadEntry.Kind.NOTE)
    assert (note.body, note.is_public, note.author_name) == (
        "Hand-off summary: Gateway down; restarts did not help.",
        False,
        "John Doe",
    )
    # Not a word to Karen; Online Banking (Jane) is alerted, with the hand-off summary.
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]
    assert "Gateway down; restarts did not help." in mail.outbox[0].body


def test_escalate_to_a_higher_tier_department(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "escalate", department=lab.sysadmins, summary="Needs the sysadmins.")
    # Out of John's departments and teams now: he is sent back to his queues.
    assert response.status_code == 302 and response["Location"] == reverse("agents:home")
    assert ("success", "Escalated.") in said(response)
    moved = Moved(ticket, before)
    assert [(t.name, t.actor) for t in moved.transitions] == [("escalate", lab.john)]
    assert (moved.ticket.state, moved.ticket.tier, moved.ticket.department, moved.ticket.assignee) == (
        State.ESCALATED,
        2,
        lab.sysadmins,
        None,
    )
    assert moved.events == ["Escalated by John Doe to Unassigned (department SysAdmins, tier 2)"]


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"team": "online_banking", "summary": ""},
            "Escalate: This field is required.",
        ),
        (
            {"summary": "Over to you."},
            "Escalate: Choose a team or a department of a higher tier.",
        ),
        (
            {"team": "tier_1_team", "summary": "Over to you."},
            LOWER_TIER,
        ),
        (
            {"department": "support", "summary": "Over to you."},
            LOWER_TIER,
        ),
    ],
)
def test_escalate_needs_a_higher_tier_target_and_a_summary(john, lab, ticket, data, message):
    targets = {
        "online_banking": lab.online_banking,
        "support": lab.support,
        "tier_1_team": TeamFactory(tier=1),
    }
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "escalate", **{k: targets.get(v, v) for k, v in data.items()})
    assert_refused(response, ticket, before, message)


def test_an_escalated_ticket_cannot_go_to_its_own_tier_again(jane, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    services.ticket_escalate(ticket=ticket, actor=lab.jane, team=lab.online_banking, summary="Up.")
    before = snapshot(ticket)
    response = act(jane, ticket, "escalate", department=lab.sysadmins, summary="Further up.")
    assert_refused(
        response,
        ticket,
        before,
        LOWER_TIER,
    )


def test_resolve_with_a_message_for_the_requester(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_start_work(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    response = act(john, ticket, "resolve", message="The gateway certificate was renewed.")
    moved = assert_done(
        response,
        ticket,
        before,
        name="resolve",
        actor=lab.john,
        source="in_progress",
        target="resolved",
        done="Resolved; the requester is asked to confirm.",
    )
    assert moved.events == ["Resolved by John Doe"]
    assert moved.ticket.resolved_at is not None
    reply = moved.ticket.thread.get(kind=ThreadEntry.Kind.REPLY)
    assert (reply.body, reply.is_public) == ("The gateway certificate was renewed.", True)
    assert [m.to for m in mail.outbox] == [["karen@example.com"]]


def test_resolve_needs_a_message(john, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    before = snapshot(ticket)
    assert_refused(
        act(john, ticket, "resolve", message=""), ticket, before, "Resolve: This field is required."
    )


@pytest.fixture
def resolved(lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    services.ticket_resolve(ticket=ticket, actor=lab.john, message="Fixed.")
    return stored(ticket)


def test_reopen_with_a_reason(john, lab, resolved):
    before = snapshot(resolved)
    response = act(john, resolved, "reopen", reason="It is down again.")
    moved = assert_done(
        response,
        resolved,
        before,
        name="reopen",
        actor=lab.john,
        source="resolved",
        target="in_progress",
        done="Reopened.",
    )
    assert moved.events == ["Reopened by John Doe: It is down again."]
    assert moved.transitions[0].reason == "It is down again."
    assert (moved.ticket.reopen_count, moved.ticket.resolved_at) == (1, None)
    # An agent's reason is not put in the requester's mouth.
    assert [e.kind for e in moved.entries] == ["event"]


def test_reopen_above_tier_1_goes_back_to_escalated(jane, lab, ticket):
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    services.ticket_escalate(ticket=ticket, actor=lab.jane, team=lab.online_banking, summary="Up.")
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    services.ticket_resolve(ticket=ticket, actor=lab.jane, message="Fixed.")
    before = snapshot(ticket)
    response = act(jane, ticket, "reopen", reason="Not fixed.")
    moved = assert_done(
        response,
        ticket,
        before,
        name="reopen",
        actor=lab.jane,
        source="resolved",
        target="escalated",
        done="Reopened.",
    )
    assert moved.ticket.tier == 2


def test_reopen_needs_a_reason(john, resolved):
    before = snapshot(resolved)
    response = act(john, resolved, "reopen", reason="  ")
    assert_refused(response, resolved, before, "Reopen: A reason to reopen is required.")


@pytest.mark.parametrize(
    "reason, event",
    [("", "Closed by John Doe"), ("Karen confirmed.", "Closed by John Doe: Karen confirmed.")],
)
def test_close_a_resolved_ticket(john, lab, resolved, reason, event):
    before = snapshot(resolved)
    response = act(john, resolved, "close", reason=reason)
    moved = assert_done(
        response,
        resolved,
        before,
        name="close",
        actor=lab.john,
        source="resolved",
        target="closed",
        done="Closed.",
    )
    assert moved.events == [event]
    assert moved.ticket.closed_at is not None
    assert [m.to for m in mail.outbox] == [["karen@example.com"]]


def test_cancel_with_a_reason(john, lab, ticket):
    before = snapshot(ticket)
    response = act(john, ticket, "cancel", reason="Duplicate of an earlier ticket.")
    moved = assert_done(
        response,
        ticket,
        before,
        name="cancel",
        actor=lab.john,
        source="open",
        target="closed",
        done="Cancelled.",
    )
    assert moved.events == ["Cancelled by John Doe: Duplicate of an earlier ticket."]
    assert moved.transitions[0].reason == "Duplicate of an earlier ticket."
    assert moved.ticket.closed_at is not None


def test_cancel_needs_a_reason(john, ticket):
    before = snapshot(ticket)
    assert_refused(
        act(john, ticket, "cancel", reason=""), ticket, before, "Cancel: A reason to cancel is required."
    )


def test_assign_needs_an_agent_or_a_team(john, ticket):
    before = snapshot(ticket)
    response = act(john, ticket, "assign")
    assert_refused(response, ticket, before, "Assign: Choose an agent, a team or both.")


def test_an_action_without_the_version_is_refused(john, ticket):
    before = snapshot(ticket)
    response = john.post(reverse("agents:action", args=[ticket.number, "claim"]))
    assert_refused(response, ticket, before, "Take it: This field is required.")


def test_an_unknown_action_is_404_and_a_get_is_not_allowed(john, ticket):
    assert act(john, ticket, "delete").status_code == 404
    assert john.get(reverse("agents:action", args=[ticket.number, "claim"])).status_code == 405
    assert stored(ticket).state == State.OPEN


# -- the whole table: from every state, each action as a Supreme Admin (who may do anything) --------


def _bring_to(ticket: Ticket, state: str, lab) -> Ticket:
    """The ticket in ``state``, with Jane as its assignee wherever it has one."""
    jane = lab.jane
    if state == State.OPEN:
        return stored(ticket)
    services.ticket_claim(ticket=ticket, actor=jane)
    if state == State.IN_PROGRESS:
        services.ticket_start_work(ticket=ticket, actor=jane)
    elif state == State.AWAITING_USER:
        services.ticket_request_info(ticket=ticket, actor=jane, message="Which browser?")
    elif state == State.ESCALATED:
        services.ticket_escalate(ticket=ticket, actor=jane, team=lab.online_banking, summary="Up.")
        services.ticket_claim(ticket=ticket, actor=jane)
    elif state in (State.RESOLVED, State.CLOSED):
        services.ticket_resolve(ticket=ticket, actor=jane, message="Fixed.")
        if state == State.CLOSED:
            services.ticket_close(ticket=ticket, actor=jane)
    ticket = stored(ticket)
    assert ticket.state == state
    return ticket


def _data(name: str, lab, tier_3) -> dict:
    return {
        # John, not Jane: assigning the ticket to its assignee again would change nothing.
        "assign": {"agent": lab.john},
        "claim": {},
        "start_work": {},
        "request_info": {"message": "Which device?"},
        "escalate": {"team": tier_3, "summary": "Over to the platform team."},
        "resolve": {"message": "Fixed for good."},
        "reopen": {"reason": "Broken again."},
        "close": {"reason": ""},
        "cancel": {"reason": "Spam."},
    }[name]


@pytest.mark.parametrize("state", STORED_STATES)
@pytest.mark.parametrize("name", list(ALLOWED))
def test_every_action_follows_the_lifecycle_table(jane, lab, ticket, tier_3, name, state):
    ticket = _bring_to(ticket, state, lab)
    before = snapshot(ticket)
    response = act(jane, ticket, name, **_data(name, lab, tier_3))
    if name == "claim" and state in ALLOWED[name] and ticket.assignee_id == lab.jane.pk:
        # Taking over a ticket that is already hers would change nothing: refused.
        assert_refused(response, ticket, before, "Take it: This ticket is already yours.")
    elif state in ALLOWED[name]:
        moved = assert_done(
            response,
            ticket,
            before,
            name=name,
            actor=lab.jane,
            source=state,
            target=ALLOWED[name][state],
            done=_done(name),
        )
        assert moved.transitions[0].actor_label == "Jane Doe"
    else:
        label = services.ACTION_LABELS[name]
        words = name.replace("_", " ")
        assert_refused(
            response,
            ticket,
            before,
            f"{label}: A ticket that is {State(state).label.lower()} cannot {words}."
            # Closing is the one move whose way forward the message spells out.
            + (" Resolve it first: only resolved tickets can be closed." if name == "close" else ""),
        )


def _done(name: str) -> str:
    from agents.views.actions import ACTIONS

    return ACTIONS[name][2]


def test_the_table_here_is_the_one_in_the_docs():
    """The table above is docs/lifecycle.md's, not one made to fit the code."""
    import re
    from pathlib import Path

    from django.conf import settings

    doc = (Path(settings.BASE_DIR) / "docs" / "lifecycle.md").read_text()
    sources: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `(\w+)`\s*\|([^|]+)\|", doc, flags=re.MULTILINE):
        name, cell = row
        sources.setdefault(name, set()).update(re.findall(r"`(\w+)`", cell))
    for name, moves in ALLOWED.items():
        assert set(moves) == sources[name] - {State.NEW}, name


# -- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALLOWED))
def test_a_view_only_agent_gets_403_and_nothing_changes(browser, lab, ticket, tier_3, viewer, name):
    state = next(iter(ALLOWED[name]))
    ticket = _bring_to(ticket, state, lab)
    before = snapshot(ticket)
    response = act(browser(viewer), ticket, name, **_data(name, lab, tier_3))
    assert response.status_code == 403
    assert snapshot(ticket) == before


@pytest.mark.parametrize(
    "name, data",
    [
        ("resolve", {"message": "Done."}),
        ("start_work", {}),
        ("request_info", {"message": "Which browser?"}),
        ("escalate", {"team": "online_banking", "summary": "Up."}),
    ],
)
def test_john_may_not_work_a_ticket_assigned_to_jane(john, lab, ticket, name, data):
    services.ticket_claim(ticket=ticket, actor=lab.jane)
    ticket = stored(ticket)
    assert ticket.department == lab.support  # John sees it ...
    before = snapshot(ticket)
    data = {k: lab.online_banking if v == "online_banking" else v for k, v in data.items()}
    response = act(john, ticket, name, **data)
    assert response.status_code == 403  # ... but it is not his to work
    assert snapshot(ticket) == before


def test_an_agent_outside_the_ticket_gets_404(browser, stranger, ticket):
    before = snapshot(ticket)
    assert act(browser(stranger), ticket, "claim").status_code == 404
    assert snapshot(ticket) == before


def test_an_action_the_ticket_is_not_ready_for_says_so(john, lab, ticket):
    services.ticket_assign(ticket=ticket, actor=lab.john, team=lab.online_banking)
    before = snapshot(ticket)
    response = act(john, ticket, "resolve", message="Done.")
    # Resolve has no condition: John is neither assignee nor supervisor.
    assert response.status_code == 403
    response = act(john, ticket, "start_work")
    assert_refused(
        response, ticket, before, "Start work: This ticket is not ready to start work (it has no assignee)."
    )


# -- out-of-date pages ----------------------------------------------------------------------------


def test_a_claim_from_an_older_page_is_refused_with_the_new_state(john, jane, lab, ticket):
    shown = stored(ticket).version  # both pages show this version
    response = act(jane, ticket, "claim", version=shown)
    assert ("success", "The ticket is yours.") in said(response)
    before = snapshot(ticket)

    response = act(john, ticket, "claim", version=shown)
    assert_refused(
        response,
        ticket,
        before,
        "This ticket changed since you opened it; nothing was saved. It is now assigned, Jane Doe.",
    )
    ticket = stored(ticket)
    assert ticket.assignee == lab.jane
    assert ticket.transitions.filter(name="claim").count() == 1
    assert not ticket.thread.filter(author_name="John Doe").exists()
    # The page he lands on shows it.
    page = john.get(page_url(ticket)).content.decode()
    assert "changed since you opened it" in page and "Jane Doe" in page


def test_two_agents_taking_it_from_the_same_page_leave_one_assignee(browser, lab, ticket):
    colleague = AgentFactory(username="pat", first_name="Pat", last_name="Lee", departments=[lab.support])
    shown = stored(ticket).version
    outcomes = [said(act(browser(agent), ticket, "claim", version=shown)) for agent in (colleague, lab.john)]
    assert outcomes[0] == [("success", "The ticket is yours.")]
    assert outcomes[1] == [
        ("error", "This ticket changed since you opened it; nothing was saved. It is now assigned, Pat Lee.")
    ]
    ticket = stored(ticket)
    assert ticket.assignee == colleague
    assert ticket.transitions.filter(name="claim").count() == 1
    assert len(events(ticket)) == 2


@pytest.mark.parametrize(
    "name, data",
    [
        ("resolve", {"message": "Done."}),
        ("escalate", {"team": "online_banking", "summary": "Up."}),
        ("assign", {"agent": "john"}),
        ("cancel", {"reason": "Duplicate."}),
    ],
)
def test_any_action_from_an_older_page_overwrites_nothing(john, lab, ticket, name, data):
    services.ticket_claim(ticket=ticket, actor=lab.john)
    shown = stored(ticket).version
    # Meanwhile Jane asks the requester a question.
    services.ticket_request_info(ticket=stored(ticket), actor=lab.jane, message="Which browser?")
    before = snapshot(ticket)
    values = {"online_banking": lab.online_banking, "john": lab.john}
    response = act(john, ticket, name, version=shown, **{k: values.get(v, v) for k, v in data.items()})
    assert_refused(
        response,
        ticket,
        before,
        "This ticket changed since you opened it; nothing was saved. It is now awaiting user, John Doe.",
    )


def test_a_property_change_from_an_older_page_is_refused(john, jane, lab, ticket):
    shown = stored(ticket).version
    jane.post(
        reverse("agents:change_property", args=[ticket.number]),
        {"field": "priority", "priority": Priority.objects.get(name="High").pk, "version": shown},
        HTTP_HX_REQUEST="true",
    )
    before = snapshot(ticket)
    response = john.post(
        reverse("agents:change_property", args=[ticket.number]),
        {"field": "priority", "priority": Priority.objects.get(name="Low").pk, "version": shown},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert (
        "This ticket changed since you opened it; nothing was saved. It is now open, Unassigned." in content
    )
    assert snapshot(ticket) == before
    assert stored(ticket).priority.name == "High"
    # The fragment carries the new version, so the next change from it goes through.
    assert f'name="version" value="{stored(ticket).version}"' in content


def test_a_property_change_from_an_older_page_without_htmx_says_so_on_the_page(john, lab, ticket):
    shown = stored(ticket).version
    services.ticket_claim(ticket=stored(ticket), actor=lab.jane)
    before = snapshot(ticket)
    response = john.post(
        reverse("agents:change_property", args=[ticket.number]),
        {"field": "team", "team": lab.online_banking.pk, "version": shown},
    )
    assert_refused(
        response,
        ticket,
        before,
        "This ticket changed since you opened it; nothing was saved. It is now assigned, Jane Doe.",
    )
    assert stored(ticket).transitions.filter(name="assign").count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_take_its_through_the_console_leave_one_assignee(browser, lab, new_ticket):
    ticket = new_ticket()
    colleague = AgentFactory(username="pat", departments=[lab.support])
    shown = ticket.version
    clients = {agent.username: browser(agent) for agent in (lab.john, colleague)}
    barrier = threading.Barrier(2)
    outcomes: dict[str, list] = {}

    def take_it(username):
        try:
            barrier.wait()
            response = clients[username].post(
                reverse("agents:action", args=[ticket.number, "claim"]), {"version": shown}
            )
            outcomes[username] = [level for level, _ in said(response)]
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take_it, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == [["error"], ["success"]]
    ticket = stored(ticket)
    winner = next(name for name, levels in outcomes.items() if levels == ["success"])
    assert ticket.assignee.username == winner
    assert ticket.transitions.filter(name="claim").count() == 1
