"""What the endpoints accept: the list's query parameters, a new ticket, a property change,
a message, and each transition's fields. Ids name related rows; a refused file is a 400 with
the reason ``tickets.uploads`` gives (the service checks the files again when it stores them).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from rest_framework import serializers

from tickets import selectors, uploads
from tickets.models import Department, HelpTopic, Priority, SLAPlan, State, Team, Ticket

MAX_TEXT = 20_000  # as the portal's and the console's forms
MAX_REASON = 5_000


# Ids past a 64-bit integer name no row, and SQLite cannot even compare with them.
MAX_ID = 2**63 - 1


class Id(serializers.PrimaryKeyRelatedField):
    """A related row by its id."""

    def to_internal_value(self, data: Any) -> Any:
        if (
            isinstance(data, int | str)
            and str(data).strip().lstrip("-").isdigit()
            and abs(int(data)) > MAX_ID
        ):
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def _agents() -> Any:
    return get_user_model().objects.filter(is_active=True, is_staff=True)


class Attachments(serializers.ListField):
    """Multipart ``attachments``, one part per file."""

    def __init__(self, **kwargs: Any) -> None:
        # Empty files pass here so that the domain's checks say why a file is refused.
        super().__init__(child=serializers.FileField(allow_empty_file=True), required=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            files = super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(
                _("Send each file as a part named “attachments” of a multipart/form-data request.")
            ) from None
        try:
            uploads.check_uploads(files)
        except uploads.UploadError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return files


class TicketListQuery(serializers.Serializer):
    """The list's filters. Agents: all of them; requesters: ``state`` only (their own tickets,
    newest activity first)."""

    queue = serializers.ChoiceField(choices=list(selectors.QUEUES), default="all")
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    team = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    agent = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    priority = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    help_topic = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    state = serializers.ChoiceField(choices=State.choices, required=False)
    source = serializers.ChoiceField(choices=Ticket.Source.choices, required=False)
    q = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text="Search.")
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), default="activity")
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=25)
    cursor = serializers.CharField(
        max_length=1000, required=False, help_text="From the previous page's `next`."
    )


class TicketCreateBody(serializers.Serializer):
    """A new ticket. Integrations and agents name the requester; a requester opens their own
    (the requester fields are ignored)."""

    requester_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    requester_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    subject = serializers.CharField(max_length=255)
    body = serializers.CharField(max_length=MAX_TEXT)
    help_topic = Id(
        queryset=HelpTopic.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="GET /help-topics/ lists them.",
    )  # fmt: skip
    priority = Id(
        queryset=Priority.objects.all(), required=False, allow_null=True,
        help_text="A hint: used when no routing rule and no help topic sets the priority.",
    )  # fmt: skip
    attachments = Attachments()

    def validate_help_topic(self, topic: HelpTopic | None) -> HelpTopic | None:
        if topic is not None and not topic.is_public and not self.context["who"].is_agent:
            self.fields["help_topic"].fail("does_not_exist", pk_value=topic.pk)
        return topic

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.context["who"].is_requester:
            missing = {
                name: [str(serializers.Field.default_error_messages["required"])]
                for name in ("requester_email", "requester_name")
                if not data.get(name)
            }
            if missing:
                raise serializers.ValidationError(missing)
        return data


class TicketPatchBody(serializers.Serializer):
    """The properties an agent may change; the ones left out stay as they are."""

    help_topic = Id(queryset=HelpTopic.objects.filter(is_active=True), required=False, allow_null=True)
    priority = Id(queryset=Priority.objects.all(), required=False, allow_null=True)
    sla_plan = Id(queryset=SLAPlan.objects.filter(is_active=True), required=False, allow_null=True)
    department = Id(queryset=Department.objects.all(), required=False)
    team = Id(
        queryset=Team.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="Assigns the ticket to this team, keeping its agent.",
    )  # fmt: skip

    def validate_team(self, team: Team | None) -> Team | None:
        if team is None and self.context["ticket"].assignee_id is None:
            raise serializers.ValidationError(_("A ticket without an agent keeps a team."))
        return team


class EntryBody(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)
    attachments = Attachments()


class MessageBody(EntryBody):
    requester_email = serializers.EmailField(
        max_length=254, required=False,
        help_text="Integrations (“create” keys): the ticket's requester, who writes the message.",
    )  # fmt: skip

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.context["who"].is_integration and not data.get("requester_email"):
            required = str(serializers.Field.default_error_messages["required"])
            raise serializers.ValidationError({"requester_email": [required]})
        return data


# -- transitions ---------------------------------------------------------------------------------


class AssignBody(serializers.Serializer):
    agent = Id(queryset=_agents(), required=False, allow_null=True)
    team = Id(queryset=Team.objects.filter(is_active=True), required=False, allow_null=True)
    department = Id(
        queryset=Department.objects.all(), required=False, allow_null=True,
        help_text="Transfers the ticket to this department.",
    )  # fmt: skip

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("agent") and not data.get("team"):
            raise serializers.ValidationError(_("Name an agent, a team or both."))
        return data


class EscalateBody(serializers.Serializer):
    summary = serializers.CharField(
        max_length=MAX_TEXT, help_text="What is known and tried, for the next tier."
    )
    team = Id(queryset=Team.objects.filter(is_active=True), required=False, allow_null=True)
    department = Id(queryset=Department.objects.all(), required=False, allow_null=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.context.get("ticket")
        if ticket is not None:  # only targets above the ticket's tier
            self.fields["team"].queryset = Team.objects.filter(is_active=True, tier__gt=ticket.tier)
            self.fields["department"].queryset = Department.objects.filter(tier__gt=ticket.tier)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("team") and not data.get("department"):
            raise serializers.ValidationError(_("Name a team or a department of a higher tier."))
        return data


class MessageFieldBody(serializers.Serializer):
    message = serializers.CharField(max_length=MAX_TEXT)


class ReasonBody(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REASON)


class OptionalReasonBody(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REASON, required=False, allow_blank=True, default="")


class MergeBody(serializers.Serializer):
    into = serializers.RegexField(
        r"^\d{1,12}$", help_text="The number of the ticket to merge into (the survivor)."
    )
    confirm_other_requester = serializers.BooleanField(
        default=False,
        help_text="Merge even though the two tickets have different requesters (409 "
        "`confirm_other_requester` without it).",
    )


class NoBody(serializers.Serializer):
    """No fields."""
