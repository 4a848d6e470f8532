"""How the portal tells a requester what happens next with their ticket."""

from __future__ import annotations

from tickets.models import State

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
