"""The reports (``tickets.reports``) in the API: what the dashboard and the SLA what-if accept
as query parameters, and how their figures are shown. Durations are seconds, shares are
percentages with one decimal (null when nothing was counted), times and days ISO 8601.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from api.serializers.inputs import MAX_ID, Id
from tickets import selectors
from tickets.models import SLAPlan, Ticket
from tickets.reports.types import (
    DEFAULT_DAYS,
    LAST_DAYS,
    MAX_RANGE_DAYS,
    MAX_TARGET_HOURS,
    Period,
    PeriodAsked,
    ReportFilters,
)

# The periods and bounds are the domain's (tickets.reports.types), as for the console's form:
# the same parameters name the same period, so the API and the page show the same numbers.
DAYS = LAST_DAYS
MAX_HOURS = MAX_TARGET_HOURS


# -- what the endpoints accept -------------------------------------------------------------------


def _identifier(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text=help_text)


class ReportQuery(serializers.Serializer):
    """The period (``days``, or ``from`` and ``to``) and the filters, named as the tickets list
    names them. Without a period, the last 30 days."""

    days = serializers.ChoiceField(
        choices=DAYS, required=False,
        help_text="The last 7, 30 or 90 days, up to now. Not with `from` / `to`.",
    )  # fmt: skip
    start = serializers.DateField(
        required=False, help_text="The first day of a custom range (local time), included; not in the future."
    )
    end = serializers.DateField(
        required=False,
        help_text=f"The last day of a custom range, included (the period stops at now at the "
        f"latest); today when left out. At most {MAX_RANGE_DAYS} days from `from`.",
    )
    department = _identifier("The ticket's department now.")
    team = _identifier("The ticket's team now (an active team).")
    agent = _identifier("The ticket's assignee now (a user id).")
    help_topic = _identifier("The help topic, with its sub-topics.")
    priority = _identifier("The ticket's priority now.")
    source = serializers.ChoiceField(choices=Ticket.Source.choices, required=False, help_text="The channel.")

    # "from" is a Python keyword: the fields are declared as start / end and named here.
    RENAMED = {"start": "from", "end": "to"}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        return {self.RENAMED.get(name, name): field for name, field in fields.items()}

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        errors = _unknown(data)
        start, end = data.get("from"), data.get("to")
        if data.get("days") is not None and (start is not None or end is not None):
            errors["days"] = [_("Give either days or from / to, not both.")]
        elif end is not None and start is None:
            errors["from"] = [_("This field is required with to.")]
        elif start is not None:
            end = end if end is not None else timezone.localdate()
            problem = Period.range_problem(start, end, timezone.localdate())
            if problem is not None:
                errors[{"first": "from", "last": "to"}[problem[0]]] = [problem[1]]
            data["to"] = end
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def period_asked(self) -> PeriodAsked:
        """The period the validated parameters name: the last ``days`` up to now, or whole
        local days from ``from`` to ``to`` (up to now at most)."""
        data = self.validated_data
        if data.get("from") is None:
            return PeriodAsked(days=int(data.get("days") or DEFAULT_DAYS))
        return PeriodAsked(days=None, first=data["from"], last=data["to"])

    def period(self, now: datetime) -> Period:
        return self.period_asked().period(now)

    def filters(self) -> ReportFilters:
        return ReportFilters.from_values(self.validated_data)


class DashboardQuery(ReportQuery):
    fresh = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Compute the figures now. Without it they may be a few minutes old, as the "
        "console's page shows them (`computed_at` says when).",
    )


def _unknown(data: dict[str, Any]) -> dict[str, list[str]]:
    """The filters naming no row the console offers (from the cached catalog: no query)."""
    choices = selectors.console_choices()
    known = {
        "department": choices.departments,
        "team": choices.teams,
        "agent": choices.agents,
        "help_topic": choices.help_topics,
        "priority": choices.priorities,
    }
    missing = serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
    return {
        name: [missing.format(pk_value=data[name])]
        for name, rows in known.items()
        if data.get(name) is not None and data[name] not in {row.pk for row in rows}
    }


class WhatIfQuery(ReportQuery):
    """The period and filters of the dashboard, an SLA plan, and hours that replace the plan's."""

    plan = Id(
        queryset=SLAPlan.objects.filter(is_active=True),
        help_text="The SLA plan whose targets and calendar are replayed (GET /sla-plans/).",
    )
    first_response_hours = serializers.IntegerField(
        min_value=1, max_value=MAX_HOURS, required=False, allow_null=True,
        help_text="Hours to the first public reply instead of the plan's (its calendar kept).",
    )  # fmt: skip
    resolution_hours = serializers.IntegerField(
        min_value=1, max_value=MAX_HOURS, required=False, allow_null=True,
        help_text="Hours to resolve instead of the plan's (its calendar kept).",
    )  # fmt: skip


