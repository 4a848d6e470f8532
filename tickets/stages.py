"""The eight stages in order, and where a ticket stands on them (portal and console)."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.models import PUBLIC_STAGE_LABELS, State, Ticket

STAGES = (
    (State.NEW, "Creation"),
    (State.OPEN, "Intake"),
    (State.ASSIGNED, "Assignment"),
    # A soft hyphen: in a narrow strip the word breaks as "Commu-nication", not mid-letter.
    (State.AWAITING_USER, "Commu\u00adnication"),
    (State.IN_PROGRESS, "Work"),
    (State.ESCALATED, "Escalation"),
    (State.RESOLVED, "Resolution"),
    (State.CLOSED, "Closure"),
)


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    label: str
    status: str  # "done", "current" or "todo"


def progress(ticket: Ticket, visited: set[str], *, public: bool) -> list[Step]:
    """The eight steps, marked done (the ticket went through it), current, or still to come.

    ``public`` labels them as the requester is told (docs/lifecycle.md); otherwise with
    the state's name, as agents know it.
    """
    steps = []
    for number, (state, name) in enumerate(STAGES, start=1):
        if state == ticket.state:
            status = "current"
        elif state in visited or state == State.NEW:
            status = "done"
        else:
            status = "todo"
        label = PUBLIC_STAGE_LABELS[state] if public else State(state).label
        steps.append(Step(number, name, label, status))
    return steps
