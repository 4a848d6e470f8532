"""The reports' GET forms: the period picker and the filters of the dashboard, its CSV exports
and the SLA what-if. Unlike a queue's filters, a malformed value is an error shown on the page:
a figure silently computed over other tickets than the ones asked for would mislead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from tickets import selectors
from tickets.models import SLAPlan, Ticket
from tickets.reports.types import (
    DEFAULT_DAYS,
    LAST_DAYS,
    MAX_TARGET_HOURS,
    Period,
    PeriodAsked,
    ReportFilters,
)


def _last_days(days: int) -> str:
    return ngettext("Last %(days)s day", "Last %(days)s days", days) % {"days": days}


PERIODS = [
    *((str(days), lazy(_last_days, str)(days)) for days in LAST_DAYS),
    # Translators: the period picker's custom range; the page's help names it in quotes.
    ("custom", pgettext_lazy("report period", "From… to…")),
]
DEFAULT_PERIOD = str(DEFAULT_DAYS)
MAX_HOURS = MAX_TARGET_HOURS


def _people(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class ReportForm(forms.Form):
    """Which tickets the figures are about: a period and the filters. Its choices come from the
    cached catalog (``selectors.console_choices``), so neither rendering nor checking them costs
    a query; a value not among them is refused."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    start = forms.DateField(
        label=pgettext_lazy("first day", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=_("To (included)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    department = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    agent = forms.TypedChoiceField(label=_("Agent"), coerce=int, required=False, empty_value=None)
    help_topic = forms.TypedChoiceField(label=_("Help topic"), coerce=int, required=False, empty_value=None)
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, required=False, empty_value=None)
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("Any source")), *Ticket.Source.choices], required=False
    )

    FILTERS = ("department", "team", "agent", "help_topic", "priority", "source")

    def __init__(self, *args: Any, choices: selectors.FilterChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = {
            "department": (gettext("Any department"), [(d.pk, d.name) for d in choices.departments]),
            "team": (gettext("Any team"), [(t.pk, t.name) for t in choices.teams]),
            "agent": (gettext("Any agent"), [(u.pk, _people(u)) for u in choices.agents]),
            "help_topic": (gettext("Any help topic"), [(t.pk, t.full_name) for t in choices.help_topics]),
            "priority": (gettext("Any priority"), [(p.pk, p.name) for p in choices.priorities]),
        }
        for name, (empty, rows) in options.items():
            self.fields[name].choices = [("", empty), *rows]

    def clean_period(self) -> str:
        return self.cleaned_data.get("period") or DEFAULT_PERIOD

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("period") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start is None or end is None:
            raise forms.ValidationError(gettext("A custom period needs both its first and its last day."))
        problem = Period.range_problem(start, end, timezone.localdate())
        if problem is not None:
            raise forms.ValidationError(problem[1])
        return data

    def period_asked(self) -> PeriodAsked:
        """The period asked for (the form is valid): the last days up to now, or whole local
        days from the first to the last one given, up to now at most."""
        data = self.cleaned_data
        if data["period"] != "custom":
            return PeriodAsked(days=int(data["period"]))
        return PeriodAsked(days=None, first=data["start"], last=data["end"])

    def period_value(self, now: datetime | None = None) -> Period:
        return self.period_asked().period(now or timezone.now())

    def filters_value(self) -> ReportFilters:
        return ReportFilters.from_values(self.cleaned_data)

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.FILTERS]

    def date_fields(self) -> list[forms.BoundField]:
        return [self["start"], self["end"]]

    def chosen_period(self) -> str:
        """The period as the select shows it: as sent, else the default."""
        values = self.data if self.is_bound else self.initial
        return str(values.get("period") or DEFAULT_PERIOD)

    def chosen_filters(self) -> list[tuple[str, str]]:
        """The filters in use, as (field label, choice label), for the page's heading."""
        if not self.is_valid():
            return []
        chosen = []
        for name in self.FILTERS:
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                labels = {str(key): label for key, label in self.fields[name].choices}
                chosen.append((self.fields[name].label, labels.get(str(value), str(value))))
        return chosen


def _hours(hours: int | None) -> str:
    # Translators: a number of hours, short ("8 h").
    if hours is None:
        return pgettext("no SLA target", "none")
    return gettext("%(hours)s h") % {"hours": hours}


def plan_label(plan: SLAPlan) -> str:
    """A plan with its targets, so that the hours it would replace are known before editing."""
    business = plan.schedule == SLAPlan.Schedule.BUSINESS_HOURS
    schedule = gettext("business hours") if business else gettext("24/7")
    # Translators: an SLA plan in the what-if's list: its name, its targets ("8 h" or "none"), its
    # schedule ("business hours" or "24/7").
    return gettext("%(name)s (first response %(first)s, resolution %(resolution)s, %(schedule)s)") % {
        "name": plan.name,
        "first": _hours(plan.first_response_hours),
        "resolution": _hours(plan.grace_hours),
        "schedule": schedule,
    }


class WhatIfForm(ReportForm):
    """The what-if: an SLA plan, optionally with its hours edited, over a period and filters."""

    plan = forms.ModelChoiceField(
        SLAPlan.objects.filter(is_active=True), label=_("SLA plan"), empty_label=None
    )
    first_response_hours = forms.IntegerField(
        label=_("First response (hours)"),
        required=False,
        min_value=1,
        max_value=MAX_HOURS,
        help_text=_("Blank: the plan's own."),
    )
    resolution_hours = forms.IntegerField(
        label=_("Resolution (hours)"),
        required=False,
        min_value=1,
        max_value=MAX_HOURS,
        help_text=_("Blank: the plan's own."),
    )

    def __init__(self, *args: Any, choices: selectors.FilterChoices, **kwargs: Any) -> None:
        super().__init__(*args, choices=choices, **kwargs)
        # Listed from the catalog; the chosen one is read from the database when checked.
        self.fields["plan"].choices = [(plan.pk, plan_label(plan)) for plan in choices.sla_plans]
        default = next((plan for plan in choices.sla_plans if plan.is_default), None)
        if default is not None:
            self.fields["plan"].initial = default.pk
