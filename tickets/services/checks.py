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

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_fsm import can_proceed, has_transition_perm

from tickets import locales, rules, selectors
from tickets.models import State, Ticket

ACTION_LABELS = {
    "assign": pgettext_lazy("ticket action", "Assign"),
    "claim": gettext_lazy("Take it"),
    "start_work": gettext_lazy("Start work"),
    "request_info": gettext_lazy("Ask the requester"),
    "escalate": pgettext_lazy("ticket action", "Escalate"),
    "resolve": pgettext_lazy("ticket action", "Resolve"),
    "reopen": pgettext_lazy("ticket action", "Reopen"),
    "close": pgettext_lazy("ticket action", "Close"),
    "cancel": pgettext_lazy("ticket action", "Cancel"),
}

# The agents' moves, in the order the console shows them.
LIFECYCLE_MOVES = list(ACTION_LABELS)

ACTIVE = (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED)

# Why a move is not open from a state: (move, state) first, then the state alone.
_STATE_REASONS: dict[tuple[str, str], Any] = {
    ("start_work", State.OPEN): gettext_lazy("assign it or take it first"),
    ("start_work", State.IN_PROGRESS): gettext_lazy("work has already started"),
    ("start_work", State.ESCALATED): gettext_lazy("an escalated ticket is worked on as it is"),
    ("start_work", State.AWAITING_USER): gettext_lazy("it is waiting for the requester"),
    ("claim", State.IN_PROGRESS): gettext_lazy("work has started on it: use Assign instead"),
    ("request_info", State.OPEN): gettext_lazy("assign it first"),
    ("request_info", State.AWAITING_USER): gettext_lazy("it is already waiting for the requester"),
    ("escalate", State.OPEN): gettext_lazy("assign it first"),
    ("resolve", State.OPEN): gettext_lazy("needs an assignee: assign it or take it first"),
    ("resolve", State.RESOLVED): gettext_lazy("it is already resolved"),
    ("reopen", State.CLOSED): gettext_lazy("it is closed: the requester's next message opens a follow-up"),
    ("close", State.CLOSED): gettext_lazy("it is already closed"),
    ("close", State.OPEN): gettext_lazy("resolve it first, or cancel it if it needs no work"),
    ("close", State.ASSIGNED): gettext_lazy("resolve it first, or cancel it if it needs no work"),
    ("cancel", State.RESOLVED): gettext_lazy("it is resolved: close it instead"),
    ("cancel", State.CLOSED): gettext_lazy("it is already closed"),
}
_STATE_ALONE: dict[str, Any] = {
    State.NEW: gettext_lazy("it is not through intake yet"),
    State.AWAITING_USER: gettext_lazy("it is waiting for the requester"),
    State.RESOLVED: gettext_lazy("it is resolved: reopen it first"),
    State.CLOSED: gettext_lazy("it is closed"),
}
_BY_MOVE: dict[str, Any] = {
    "reopen": gettext_lazy("only a resolved ticket reopens"),
    "close": gettext_lazy("resolve it first"),
    "cancel": gettext_lazy("work has started on it: resolve it instead"),
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


# The refusals' sentences, one for each move of the lifecycle (a whole sentence each, so that it
# translates as one). ``%(state)s`` is the ticket's state in lower case ("resolved", "closed").
_CANNOT_FROM_STATE: dict[str, Any] = {
    # Translators: %(state)s is a ticket state in lower case, e.g. "closed".
    "intake": gettext_lazy("A ticket that is %(state)s cannot intake."),
    "assign": gettext_lazy("A ticket that is %(state)s cannot assign."),
    "claim": gettext_lazy("A ticket that is %(state)s cannot claim."),
    "start_work": gettext_lazy("A ticket that is %(state)s cannot start work."),
    "request_info": gettext_lazy("A ticket that is %(state)s cannot request info."),
    "receive_reply": gettext_lazy("A ticket that is %(state)s cannot receive reply."),
    "escalate": gettext_lazy("A ticket that is %(state)s cannot escalate."),
    "resolve": gettext_lazy("A ticket that is %(state)s cannot resolve."),
    "reopen": gettext_lazy("A ticket that is %(state)s cannot reopen."),
    "close": gettext_lazy(
        "A ticket that is %(state)s cannot close. Resolve it first: only resolved tickets can be closed."
    ),
    "cancel": gettext_lazy("A ticket that is %(state)s cannot cancel."),
    "merge": gettext_lazy("A ticket that is %(state)s cannot merge."),
}
_NOT_READY: dict[str, Any] = {
    "start_work": gettext_lazy("This ticket is not ready to start work (it has no assignee)."),
    "request_info": gettext_lazy("This ticket is not ready to request info (it has no assignee)."),
}
_MAY_NOT: dict[str, Any] = {
    "intake": gettext_lazy("You may not intake this ticket."),
    "assign": gettext_lazy("You may not assign this ticket."),
    "claim": gettext_lazy("You may not claim this ticket."),
    "start_work": gettext_lazy("You may not start work this ticket."),
    "request_info": gettext_lazy("You may not request info this ticket."),
    "receive_reply": gettext_lazy("You may not receive reply this ticket."),
    "escalate": gettext_lazy("You may not escalate this ticket."),
    "resolve": gettext_lazy("You may not resolve this ticket."),
    "reopen": gettext_lazy("You may not reopen this ticket."),
    "close": gettext_lazy("You may not close this ticket."),
    "cancel": gettext_lazy("You may not cancel this ticket."),
    "merge": gettext_lazy("You may not merge this ticket."),
}
_ROLE_MAY_NOT: dict[str, Any] = {
    "intake": gettext_lazy("your role may not intake tickets"),
    "receive_reply": gettext_lazy("your role may not receive reply tickets"),
    "resolve": gettext_lazy("your role may not resolve tickets"),
    "close": gettext_lazy("your role may not close tickets"),
    "cancel": gettext_lazy("your role may not cancel tickets"),
    "merge": gettext_lazy("your role may not merge tickets"),
}


def _state_reason(name: str, state: str) -> str:
    reason = (
        _STATE_REASONS.get((name, state))
        or _BY_MOVE.get(name if state in ACTIVE or state == State.OPEN else "")
        or _STATE_ALONE.get(state)
    )
    if reason is not None:
        return str(reason)
    # Translators: %(state)s is a ticket state in lower case, e.g. "escalated".
    return _("not while it is %(state)s") % {"state": locales.in_sentence(State(state).label)}


def _permission_reason(name: str, ticket: Ticket, user: Any) -> str:
    """Who may run the move, in the user's terms (``tickets.rules`` decided that they may not)."""
    if not rules.is_agent(user):
        return _("only agents")
    if name == "assign":
        return _("your role may not assign tickets")
    if name == "claim":
        if not (user.has_perm("tickets.claim_ticket") and user.has_perm("tickets.work_ticket")):
            return _("your role may not take tickets")
        return _("only its department's and team's agents, and supervisors")
    if not user.has_perm("tickets.work_ticket") and name in ("start_work", "request_info", "resolve"):
        return _("your role may not work on tickets")
    if name == "start_work":
        return _("only its assignee")
    if name == "escalate" and not user.has_perm("tickets.escalate_ticket"):
        return _("your role may not escalate tickets")
    if name in ("request_info", "escalate", "resolve"):
        return _("only its assignee or a supervisor")
    if name == "reopen":
        return _("your role may not reopen tickets")
    if name in _ROLE_MAY_NOT:
        return str(_ROLE_MAY_NOT[name])
    return f"your role may not {_words(name)} tickets"


def _already(name: str, ticket: Ticket, user: Any) -> Refusal | None:
    """The services' own preconditions: a move that would change nothing is refused."""
    if name == "claim" and user is not None and ticket.assignee_id == user.pk:
        return Refusal(_("it is already yours"), _("This ticket is already yours."))
    return None


def move_refusal(ticket: Ticket, name: str, actor: Any, *, visible: bool | None = None) -> Refusal | None:
    """Why ``actor`` (None: the system) may not run the move ``name`` on ``ticket`` now, or None.

    Checked in the order the service always checked: the ticket's state, then (for a person)
    whether they see the ticket, the transition's conditions, its permission, and last what
    the service itself requires. ``visible`` is given by a caller that has already checked it.
    """
    method = getattr(ticket, name)
    if not can_proceed(method, check_conditions=False):
        state = locales.in_sentence(ticket.get_state_display())
        if name in _CANNOT_FROM_STATE:
            message = _CANNOT_FROM_STATE[name] % {"state": state}
        else:  # not a move of the lifecycle: no words of ours to translate
            message = f"A ticket that is {state} cannot {_words(name)}."
        return Refusal(_state_reason(name, ticket.state), message)
    if actor is None:
        return None
    if visible is None:
        visible = selectors.ticket_visible_to(actor, ticket)
    if not visible:
        return Refusal(_("you cannot see this ticket"), _("You cannot see this ticket."), permission=True)
    if not can_proceed(method):
        message = (
            str(_NOT_READY[name])
            if name in _NOT_READY
            else f"This ticket is not ready to {_words(name)} (it has no assignee)."
        )
        return Refusal(_("needs an assignee"), message)
    if not has_transition_perm(method, actor):
        message = str(_MAY_NOT[name]) if name in _MAY_NOT else f"You may not {_words(name)} this ticket."
        return Refusal(_permission_reason(name, ticket, actor), message, permission=True)
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

