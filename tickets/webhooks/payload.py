"""What a delivery says: the ticket as the REST API shows it to an agent, and the body around it.

A stored delivery keeps its ``payload`` without its own id; ``body`` adds the id (known once the
row exists) and lays the keys out in a fixed order, whatever order the database kept them in.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from tickets.models import ThreadEntry, Ticket, TicketTransition, WebhookDelivery, display_name

# What a ticket is read with for a payload: one query.
TICKET_RELATED = (
    "requester",
    "help_topic__parent__parent",
    "department",
    "team",
    "assignee",
    "priority",
    "sla",
    "follow_up_of",
    "incident",
)

TICKET_KEYS = (
    "number",
    "url",
    "subject",
    "state",
    "state_label",
    "public_stage",
    "source",
    "requester",
    "help_topic",
    "department",
    "team",
    "assignee",
    "priority",
    "sla_plan",
    "tier",
    "version",
    "follow_up_of",
    "created_at",
    "last_activity_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "is_major_incident",
    "incident_status",
    "incident",
)

BODY_KEYS = ("id", "event", "occurred_at", "transition", "entry", "overdue", "webhook", "ticket")


def iso(value: datetime | None) -> str | None:
    """A date and time as Django REST framework renders it: ISO 8601 in the help desk's time
    zone (not the zone of the agent whose request sent the event), ``Z`` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _named(obj: Any, name: str | None = None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "name": name if name is not None else obj.name}


def ticket_representation(ticket: Ticket) -> dict[str, Any]:
    """The agent's view of a ticket, as ``/api/v1/tickets/<number>/`` gives it."""
    topic, assignee = ticket.help_topic, ticket.assignee
    return {
        "number": ticket.number,
        "url": f"/api/v1/tickets/{ticket.number}/",
        "subject": ticket.subject,
        "state": ticket.state,
        "state_label": ticket.get_state_display(),
        "public_stage": ticket.public_stage,
        "source": ticket.source,
        "requester": {"name": ticket.requester.name, "email": ticket.requester.email},
        "help_topic": _named(topic, topic.full_name) if topic is not None else None,
        "department": _named(ticket.department),
        "team": _named(ticket.team),
        "assignee": (
            _named(assignee, display_name(assignee))
            if assignee is not None
            else None
        ),
        "priority": _named(ticket.priority),
        "sla_plan": _named(ticket.sla),
        "tier": ticket.tier,
        "version": ticket.version,
        "follow_up_of": ticket.follow_up_of.number if ticket.follow_up_of_id else None,
        "created_at": iso(ticket.created_at),
        "last_activity_at": iso(ticket.last_activity_at),
        "first_response_due": iso(ticket.first_response_due),
        "resolution_due": iso(ticket.resolution_due),
        "first_responded_at": iso(ticket.first_responded_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "is_major_incident": ticket.is_major_incident,
        "incident_status": ticket.incident_status,
        "incident": ticket.incident.number if ticket.incident_id else None,
    }


def transition_details(log: TicketTransition) -> dict[str, Any]:
    return {
        "name": log.name,
        "source": log.source,
        "target": log.target,
        "actor": log.actor_label,
        "reason": log.reason,
    }


def entry_details(entry: ThreadEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "author": entry.author_name,
        "body": entry.body,
        "created_at": iso(entry.created_at),
    }


def _ordered(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    ordered = {key: data[key] for key in keys if key in data}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    return ordered


def body(delivery: WebhookDelivery) -> bytes:
    """The bytes POSTed (and signed) for a delivery."""
    data = _ordered({"id": delivery.pk, **delivery.payload}, BODY_KEYS)
    if isinstance(data.get("ticket"), dict):
        data["ticket"] = _ordered(data["ticket"], TICKET_KEYS)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
