"""Major incidents: one ticket stands for an outage, the tickets reporting it are linked to it as
its reports, hear its public updates, and are resolved with it (docs/lifecycle.md, "Major
incidents").

A report keeps its own requester, thread and lifecycle. While it is linked:
- it waits assigned to the incident's team (a report still open is assigned to it when linked,
  a system move naming the incident);
- its resolution clock is the incident's: it has no resolution due time of its own (the SLA watch
  watches the incident), and its resolution is met or missed as the incident's was;
- its first-response clock is its own: the first public update answers it;
- when the incident is resolved, so is the report, through its own ``resolve`` with the
  incident's message (``ticket_resolve`` calls ``resolve_reports``); its requester confirms or
  reopens it, and a reopened report leaves the incident (``_common._leave_incident``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets import locales
from tickets.models import ACTIVE_STATES, Department, State, Team, ThreadEntry, Ticket
from tickets.services import incident_batch
from tickets.services._common import (
    TicketActionError,
    _add_entry,
    _check_can_see,
    _lock_as_shown,
    _mark_first_response,
    _require_text,
    _retarget,
    _run,
    _save,
    display_name,
)
from tickets.services.intake import _requester_get_or_create, _ticket_create

STATUS_MAX = Ticket._meta.get_field("incident_status").max_length
# The states a report can be resolved from with its incident (a linked report is never open).
RESOLVABLE = (State.ASSIGNED, State.IN_PROGRESS, State.AWAITING_USER, State.ESCALATED)


def _check_may_manage(actor: Any) -> None:
    if not (actor.is_staff and actor.has_perm("tickets.manage_incidents")):
        raise PermissionDenied(_("Your role may not declare major incidents or send their updates."))


def _lock_for_manager(ticket: Ticket, actor: Any) -> None:
    """Lock the ticket as the page showed it, and check the actor sees it and manages incidents."""
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    _check_may_manage(actor)


def _check_may_link(actor: Any) -> None:
    if not (actor.is_staff and actor.has_perm("tickets.work_ticket")):
        raise PermissionDenied(_("Your role may not link tickets."))


def _status_text(status: str) -> str:
    status = _require_text(status, _("A public status line is required."))
    if len(status) > STATUS_MAX:
        raise TicketActionError(
            _("A public status line is at most %(max)s characters (%(given)s given).")
            % {"max": STATUS_MAX, "given": len(status)}
        )
    return status


# -- declaring ---------------------------------------------------------------------------------


@transaction.atomic
def incident_declare(*, ticket: Ticket, actor: Any, status: str) -> Ticket:
    """Mark the ticket as a major incident with a public status line its reporters will read."""
    status = _status_text(status)
    _lock_for_manager(ticket, actor)
    if ticket.is_major_incident:
        raise TicketActionError(_("#%(number)s is already a major incident.") % {"number": ticket.number})
    if ticket.incident_id is not None:
        raise TicketActionError(
            _("#%(number)s reports incident #%(incident)s: unlink it first.")
            % {"number": ticket.number, "incident": ticket.incident.number}
        )
    if ticket.state not in ACTIVE_STATES:
        raise TicketActionError(
            # Translators: %(state)s is a ticket state in lower case, e.g. "resolved".
            _("A %(state)s ticket cannot become a major incident.") % {"state": _stage(ticket)}
        )
    ticket.is_major_incident = True
    ticket.incident_status = status
    _save(ticket)
    _event(ticket, actor, f"Declared a major incident by {display_name(actor)}. Status: {status}")
    return ticket


@transaction.atomic
def incident_open(
    *,
    actor: Any,
    subject: str,
    body: str,
    status: str,
    department: Department,
    team: Team | None = None,
    first_report: Ticket | None = None,
) -> Ticket:
    """Open a new ticket for a major incident: the agent is its requester and its assignee (with
    ``team``), it is declared at once, and ``first_report`` (the ticket it was opened from, if
    any) is linked to it as its first report."""
    status = _status_text(status)
    _check_may_manage(actor)
    if first_report is not None:
        _check_can_see(actor, first_report)
    requester = _requester_get_or_create(email=actor.email, name=display_name(actor))
    incident = _ticket_create(
        requester=requester,
        subject=subject,
        body=body,
        actor=actor,
        department=department,
        acknowledge=False,
        alert_agents=False,
    )
    _run(
        incident,
        "assign",
        actor=actor,
        agent=actor,
        team=team,
        # A routing rule may have sent it elsewhere: the incident lives where the agent said.
        department=department if incident.department_id != department.pk else None,
        notify_requester=False,
        event=lambda t: f"Assigned to {display_name(actor)}" + (f" / {team}" if team else ""),
    )
    incident.is_major_incident = True
    incident.incident_status = status
    _save(incident)
    _event(incident, actor, f"Declared a major incident by {display_name(actor)}. Status: {status}")
    if first_report is not None:
        ticket_link_incident(ticket=first_report, actor=actor, incident=incident)
    return incident


@transaction.atomic
def incident_set_status(*, incident: Ticket, actor: Any, status: str) -> Ticket:
    """Change the public status line every reporter reads."""
    status = _status_text(status)
    _lock_for_manager(incident, actor)
    if not incident.is_major_incident:
        raise TicketActionError(_("#%(number)s is not a major incident.") % {"number": incident.number})
    if status == incident.incident_status:
        raise TicketActionError(_("The status line already says that."))
    incident.incident_status = status
    _save(incident)
    _event(incident, actor, f"Status changed by {display_name(actor)}: {status}")
    return incident


# -- linking -----------------------------------------------------------------------------------


def incident_refusal(incident: Ticket) -> str | None:
    """Why ``incident`` takes no report now (it is not one, or no longer active), or None: a
    door linking several tickets asks once before it names them."""
    if not incident.is_major_incident:
        return _("#%(number)s is not a major incident.") % {"number": incident.number}
    if incident.state not in ACTIVE_STATES:
        return _("Incident #%(number)s is %(state)s: it takes no new reports.") % {
            "number": incident.number,
            "state": _stage(incident),
        }
    return None


def _link_refusal(report: Ticket, incident: Ticket) -> str | None:
    refused = incident_refusal(incident)
    if refused is not None:
        return refused
    if report.pk == incident.pk:
        return _("An incident cannot report itself.")
    if report.is_major_incident:
        return _("#%(number)s is a major incident itself.") % {"number": report.number}
    if report.incident_id == incident.pk:
        return _("#%(number)s already reports this incident.") % {"number": report.number}
    if report.incident_id is not None:
        return _("#%(number)s already reports incident #%(incident)s: unlink it first.") % {
            "number": report.number,
            "incident": report.incident.number,
        }
    if report.state not in ACTIVE_STATES:
        return _("#%(number)s is %(state)s: only an active ticket can be linked.") % {
            "number": report.number,
            "state": _stage(report),
        }
    if report.state == State.OPEN and incident.team_id is None and incident.assignee_id is None:
        # An open report goes to the incident's team or agent: there must be one.
        return _("Incident #%(number)s has no team or agent yet: assign it first.") % {
            "number": incident.number
        }
    return None


@transaction.atomic
def ticket_link_incident(*, ticket: Ticket, actor: Any, incident: Ticket) -> Ticket:
    """Link ``ticket`` to ``incident`` as one of its reports. The actor must see both. A report
    still open is assigned to the incident's team (or its assignee), a move the log keeps."""
    _check_may_link(actor)
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    _check_can_see(actor, incident)
    refusal = _link_refusal(ticket, incident)
    if refusal:
        raise TicketActionError(refusal)
    label = f"linked to incident #{incident.number}"
    if ticket.state == State.OPEN:
        team = incident.team
        agent = None if team is not None else incident.assignee
        _run(
            ticket,
            "assign",
            actor=None,
            system_rule=label,
            agent=agent,
            team=team,
            # The team knows the incident; the requester hears from its updates.
            notify_requester=False,
            notify_agents=False,
            event=lambda t: f"Assigned to the incident's {'team' if team else 'assignee'}: {t.team or agent}",
        )
    ticket.incident = incident
    _retarget(ticket, now=timezone.now())
    _save(ticket)
    _event(ticket, actor, f"Linked to major incident #{incident.number} by {display_name(actor)}")
    _event(incident, actor, f"#{ticket.number} linked as a report by {display_name(actor)}")
    return ticket