# -- how the figures are shown ------------------------------------------------------------------


class Seconds(serializers.FloatField):
    """A duration (a ``timedelta``) as seconds."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: timedelta) -> float:
        return value.total_seconds()


class ReportPeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Included.")
    end = serializers.DateTimeField(help_text="Excluded.")


class ReportFiltersSerializer(serializers.Serializer):
    """The filters the figures were computed with (null: not filtered)."""

    department = serializers.IntegerField(source="department_id", allow_null=True)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    agent = serializers.IntegerField(source="agent_id", allow_null=True)
    help_topic = serializers.IntegerField(source="help_topic_id", allow_null=True)
    priority = serializers.IntegerField(source="priority_id", allow_null=True)
    source = serializers.ChoiceField(choices=Ticket.Source.choices, allow_null=True)

    def to_representation(self, instance: ReportFilters) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["source"] = data["source"] or None
        return data


class FunnelStageSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Tickets created in the period that are in this stage now.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, tuple | list):  # the dashboard's (state, label, count)
            instance = dict(zip(("state", "label", "count"), instance, strict=True))
        return super().to_representation(instance)


class SpreadSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median_seconds = Seconds(source="median", help_text="Null when count is 0.")
    p90_seconds = Seconds(source="p90", help_text="The 90th percentile (nearest rank); null when count is 0.")


class StageTimeSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()
    spread = SpreadSerializer(help_text="Each stay in the stage that ended in the period.")


class AttainmentSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="`first_response` or `resolution`.")
    label = serializers.CharField()
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Met of total; null when total is 0.")


class RateSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="`reopen`, `escalation` or `follow_up`.")
    label = serializers.CharField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Null when the denominator is 0.")
    explained = serializers.CharField(help_text="What the numerator and the denominator count.")


class DayCountSerializer(serializers.Serializer):
    day = serializers.DateField()
    created = serializers.IntegerField()
    closed = serializers.IntegerField()


class LoadRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="key_id", allow_null=True)
    name = serializers.CharField()
    open_now = serializers.IntegerField(help_text="Its active tickets now.")
    resolved = serializers.IntegerField(help_text="Tickets resolved in the period.")
    median_resolution_seconds = Seconds(
        source="median_resolution", help_text="Creation to the resolve move; null when none resolved."
    )


class DashboardSerializer(serializers.Serializer):
    """``tickets.reports.types.Dashboard``; docs/reports.md says which tickets each figure counts."""

    period = ReportPeriodSerializer()
    filters = ReportFiltersSerializer()
    funnel = FunnelStageSerializer(many=True, help_text="All eight stages, in lifecycle order.")
    stage_times = StageTimeSerializer(many=True)
    waiting_on_requester = SpreadSerializer(
        help_text="Of the tickets resolved in the period: each one's time awaiting the requester."
    )
    with_desk = SpreadSerializer(help_text="Of the same tickets: the rest of their time, with the desk.")
    attainment = AttainmentSerializer(many=True)
    rates = RateSerializer(many=True)
    trend = DayCountSerializer(many=True, help_text="Created and closed on each local day.")
    teams = LoadRowSerializer(many=True)
    agents = LoadRowSerializer(many=True)
    slowest_topics = LoadRowSerializer(many=True, help_text="At most 10, slowest median first.")
    computed_at = serializers.DateTimeField(
        help_text="When the figures were computed: the dashboard is recomputed every few minutes "
        "(or asked for with `fresh`)."
    )


class WhatIfSerializer(serializers.Serializer):
    """``tickets.reports.types.WhatIf`` with the period, filters and plan it was asked for. The
    instance is a mapping: ``period``, ``filters``, ``plan`` (the SLAPlan) and ``result``."""

    period = ReportPeriodSerializer()
    filters = ReportFiltersSerializer()
    plan = serializers.IntegerField(source="plan.pk", help_text="The plan's id.")
    plan_name = serializers.CharField(source="result.plan_name")
    first_response_hours = serializers.IntegerField(
        source="result.first_response_hours", allow_null=True, help_text="Hours replayed; null: no target."
    )
    resolution_hours = serializers.IntegerField(
        source="result.resolution_hours", allow_null=True, help_text="Hours replayed; null: no target."
    )
    tickets = serializers.IntegerField(source="result.tickets", help_text="Tickets replayed.")
    actual = AttainmentSerializer(source="result.actual", many=True, help_text="What they had.")
    replayed = AttainmentSerializer(source="result.replayed", many=True, help_text="What they would have.")
    notes = serializers.ListField(child=serializers.CharField(), source="result.notes")
