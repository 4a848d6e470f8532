"""The workspace's "Major incident" panel: what it shows on an incident (its status line, who an
update reaches, its newest reports and their counts per stage), on a report (the banner naming
its incident) and on an ordinary active ticket (declare one, link to one). A fixed number of
queries whatever the number of reports."""

from __future__ import annotations

from typing import Any

from django import forms

from agents.incident_forms import DeclareForm, JoinForm, LinkReportsForm, StatusForm, UpdateForm
from tickets import linked, selectors, services
from tickets.models import State, Ticket

# The reports listed on the incident's page, newest first; the counts per stage cover them all.
REPORTS_SHOWN = 20
# The incidents offered to link a ticket to.
SUGGESTIONS = 50


def may_manage(user: Any) -> bool:
    return bool(user.is_staff and user.has_perm("tickets.manage_incidents"))


def may_link(user: Any) -> bool:
    return bool(user.is_staff and user.has_perm("tickets.work_ticket"))


def panel(
    user: Any,
    ticket: Ticket,
    *,
    choices: selectors.FilterChoices | None = None,
    bound: dict[str, forms.Form] | None = None,
) -> dict[str, Any]:
    """The panel's context; ``bound`` holds a form as the agent filled it in, shown again with
    its text when it was refused."""
    bound = bound or {}
    version = {"version": ticket.version}
    can_manage, can_link = may_manage(user), may_link(user)
    context: dict[str, Any] = {"kind": None, "can_manage": can_manage, "can_link": can_link}
    if ticket.is_major_incident:
        rows, counts = linked.incident_reports(ticket, limit=REPORTS_SHOWN)
        manage, link = can_manage and ticket.is_active, can_link and ticket.is_active
        status = {**version, "status": ticket.incident_status}
        context.update(
            kind="incident",
            reports=rows,
            total=sum(counts.values()),
            counts=[(label, counts[state]) for state, label in State.choices if counts.get(state)],
            audience=services.incident_audience(ticket),
            status_form=(bound.get("status") or StatusForm(initial=status)) if manage else None,
            update_form=(bound.get("update") or UpdateForm(initial=version)) if manage else None,
            link_form=(bound.get("link") or LinkReportsForm(initial=version)) if link else None,
        )
    elif ticket.incident_id is not None:
        status = linked.incident_public_status(ticket)
        incident = ticket.incident
        # The incident may be in a department this agent does not see: named, not linked.
        seen = selectors.ticket_visible_to(user, incident)
        context.update(kind="report", incident=incident, incident_seen=seen, status=status)
    elif ticket.is_active and (can_manage or can_link):
        context.update(
            kind="ordinary",
            declare_form=(bound.get("declare") or DeclareForm(ticket=ticket, choices=choices))
            if can_manage
            else None,
            join_form=(bound.get("join") or JoinForm(initial=version)) if can_link else None,
            suggestions=linked.incidents_active_for(user, limit=SUGGESTIONS) if can_link else [],
        )
    return context
