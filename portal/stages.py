"""How the portal tells a requester where their ticket is and what happens next."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.models import PUBLIC_STAGE_LABELS, State, Ticket

# The eight stages of docs/lifecycle.md, in order, with a short name for each.
STAGES = (
    (State.NEW, "Creation"),
    (State.OPEN, "Intake"),
    (State.ASSIGNED, "Assignment"),
    (State.AWAITING_USER, "Your input"),
    (State.IN_PROGRESS, "Work"),
    (State.ESCALATED, "Escalation"),
    (State.RESOLVED, "Resolution"),
    (State.CLOSED, "Closure"),
)

NEXT_STEP = {
    State.NEW: "We are recording your ticket.",
    State.OPEN: "We have your ticket and will pass it to the right team shortly.",
    State.ASSIGNED: "The right team has your ticket; an agent will start on it soon.",
    State.AWAITING_USER: "We asked you a question — reply below.",
    State.IN_PROGRESS: "An agent is working on it. We will write here when there is news.",
    State.ESCALATED: "A specialist team is working on it. We will write here when there is news.",
    State.RESOLVED: "We think it is fixed. Tell us below whether it works for you.",
    State.CLOSED: "This ticket is closed. If the problem is back, open a follow-up ticket below.",
}


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    label: str
    status: str  # "done", "current" or "todo"


def progress(ticket: Ticket, visited: set[str]) -> list[Step]:
    """The eight steps, marked done (the ticket went through it), current, or still to come."""
    steps = []
    for number, (state, name) in enumerate(STAGES, start=1):
        if state == ticket.state:
            status = "current"
        elif state in visited or state == State.NEW:
            status = "done"
        else:
            status = "todo"
        steps.append(Step(number, name, PUBLIC_STAGE_LABELS[state], status))
    return steps
