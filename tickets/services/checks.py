"""Whether a move of the lifecycle is open to a user on a ticket now, and if not, why.

One function decides it for both sides: ``_common._run`` refuses a move with the refusal found
here, and the console lists every move with it (the open ones as buttons, the others greyed
with their reason), so what an agent is shown and what the server enforces cannot drift apart.
The decision itself is ``django_fsm``'s (the transition's sources, its conditions, its
permission from ``tickets.rules``) plus the services' own preconditions (a move that would
change nothing); this module only adds the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_fsm import can_proceed, has_transition_perm

from tickets import rules, selectors
from tickets.models import State, Ticket

ACTION_LABELS = {
    "assign": "Assign",
    "claim": "Take it",
    "start_work": "Start work",
    "request_info": "Ask the requester",
    "escalate": "Escalate",
    "resolve": "Resolve",
    "reopen": "Reopen",
    "close": "Close",
    "cancel": "Cancel",
}

# The agents' moves, in the order the console shows them.
LIFECYCLE_MOVES = list(ACTION_LABELS)

ACTIVE = (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED)

# Why a move is not open from a state: (move, state) first, then the state alone.
_STATE_REASONS: dict[tuple[str, str], str] = {
    ("start_work", State.OPEN): "assign it or take it first",
    ("start_work", State.IN_PROGRESS): "work has already started",
    ("start_work", State.ESCALATED): "an escalated ticket is worked on as it is",
    ("start_work", State.AWAITING_USER): "it is waiting for the requester",
    ("claim", State.IN_PROGRESS): "work has started on it: use Assign instead",
    ("request_info", State.OPEN): "assign it first",
    ("request_info", State.AWAITING_USER): "it is already waiting for the requester",
    ("escalate", State.OPEN): "assign it first",
    ("resolve", State.OPEN): "needs an assignee: assign it or take it first",
    ("resolve", State.RESOLVED): "it is already resolved",
    ("reopen", State.CLOSED): "it is closed: the requester's next message opens a follow-up",
    ("close", State.CLOSED): "it is already closed",
    ("close", State.OPEN): "resolve it first, or cancel it if it needs no work",
    ("close", State.ASSIGNED): "resolve it first, or cancel it if it needs no work",
    ("cancel", State.RESOLVED): "it is resolved: close it instead",
    ("cancel", State.CLOSED): "it is already closed",
}
_STATE_ALONE: dict[str, str] = {
    State.NEW: "it is not through intake yet",
    State.AWAITING_USER: "it is waiting for the requester",
    State.RESOLVED: "it is resolved: reopen it first",
    State.CLOSED: "it is closed",
}
_BY_MOVE: dict[str, str] = {
    "reopen": "only a resolved ticket reopens",
    "close": "resolve it first",
    "cancel": "work has started on it: resolve it instead",
}


@dataclass(frozen=True)
class Refusal:
    """Why a move is refused: ``reason`` is the short words the console shows beside it,
    ``message`` the sentence the service raises; ``permission`` says it is about who the user
    is (``PermissionDenied``) rather than where the ticket is (``TicketActionError``)."""

    reason: str
    message: str
    permission: bool = False


@dataclass(frozen=True)
class MoveCheck:
    """One move of the lifecycle for one user on one ticket: open now, or why not."""

    name: str
    label: str
    refusal: Refusal | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def reason(self) -> str:
        return self.refusal.reason if self.refusal else ""


def _words(name: str) -> str:
    return name.replace("_", " ")


def _state_reason(name: str, state: str) -> str:
    return (
        _STATE_REASONS.get((name, state))
        or _BY_MOVE.get(name if state in ACTIVE or state == State.OPEN else "")
        or _STATE_ALONE.get(state)
        or f"not while it is {State(state).label.lower()}"
    )


def _permission_reason(name: str, ticket: Ticket, user: Any) -> str:
    """Who may run the move, in the user's terms (``tickets.rules`` decided that they may not)."""
    if not rules.is_agent(user):
        return "only agents"
    if name == "assign":
        return "your role may not assign tickets"
    if name == "claim":
        if not (user.has_perm("tickets.claim_ticket") and user.has_perm("tickets.work_ticket")):
            return "your role may not take tickets"
        return "only its department's and team's agents, and supervisors"
    if not user.has_perm("tickets.work_ticket") and name in ("start_work", "request_info", "resolve"):
        return "your role may not work on tickets"
    if name == "start_work":
        return "only its assignee"
    if name == "escalate" and not user.has_perm("tickets.escalate_ticket"):
        return "your role may not escalate tickets"
    if name in ("request_info", "escalate", "resolve"):
        return "only its assignee or a supervisor"
    if name == "reopen":
        return "your role may not reopen tickets"
    return f"your role may not {_words(name)} tickets"


def _already(name: str, ticket: Ticket, user: Any) -> Refusal | None:
    """The services' own preconditions: a move that would change nothing is refused."""
    if name == "claim" and user is not None and ticket.assignee_id == user.pk:
        return Refusal("it is already yours", "This ticket is already yours.")
    return None


# Said after "A ticket that is ... cannot <move>." where the way forward is not obvious.
_WHAT_TO_DO_INSTEAD = {"close": " Resolve it first: only resolved tickets can be closed."}


def move_refusal(ticket: Ticket, name: str, actor: Any, *, visible: bool | None = None) -> Refusal | None:
    """Why ``actor`` (None: the system) may not run the move ``name`` on ``ticket`` now, or None.

    Checked in the order the service always checked: the ticket's state, then (for a person)
    whether they see the ticket, the transition's conditions, its permission, and last what
    the service itself requires. ``visible`` is given by a caller that has already checked it.
    """
    method = getattr(ticket, name)
    if not can_proceed(method, check_conditions=False):
        state = ticket.get_state_display().lower()
        message = f"A ticket that is {state} cannot {_words(name)}." + _WHAT_TO_DO_INSTEAD.get(name, "")
        return Refusal(_state_reason(name, ticket.state), message)
    if actor is None:
        return None
    if visible is None:
        visible = selectors.ticket_visible_to(actor, ticket)
    if not visible:
        return Refusal("you cannot see this ticket", "You cannot see this ticket.", permission=True)
    if not can_proceed(method):
        return Refusal(
            "needs an assignee", f"This ticket is not ready to {_words(name)} (it has no assignee)."
        )
    if not has_transition_perm(method, actor):
        return Refusal(
            _permission_reason(name, ticket, actor),
            f"You may not {_words(name)} this ticket.",
            permission=True,
        )
    return _already(name, ticket, actor)


def move_checks(*, ticket: Ticket, actor: Any, visible: bool | None = None) -> list[MoveCheck]:
    """Every move of the lifecycle for this user on this ticket: open now, or why not (for the
    console's buttons and the greyed moves beside them)."""
    if visible is None:
        visible = selectors.ticket_visible_to(actor, ticket)
    return [
        MoveCheck(name, ACTION_LABELS[name], move_refusal(ticket, name, actor, visible=visible))
        for name in LIFECYCLE_MOVES
    ]

