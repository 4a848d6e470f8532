"""The state machine on Ticket is exactly the table of docs/lifecycle.md."""

import re
from pathlib import Path

import pytest
from django_fsm import GET_STATE, RETURN_VALUE, TransitionNotAllowed

from tickets.models import State, Team, Ticket

ROOT = Path(__file__).resolve().parents[2]
STATES = {s.value for s in State}


def documented_table() -> set[tuple[str, str, frozenset[str]]]:
    """(transition, from, possible targets) for every row of the doc's transitions table."""
    text = (ROOT / "docs" / "lifecycle.md").read_text()
    section = text.split("## Transitions", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        targets = frozenset(re.findall(r"`(\w+)`", cells[2]))
        for source in re.findall(r"`(\w+)`", cells[1]):
            rows.add((name, source, targets))
    return rows


def model_table() -> set[tuple[str, str, frozenset[str]]]:
    rows = set()
    for t in Ticket._meta.get_field("state").get_all_transitions(Ticket):
        targets = (
            frozenset(t.target.allowed_states)
            if isinstance(t.target, GET_STATE | RETURN_VALUE)
            else frozenset([t.target])
        )
        rows.add((t.name, t.source, targets))
    return rows


def test_the_doc_table_names_only_real_states():
    table = documented_table()
    assert len(table) >= 25
    for _, source, targets in table:
        assert source in STATES
        assert targets <= STATES and targets


def test_model_transitions_match_the_documented_table():
    assert model_table() == documented_table()


def _arguments(name: str) -> dict:
    team = Team(name="Tier 9", tier=9)
    return {
        "intake": {
            "number": "1",
            "help_topic": None,
            "department": None,
            "priority": None,
            "sla": None,
            "team": None,
        },
        "assign": {"agent": None, "team": team},
        "claim": {"agent": None},
        "escalate": {"team": team, "department": None},
        "resolve": {"at": None},
        "close": {"at": None},
        "cancel": {"at": None},
        "merge": {"into": Ticket(pk=99, state=State.OPEN), "at": None},
    }.get(name, {})


ALLOWED = {(name, source) for name, source, _ in documented_table()}
TRANSITIONS = sorted({name for name, _, _ in documented_table()})


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("name", TRANSITIONS)
def test_every_pair_outside_the_table_is_refused(state, name):
    ticket = Ticket(state=state, tier=1, assignee_id=1)
    if (name, state) in ALLOWED:
        getattr(ticket, name)(**_arguments(name))
        assert ticket.state in next(t for n, s, t in documented_table() if (n, s) == (name, state))
    else:
        with pytest.raises(TransitionNotAllowed):
            getattr(ticket, name)(**_arguments(name))
        assert ticket.state == state


def test_state_is_protected():
    ticket = Ticket(state=State.OPEN)
    with pytest.raises(AttributeError):
        ticket.state = State.CLOSED


def test_returning_work_goes_back_to_the_tier_it_was_at():
    tier_one = Ticket(state=State.AWAITING_USER, tier=1)
    tier_one.receive_reply()
    assert tier_one.state == State.IN_PROGRESS
    tier_two = Ticket(state=State.RESOLVED, tier=2)
    tier_two.reopen()
    assert tier_two.state == State.ESCALATED
    assert tier_two.reopen_count == 1


STATE_WRITE = re.compile(
    r"\.state\s*=[^=]"
    r"|(update|create|get_or_create|update_or_create|Ticket)\([^)]*\bstate\s*="
    r"|setattr\([^)]*['\"]state['\"]"
)


def test_nothing_in_the_code_assigns_state_directly():
    offenders = []
    pattern = STATE_WRITE
    for folder in ("tickets", "portal", "agents", "api", "helpdesk"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and "FSMField(" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_state_check_would_catch_an_assignment():
    # The scan above is only worth something if it sees the forms it forbids.
    for line in (
        "ticket.state = 'closed'",
        "Ticket.objects.filter(pk=1).update(state='closed')",
        "Ticket.objects.create(subject='x', state=State.OPEN)",
        "Ticket(subject='x', state='open')",
        "setattr(ticket, 'state', 'closed')",
    ):
        assert STATE_WRITE.search(line), line
    for line in ("if ticket.state == State.OPEN:", "Ticket.objects.filter(state=State.OPEN)"):
        assert not STATE_WRITE.search(line), line
