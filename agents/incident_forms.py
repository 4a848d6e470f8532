"""The console's forms for major incidents: declare one, change its status line, post an update
to every report, link reports to it, link a ticket to one. They validate input; the writes happen
in ``tickets.services.incidents``."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.forms import VersionForm, use_choices
from tickets import selectors
from tickets.models import Department, Team, Ticket

STATUS_MAX = Ticket._meta.get_field("incident_status").max_length
SUBJECT_MAX = Ticket._meta.get_field("subject").max_length
# How many tickets one "Link reports" may name.
LINK_MAX = 100
_SEPARATORS = re.compile(r"[\s,;]+")


def ticket_number(text: str) -> str | None:
    """A ticket number as people type it ("123456", "#123456"), or None."""
    number = text.strip().lstrip("#")
    return number if number.isdigit() and len(number) <= 12 else None


class StatusForm(VersionForm):
    status = forms.CharField(
        label=gettext_lazy("Public status line"),
        max_length=STATUS_MAX,
        help_text=gettext_lazy("Every reporter reads it on their ticket page."),
        # Django fills in limit_value (the field's max_length) when it shows the error.
        error_messages={
            "max_length": gettext_lazy("A public status line is at most %(limit_value)d characters.")
        },
    )


class DeclareForm(StatusForm):
    """Make this ticket the incident, or open a new incident ticket with this one as its first
    report."""

    MODES = [
        ("this", gettext_lazy("This ticket is the incident")),
        ("new", gettext_lazy("Open a new incident ticket; this one becomes its first report")),
    ]

    mode = forms.ChoiceField(
        label=gettext_lazy("Which ticket is the incident"),
        choices=MODES,
        initial="this",
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=gettext_lazy("Incident subject"), max_length=SUBJECT_MAX, required=False)
    body = forms.CharField(
        label=gettext_lazy("What is known (internal to the incident ticket)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=20000,
    )
    team = forms.ModelChoiceField(
        Team.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("No team"),
        label=gettext_lazy("Team"),
    )
    department = forms.ModelChoiceField(
        Department.objects.all(), required=False, empty_label=None, label=gettext_lazy("Department")
    )

    def __init__(
        self, *args: Any, ticket: Ticket, choices: selectors.FilterChoices | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial",
            {
                "version": ticket.version,
                "mode": "this",
                "subject": ticket.subject,
                "team": ticket.team_id,
                "department": ticket.department_id,
            },
        )
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        if choices is not None:
            use_choices(self, choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "new":
            if not (data.get("subject") or "").strip():
                self.add_error("subject", _("A new incident ticket needs a subject."))
            if not data.get("department"):
                data["department"] = self.ticket.department
        return data


class UpdateForm(VersionForm):
    body = forms.CharField(
        label=gettext_lazy("Public update"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )


class LinkReportsForm(VersionForm):
    """Several ticket numbers at once, separated by commas or spaces."""

    numbers = forms.CharField(label=gettext_lazy("Ticket numbers"), max_length=2000)

    def clean_numbers(self) -> list[str]:
        tokens = [t for t in _SEPARATORS.split(self.cleaned_data["numbers"]) if t]
        wrong = [t for t in tokens if ticket_number(t) is None]
        if wrong:
            listed = ", ".join(f"“{t}”" for t in wrong[:5]) + (" …" if len(wrong) > 5 else "")
            raise forms.ValidationError(
                # Translators: "listed" is the wrong numbers as typed, each in quotes, separated by commas.
                _("Not ticket numbers: %(listed)s. Give numbers such as 100042.") % {"listed": listed}
            )
        numbers = list(dict.fromkeys(ticket_number(t) for t in tokens))
        if not numbers:
            raise forms.ValidationError(_("Give at least one ticket number."))
        if len(numbers) > LINK_MAX:
            raise forms.ValidationError(
                _("At most %(max)s tickets at once (%(given)s given).")
                % {"max": LINK_MAX, "given": len(numbers)}
            )
        return [n for n in numbers if n]


class JoinForm(VersionForm):
    """This ticket, linked to an incident by its number."""

    incident = forms.CharField(label=gettext_lazy("Incident number"), max_length=20)

    def clean_incident(self) -> str:
        number = ticket_number(self.cleaned_data["incident"])
        if number is None:
            raise forms.ValidationError(_("Give the incident's ticket number, such as 100042."))
        return number


class UnlinkForm(VersionForm):
    # Where the agent clicked Unlink: on the report's page or in its incident's list.
    back = forms.ChoiceField(choices=[("report", "report"), ("incident", "incident")], required=False)
