"""What the major-incident endpoints accept and answer: a status line, a new incident, the
tickets to link as reports and each one's outcome, an update and the audience it reaches."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from api import schema
from api.serializers.inputs import MAX_TEXT, Id
from api.serializers.tickets import AgentTicketSerializer
from tickets.models import Department, Team, Ticket

STATUS_MAX = Ticket._meta.get_field("incident_status").max_length
MAX_LINKS = 100
STATUS_HELP = (
    f"The public status line every reporter reads on their ticket (at most {STATUS_MAX} characters): "
    "“We know about this outage and are working on it.”"
)


class StatusField(serializers.CharField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            max_length=STATUS_MAX,
            help_text=STATUS_HELP,
            error_messages={
                # Translators: keep {max_length} as it is: the number of characters allowed.
                "max_length": gettext_lazy("A public status line is at most {max_length} characters."),
                "blank": gettext_lazy("Write the public status line its reporters will read."),
            },
            **kwargs,
        )


class StatusBody(serializers.Serializer):
    status = StatusField()


class IncidentOpenBody(serializers.Serializer):
    """A new ticket for the incident: the agent is its requester and its assignee."""

    subject = serializers.CharField(max_length=255)
    body = serializers.CharField(max_length=MAX_TEXT, help_text="What is known, for the agents.")
    status = StatusField()
    department = Id(queryset=Department.objects.all(), help_text="Where the incident is worked.")
    team = Id(
        queryset=Team.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="The team working it: linked reports are assigned to it.",
    )  # fmt: skip
    first_report = serializers.CharField(
        max_length=20, required=False, allow_blank=True,
        help_text="The number of the ticket the incident is opened from: linked as its first report.",
    )  # fmt: skip


class LinkBody(serializers.Serializer):
    tickets = serializers.ListField(
        child=serializers.CharField(max_length=20),
        min_length=1,
        max_length=MAX_LINKS,
        help_text=f"The numbers of the tickets to link as reports (1 to {MAX_LINKS}).",
    )


class LinkOutcome(serializers.Serializer):
    ticket = serializers.CharField(help_text="The number as sent.")
    outcome = serializers.ChoiceField(choices=["linked", "refused"])
    reason = serializers.CharField(help_text="Why it was refused; \"\" when linked.")


class LinkAnswer(serializers.Serializer):
    linked = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = LinkOutcome(many=True, help_text="One per ticket named, in the order sent.")


class UpdateBody(serializers.Serializer):
    body = serializers.CharField(
        max_length=MAX_TEXT, help_text="Markdown: a public reply on the incident and on each active report."
    )


class Audience(serializers.Serializer):
    reports = serializers.IntegerField(help_text="The active reports the update reaches.")
    requesters = serializers.IntegerField(help_text="Their distinct requesters, each mailed.")


class UpdateAnswer(Audience):
    ticket = schema.DETAIL


class ReportPage(serializers.Serializer):
    results = AgentTicketSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null after the last.")


class ReportsQuery(serializers.Serializer):
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=25)
    cursor = serializers.CharField(
        max_length=1000, required=False, help_text="From the previous page's `next`."
    )