@transaction.atomic
def ticket_unlink_incident(*, ticket: Ticket, actor: Any) -> Ticket:
    """Take a report off its incident: it goes on with its own clock."""
    _check_may_link(actor)
    _lock_as_shown(ticket)
    _check_can_see(actor, ticket)
    incident = ticket.incident
    if incident is None:
        raise TicketActionError(_("#%(number)s reports no incident.") % {"number": ticket.number})
    ticket.incident = None
    _retarget(ticket, now=timezone.now())
    _save(ticket)
    _event(ticket, actor, f"Unlinked from major incident #{incident.number} by {display_name(actor)}")
    _event(incident, actor, f"#{ticket.number} unlinked by {display_name(actor)}")
    return ticket


# -- updates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who a public update on an incident reaches: its active reports, and their requesters."""

    reports: int
    requesters: int


def incident_audience(incident: Ticket) -> Audience:
    """How many reports, and distinct requesters, a public update would reach now (one query)."""
    counts = Ticket.objects.filter(incident=incident, state__in=ACTIVE_STATES).aggregate(
        reports=Count("id"), requesters=Count("requester", distinct=True)
    )
    return Audience(counts["reports"], counts["requesters"])


@transaction.atomic
def incident_post_update(*, incident: Ticket, actor: Any, body: str) -> Audience:
    """A public update: a reply on the incident and on each of its active reports, in each
    report's own thread, mailed to its requester once the transaction commits."""
    body = _require_text(body, _("An update is required."))
    _lock_for_manager(incident, actor)
    if not incident.is_major_incident:
        raise TicketActionError(_("#%(number)s is not a major incident.") % {"number": incident.number})
    if incident.state not in ACTIVE_STATES:
        raise TicketActionError(
            _("Incident #%(number)s is %(state)s: it takes no updates.")
            % {"number": incident.number, "state": _stage(incident)}
        )
    reports = incident_batch.locked_reports(incident, ACTIVE_STATES)
    entry = _add_entry(incident, kind=ThreadEntry.Kind.REPLY, body=body, actor=actor, notify="reply")
    _mark_first_response(incident, at=entry.created_at)
    _save(incident)
    incident_batch.post_update_batch(reports, body=body, actor=actor)
    return Audience(len(reports), len({r.requester_id for r in reports}))


