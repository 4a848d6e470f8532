"""The eight stages in order, and where a ticket stands on them (portal and console)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from tickets.models import PUBLIC_STAGE_LABELS, State, Ticket

# The stages' names, as nouns (the context tells translators so: "Work" is not the verb).
STAGES = (
    (State.NEW, pgettext_lazy("stage of a ticket", "Creation")),
    (State.OPEN, pgettext_lazy("stage of a ticket", "Intake")),
    (State.ASSIGNED, pgettext_lazy("stage of a ticket", "Assignment")),
    # A soft hyphen (U+00AD, written as itself, not as an escape, which xgettext would keep as
    # typed): in a narrow strip the word breaks as "Commu-nication", not mid-letter.
    # Translators: a stage of a ticket (the requester is asked a question). It holds a soft hyphen
    # (U+00AD) where the word may break in a narrow strip; put one where your word may break, or none.
    (State.AWAITING_USER, pgettext_lazy("stage of a ticket", "Commu­nication")),
    (State.IN_PROGRESS, pgettext_lazy("stage of a ticket", "Work")),
    (State.ESCALATED, pgettext_lazy("stage of a ticket", "Escalation")),
    (State.RESOLVED, pgettext_lazy("stage of a ticket", "Resolution")),
    (State.CLOSED, pgettext_lazy("stage of a ticket", "Closure")),
)


@dataclass(frozen=True)
class Step:
    number: int
    name: str | Promise  # translated lazily
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
