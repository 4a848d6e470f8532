"""Who may run each lifecycle transition, and the conditions on the ticket itself.

Permissions take ``(ticket, user)`` and are checked by the services with
``has_transition_perm``; conditions take the ticket alone and are pure predicates.
What a user may *see* is decided in ``tickets.selectors``.
"""

from __future__ import annotations

from typing import Any, Protocol


class Ticket(Protocol):
    """What the rules read of a ticket (``tickets.models.Ticket``, which imports this module)."""

    assignee_id: int | None
    department_id: int | None
    team_id: int | None
    requester: Any


# -- conditions ----------------------------------------------------------------------------


def has_assignee(ticket: Ticket) -> bool:
    return ticket.assignee_id is not None


# -- permissions ---------------------------------------------------------------------------


def nobody(ticket: Ticket, user: Any) -> bool:
    """Only the system runs this transition (the services call it with no user)."""
    return False


def is_agent(user: Any) -> bool:
    return bool(user.is_active and user.is_staff)


def is_requester(ticket: Ticket, user: Any) -> bool:
    return user.is_active and ticket.requester.user_id is not None and ticket.requester.user_id == user.pk


def is_assignee(ticket: Ticket, user: Any) -> bool:
    return is_agent(user) and ticket.assignee_id == user.pk and user.has_perm("tickets.work_ticket")


def is_supervisor(user: Any) -> bool:
    return is_agent(user) and user.has_perm("tickets.supervise_ticket")


def is_assignee_or_supervisor(ticket: Ticket, user: Any) -> bool:
    return is_assignee(ticket, user) or is_supervisor(user)


def is_member_of_ticket_group(ticket: Ticket, user: Any) -> bool:
    """The agent belongs to the ticket's department or to its team."""
    profile = getattr(user, "agent", None)
    if profile is None:
        return False
    if ticket.team_id is not None and profile.teams.filter(pk=ticket.team_id).exists():
        return True
    return ticket.department_id is not None and profile.departments.filter(pk=ticket.department_id).exists()


def can_claim(ticket: Ticket, user: Any) -> bool:
    return (
        is_agent(user)
        and user.has_perm("tickets.claim_ticket")
        and user.has_perm("tickets.work_ticket")
        and (is_supervisor(user) or is_member_of_ticket_group(ticket, user))
    )


def can_escalate(ticket: Ticket, user: Any) -> bool:
    return user.has_perm("tickets.escalate_ticket") and is_assignee_or_supervisor(ticket, user)


def can_reopen(ticket: Ticket, user: Any) -> bool:
    return is_requester(ticket, user) or (is_agent(user) and user.has_perm("tickets.work_ticket"))


def can_close(ticket: Ticket, user: Any) -> bool:
    return is_requester(ticket, user) or (is_agent(user) and user.has_perm("tickets.close_ticket"))
