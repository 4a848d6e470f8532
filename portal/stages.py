"""How the portal tells a requester what happens next with their ticket."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tickets.models import State

NEXT_STEP = {
    State.NEW: _("We are recording your ticket."),
    State.OPEN: _("We have your ticket and will pass it to the right team shortly."),
    State.ASSIGNED: _("The right team has your ticket; an agent will start on it soon."),
    State.AWAITING_USER: _("We asked you a question — reply below."),
    State.IN_PROGRESS: _("An agent is working on it. We will write here when there is news."),
    State.ESCALATED: _("A specialist team is working on it. We will write here when there is news."),
    State.RESOLVED: _("We think it is fixed. Tell us below whether it works for you."),
    State.CLOSED: _("This ticket is closed. If the problem is back, open a follow-up ticket below."),
}