# -- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportsResolved:
    resolved: list[Ticket]
    refused: list[tuple[Ticket, str]]


def resolve_reports(incident: Ticket, *, message: str, actor: Any, at: Any) -> ReportsResolved:
    """Resolve every linked report the incident's resolution reaches, each through its own
    ``resolve`` (a system move naming the incident) with the incident's message. Called by
    ``ticket_resolve`` inside its transaction, after the incident itself is resolved; a report
    that cannot be resolved stays as it is and the incident's thread says why."""
    rule = f"incident #{incident.number}, resolved by {_actor_name(actor)}"
    reports = incident_batch.locked_reports(incident, RESOLVABLE, for_clock=True)
    # The refusals are kept in the incident's thread: a record, in English whatever the language
    # of the agent who resolved it.
    with translation.override(None):
        done = incident_batch.resolve_batch(incident, reports, message=message, actor=actor, at=at, rule=rule)
    resolved, refused = done.resolved, done.refused
    if resolved or refused:
        summary = f"Resolved with the incident: {len(resolved)} report(s)."
        if refused:
            summary += " Not resolved: " + "; ".join(f"#{t.number}: {why}" for t, why in refused)
        _add_entry(
            incident, kind=ThreadEntry.Kind.NOTE, body=summary, actor=None, author_name=f"system: {rule}"
        )
    return ReportsResolved(resolved, refused)


def release_reports(incident: Ticket, *, actor: Any) -> int:
    """The incident was cancelled: its active reports leave it and go on with their own clocks
    (called by ``ticket_cancel`` inside its transaction). Returns how many left."""
    reports = (
        Ticket.objects.select_for_update(of=("self",))
        .filter(incident=incident, state__in=ACTIVE_STATES)
        .select_related("sla", "priority")
        .order_by("id")
    )
    now, left = timezone.now(), 0
    for report in reports:
        report.incident = None
        _retarget(report, now=now)
        _save(report)
        _event(report, actor, f"Left major incident #{incident.number}: it was cancelled")
        left += 1
    if left:
        _event(incident, actor, f"Cancelled: its {left} active report(s) go on on their own")
    return left


def _actor_name(actor: Any) -> str:
    return display_name(actor) if actor is not None else "the system"


def _stage(ticket: Ticket) -> str:
    return locales.in_sentence(ticket.get_state_display())


def _event(ticket: Ticket, actor: Any, text: str) -> None:
    _add_entry(ticket, kind=ThreadEntry.Kind.EVENT, body=text, actor=actor)
