"""How a ticket is shown: to agents (every property, the SLA due times), to requesters and
integrations (what the portal shows), its thread entries and its transition log.

``AGENT_TICKET_FIELDS`` and ``REQUESTER_TICKET_FIELDS`` are the representation's contract.
``tickets/webhooks/payload.py`` builds the same agent representation for webhook payloads:
change a field here and change it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets import linked, services
from tickets.models import Attachment, ThreadEntry, Ticket, TicketTransition

AGENT_TICKET_FIELDS = (
    "number", "url", "subject", "state", "state_label", "public_stage", "source", "requester",
    "help_topic", "department", "team", "assignee", "priority", "sla_plan", "tier", "version",
    "follow_up_of", "created_at", "last_activity_at", "first_response_due", "resolution_due",
    "first_responded_at", "resolved_at", "closed_at", "is_major_incident", "incident_status", "incident",
)  # fmt: skip
REQUESTER_TICKET_FIELDS = (
    "number", "url", "subject", "state", "state_label", "public_stage", "source", "help_topic",
    "version", "follow_up_of", "created_at", "last_activity_at", "resolved_at", "closed_at",
    "incident_notice",
)  # fmt: skip
DETAIL_FIELDS = ("thread", "transitions", "allowed_transitions")
# An agent's detail also counts an incident's reports (a list shows no count: no query per row).
AGENT_DETAIL_FIELDS = ("reports_count", *DETAIL_FIELDS)


def ticket_url(number: str) -> str:
    return reverse("api:ticket", kwargs={"number": number})


class Ref(serializers.Serializer):
    """A related row: its id and name."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class TopicRef(Ref):
    name = serializers.CharField(
        source="full_name", help_text="With its parents: “Report a Problem / Access”."
    )


class AgentRef(Ref):
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return services.display_name(user)


class RequesterRef(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()


class TicketSerializer(serializers.ModelSerializer):
    """What the requester (and an integration) reads of a ticket."""

    url = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display")
    public_stage = serializers.CharField()
    help_topic = TopicRef(allow_null=True)
    follow_up_of = serializers.SerializerMethodField(
        help_text="The number of the ticket this one follows up."
    )
    incident_notice = serializers.SerializerMethodField(
        help_text="On a ticket linked to a major incident (an outage many people report): the "
        "incident's public status line, as the portal shows it; \"\" otherwise."
    )

    class Meta:
        model = Ticket
        fields = REQUESTER_TICKET_FIELDS

    def get_url(self, ticket: Ticket) -> str:
        return ticket_url(ticket.number)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_follow_up_of(self, ticket: Ticket) -> str | None:
        return ticket.follow_up_of.number if ticket.follow_up_of_id else None

    def get_incident_notice(self, ticket: Ticket) -> str:
        return linked.incident_public_status(ticket) if ticket.incident_id else ""


class AgentTicketSerializer(TicketSerializer):
    """What an agent reads of a ticket."""

    requester = RequesterRef()
    department = Ref(allow_null=True)
    team = Ref(allow_null=True)
    assignee = AgentRef(allow_null=True)
    priority = Ref(allow_null=True)
    sla_plan = Ref(source="sla", allow_null=True)
    is_major_incident = serializers.BooleanField(help_text="The ticket stands for a major incident.")
    incident_status = serializers.CharField(
        help_text="A major incident's public status line, which its reporters read (\"\" on other tickets)."
    )
    incident = serializers.SerializerMethodField(
        help_text="The number of the major incident this ticket reports, or null."
    )

    class Meta(TicketSerializer.Meta):
        fields = AGENT_TICKET_FIELDS

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_incident(self, ticket: Ticket) -> str | None:
        return ticket.incident.number if ticket.incident_id else None


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where to download it.")

    class Meta:
        model = Attachment
        fields = ("id", "filename", "size", "content_type", "url")

    def get_url(self, attachment: Attachment) -> str:
        # The entry and its ticket come cached with the thread (related managers, prefetch).
        number = attachment.entry.ticket.number
        return reverse("api:attachment", kwargs={"number": number, "attachment_id": attachment.pk})


class EntrySerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name")
    body_html = serializers.SerializerMethodField(help_text="The body as sanitized HTML.")
    attachments = AttachmentSerializer(many=True)

    class Meta:
        model = ThreadEntry
        fields = ("id", "kind", "author", "body", "body_html", "is_public", "created_at", "attachments")

    def get_body_html(self, entry: ThreadEntry) -> str:
        return str(entry.html)


class TransitionSerializer(serializers.ModelSerializer):
    """A move in the agents' log: who made it and why."""

    actor = serializers.CharField(source="actor_label", help_text="The person, or “system: <rule>”.")

    class Meta:
        model = TicketTransition
        fields = ("name", "source", "target", "actor", "reason", "created_at")


class PublicTransitionSerializer(serializers.ModelSerializer):
    """A move as the requester sees it: when the ticket went where, not who or why."""

    class Meta:
        model = TicketTransition
        fields = ("name", "source", "target", "created_at")


@dataclass(frozen=True)
class Detail:
    """What a detail adds to the ticket, fetched by the view with the selectors."""

    thread: Sequence[ThreadEntry]
    transitions: Sequence[TicketTransition]
    allowed: Sequence[str]
    reports_count: int | None = None


def with_detail(ticket: Ticket, detail: Detail) -> Ticket:
    ticket.api_detail = detail  # type: ignore[attr-defined]
    return ticket


ALLOWED_HELP = "The transitions this caller may run now (POST …/transitions/{name}/)."


class AgentTicketDetailSerializer(AgentTicketSerializer):
    reports_count = serializers.IntegerField(
        source="api_detail.reports_count",
        allow_null=True,
        help_text="A major incident's linked reports (GET …/reports/ lists them); null on other tickets.",
    )
    thread = EntrySerializer(many=True, source="api_detail.thread")
    transitions = TransitionSerializer(many=True, source="api_detail.transitions")
    allowed_transitions = serializers.ListField(
        child=serializers.CharField(), source="api_detail.allowed", help_text=ALLOWED_HELP
    )

    class Meta(AgentTicketSerializer.Meta):
        fields = AGENT_TICKET_FIELDS + AGENT_DETAIL_FIELDS


class TicketDetailSerializer(TicketSerializer):
    thread = EntrySerializer(many=True, source="api_detail.thread", help_text="Public entries only.")
    transitions = PublicTransitionSerializer(many=True, source="api_detail.transitions")
    allowed_transitions = serializers.ListField(
        child=serializers.CharField(), source="api_detail.allowed", help_text=ALLOWED_HELP
    )

    class Meta(TicketSerializer.Meta):
        fields = REQUESTER_TICKET_FIELDS + DETAIL_FIELDS
