"""The agents' moves through the state machine: assign, claim, start, ask, escalate,
resolve, reopen, close, cancel."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import (
    Department,
    Team,
    ThreadEntry,
    Ticket,
    TicketTransition,
)
from tickets.services import incidents
from tickets.services._common import (
    TicketActionError,
    _actor_label,
    _add_entry,
    _mark_first_response,
    _require_text,
    _run,
    _system_name,
    assignment_label,
    display_name,
)

# -- the lifecycle ---------------------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    actor: Any,
    agent: Any = None,
    team: Team | None = None,
    department: Department | None = None,
) -> TicketTransition:
    """Assign to an agent and/or a team; naming another department transfers the ticket."""
    if agent is not None and not (agent.is_active and agent.is_staff):
        raise TicketActionError(_("%(name)s is not an active agent.") % {"name": display_name(agent)})
    return _run(
        ticket,
        "assign",
        actor=actor,
        agent=agent,
        team=team,
        department=department,
        event=lambda t: (
            f"Assigned to {assignment_label(t)} by {display_name(actor)}"
            + (f" (transferred to {department})" if department else "")
        ),
    )


@transaction.atomic
def ticket_claim(*, ticket: Ticket, actor: Any) -> TicketTransition:
    return _run(
        ticket,
        "claim",
        actor=actor,
        agent=actor,
        event=lambda t: f"{display_name(actor)} took the ticket over: {assignment_label(t)}",
    )


@transaction.atomic
def ticket_start_work(*, ticket: Ticket, actor: Any) -> TicketTransition:
    return _run(ticket, "start_work", actor=actor, event=lambda t: f"{display_name(actor)} started work")



@transaction.atomic
def ticket_request_info(*, ticket: Ticket, actor: Any, message: str) -> TicketTransition:
    """Ask the requester a question; the ticket waits for them (and the SLA clock pauses)."""
    message = _require_text(message, _("A question for the requester is required."))
    log = _run(
        ticket,
        "request_info",
        actor=actor,
        prepare=lambda t: _mark_first_response(t, at=timezone.now()),
        event=lambda t: f"{display_name(actor)} asked the requester for information",
    )
    _add_entry(ticket, kind=ThreadEntry.Kind.REPLY, body=message, actor=actor, notify="question")
    return log



@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    actor: Any,
    summary: str,
    team: Team | None = None,
    department: Department | None = None,
    system_rule: str | None = None,
) -> TicketTransition:
    """Hand the ticket to a higher-tier team or department with a summary for them."""
    summary = _require_text(summary, _("A hand-off summary is required."))
    log = _run(
        ticket,
        "escalate",
        actor=actor,
        system_rule=system_rule,
        reason=summary,
        team=team,
        department=department,
        event=lambda t: (
            f"Escalated by {_actor_label(actor, system_rule)} to {assignment_label(t)} "
            f"(department {t.department}, tier {t.tier})"
        ),
    )
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.NOTE,
        body=f"Hand-off summary: {summary}",
        actor=actor,
        author_name=log.actor_label,
    )
    return log


@transaction.atomic
def ticket_resolve(
    *, ticket: Ticket, actor: Any, message: str, system_rule: str | None = None
) -> TicketTransition:
    """Resolve with a public message that tells the requester what was done."""
    message = _require_text(message, _("A resolution message is required."))
    now = timezone.now()
    log = _run(
        ticket,
        "resolve",
        actor=actor,
        system_rule=system_rule,
        at=now,
        prepare=lambda t: _mark_first_response(t, at=now),
        event=lambda t: f"Resolved by {_actor_label(actor, system_rule)}",
    )
    _add_entry(
        ticket,
        kind=ThreadEntry.Kind.REPLY,
        body=message,
        actor=actor,
        author_name=_system_name(actor),
        notify="resolution",
    )
    if ticket.is_major_incident:
        incidents.resolve_reports(ticket, message=message, actor=actor, at=now)
    return log


@transaction.atomic
def ticket_reopen(
    *, ticket: Ticket, actor: Any, reason: str, system_rule: str | None = None
) -> TicketTransition:
    """The fix did not hold: back to work at the tier it was at.

    ``actor=None`` is the requester acting through a signed ticket link (``system_rule``
    names the channel); a requester's reason lands in the thread as their message, an
    agent's in the event.
    """
    return _reopen(ticket, actor=actor, reason=reason, system_rule=system_rule)[0]


def _reopen(
    ticket: Ticket, *, actor: Any, reason: str, system_rule: str | None
) -> tuple[TicketTransition, ThreadEntry | None]:
    reason = _require_text(reason, _("A reason to reopen is required."))
    # The requester's reason is their message, in their words, right after the event; the
    # event does not repeat it (the log keeps it as the move's reason either way).
    by_requester = actor is None or ticket.requester.user_id == actor.pk
    log = _run(
        ticket,
        "reopen",
        actor=actor,
        system_rule=system_rule,
        reason=reason,
        event=lambda t: f"Reopened by {_actor_label(actor, system_rule)}"
        + ("" if by_requester else f": {reason}"),
    )
    if not by_requester:
        return log, None
    entry = _add_entry(
        ticket,
        kind=ThreadEntry.Kind.MESSAGE,
        body=reason,
        actor=actor,
        author_name=ticket.requester.name,
        notify="message",
    )
    return log, entry


@transaction.atomic
def ticket_close(
    *, ticket: Ticket, actor: Any, reason: str = "", system_rule: str | None = None
) -> TicketTransition:
    return _run(
        ticket,
        "close",
        actor=actor,
        system_rule=system_rule,
        reason=reason,
        at=timezone.now(),
        event=lambda t: f"Closed by {_actor_label(actor, system_rule)}" + (f": {reason}" if reason else ""),
    )



@transaction.atomic
def ticket_cancel(*, ticket: Ticket, actor: Any, reason: str) -> TicketTransition:
    """Close a ticket that needs no work (spam, duplicate), with the reason."""
    reason = _require_text(reason, _("A reason to cancel is required."))
    log = _run(
        ticket,
        "cancel",
        actor=actor,
        reason=reason,
        at=timezone.now(),
        event=lambda t: f"Cancelled by {display_name(actor)}: {reason}",
    )
    if ticket.is_major_incident:
        incidents.release_reports(ticket, actor=actor)
    return log
