"""The actions a user may take on a ticket, and bulk actions over many."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.models import (
    Ticket,
)
from tickets.services._common import TicketActionError
from tickets.services.checks import ACTION_LABELS, move_checks
from tickets.services.incidents import ticket_link_incident
from tickets.services.moves import ticket_assign, ticket_cancel, ticket_claim, ticket_close


@dataclass(frozen=True)
class AvailableAction:
    name: str
    label: str


def available_actions(*, ticket: Ticket, actor: Any) -> list[AvailableAction]:
    """The moves this user may run on this ticket now (for buttons, the admin and the API), as
    ``move_checks`` decides them; the callers show a ticket the user sees, so visibility is not
    read again."""
    return [
        AvailableAction(check.name, check.label)
        for check in move_checks(ticket=ticket, actor=actor, visible=True)
        if check.allowed
    ]


# -- bulk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    ticket: Ticket
    ok: bool
    message: str


BULK_ACTIONS: dict[str, Callable[..., Any]] = {
    "assign": ticket_assign,
    "claim": ticket_claim,
    "close": ticket_close,
    "cancel": ticket_cancel,
    # With ``incident=``: each ticket linked to it as a report.
    "link_incident": ticket_link_incident,
}
BULK_LABELS = {**ACTION_LABELS, "link_incident": gettext_lazy("Link to the incident")}


def tickets_bulk(*, tickets: Sequence[Ticket], actor: Any, action: str, **kwargs: Any) -> list[BulkOutcome]:
    """Run one action on several tickets, each in its own transaction: one refusal does not
    undo the others, and each outcome says what happened to that ticket."""
    service = BULK_ACTIONS[action]
    outcomes = []
    for ticket in tickets:
        try:
            service(ticket=ticket, actor=actor, **kwargs)
        except (TicketActionError, PermissionDenied) as exc:
            outcomes.append(BulkOutcome(ticket, False, str(exc)))
        else:
            # Translators: %(action)s is the name of a bulk action, e.g. "Close".
            done = _("%(action)s: done") % {"action": BULK_LABELS[action]}
            outcomes.append(BulkOutcome(ticket, True, done))
    return outcomes
