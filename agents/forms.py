"""The console's forms. They validate input; the writes happen in ``tickets`` services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.text import capfirst
from django.utils.translation import get_language_info, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from tickets import locales, selectors
from tickets.models import AgentProfile, Department, HelpTopic, Priority, SLAPlan, State, Team, Ticket
from tickets.web.forms import MultipleFileField, ThrottledSignInForm, TopicChoiceField


class AgentSignInForm(ThrottledSignInForm):
    """Staff only."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(
                _("This sign-in is for agents. Requesters sign in to the portal."), code="not_staff"
            )


def _agents() -> Any:
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("first_name", "username")


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


def _topics() -> Any:
    return HelpTopic.objects.filter(is_active=True).select_related("parent__parent")


class QueueFilterForm(forms.Form):
    """GET parameters of a queue page; anything unknown or malformed is ignored."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False)
    department = forms.ModelChoiceField(
        Department.objects.all(),
        required=False,
        empty_label=gettext_lazy("Any department"),
        label=gettext_lazy("Department"),
    )
    team = forms.ModelChoiceField(
        Team.objects.all(), required=False, empty_label=gettext_lazy("Any team"), label=gettext_lazy("Team")
    )
    agent = AgentChoiceField(
        _agents(), required=False, empty_label=gettext_lazy("Any agent"), label=gettext_lazy("Agent")
    )
    priority = forms.ModelChoiceField(
        Priority.objects.all(),
        required=False,
        empty_label=gettext_lazy("Any priority"),
        label=gettext_lazy("Priority"),
    )
    state = forms.ChoiceField(
        label=gettext_lazy("Stage"),
        choices=[("", gettext_lazy("Any stage"))] + State.choices[1:],
        required=False,
    )
    help_topic = TopicChoiceField(
        _topics(),
        required=False,
        empty_label=gettext_lazy("Any help topic"),
        label=gettext_lazy("Help topic"),
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        choices=[("", gettext_lazy("Any source")), *Ticket.Source.choices],
        required=False,
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort"),
        choices=[(key, label) for key, (label, _) in selectors.SORTS.items()], required=False
    )
    # A search's second step: words in every ticket, not only the newest.
    older = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, choices: selectors.FilterChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if choices is not None:
            use_choices(self, choices)

    def filters(self, search_from: int | None = None) -> selectors.QueueFilters:
        """The filters; a search looks for words in tickets from ``search_from`` on unless
        the agent asked for older tickets too (``older``)."""
        # A malformed value drops that filter only: cleaned_data keeps the valid ones.
        self.is_valid()
        data = getattr(self, "cleaned_data", {})  # an unbound form (no filters) has none

        def pk(name: str) -> int | None:
            value = data.get(name)
            return value.pk if value is not None else None

        return selectors.QueueFilters(
            department=pk("department"),
            team=pk("team"),
            agent=pk("agent"),
            priority=pk("priority"),
            state=data.get("state") or None,
            help_topic=pk("help_topic"),
            source=data.get("source") or None,
            search=data.get("q") or "",
            search_from=None if data.get("older") else search_from,
        )

    def sort_key(self) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("sort") or "activity"


def _label(obj: Any) -> str:
    if isinstance(obj, HelpTopic):
        return obj.full_name
    if hasattr(obj, "get_full_name"):
        return obj.get_full_name() or obj.get_username()
    return str(obj)


def use_choices(form: forms.Form, choices: selectors.FilterChoices) -> None:
    """Give the form's model fields the options already fetched for the page, so that
    rendering them costs no query (validation still checks against the database)."""
    lists = {
        "department": choices.departments,
        "team": choices.teams,
        "agent": choices.agents,
        "assignee": choices.agents,
        "priority": choices.priorities,
        "help_topic": choices.help_topics,
        "sla_plan": choices.sla_plans,
    }
    for name, field in form.fields.items():
        if name in lists and isinstance(field, forms.ModelChoiceField):
            empty = [("", field.empty_label)] if field.empty_label is not None else []
            field.choices = empty + [(obj.pk, _label(obj)) for obj in lists[name]]


class VersionForm(forms.Form):
    """The version of the ticket the page showed: an older one means someone changed it."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class PropertyForm(VersionForm):
    """One property changed in the workspace's panel."""

    FIELDS = ("help_topic", "priority", "sla_plan", "department", "team", "assignee")

    field = forms.ChoiceField(choices=[(f, f) for f in FIELDS])
    help_topic = TopicChoiceField(_topics(), required=False)
    priority = forms.ModelChoiceField(Priority.objects.all(), required=False)
    sla_plan = forms.ModelChoiceField(SLAPlan.objects.filter(is_active=True), required=False)
    department = forms.ModelChoiceField(Department.objects.all(), required=False)
    team = forms.ModelChoiceField(Team.objects.filter(is_active=True), required=False)
    assignee = AgentChoiceField(_agents(), required=False)


class ComposerForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Send as"),
        choices=[("reply", gettext_lazy("Reply to the requester")), ("note", gettext_lazy("Internal note"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        initial="reply",
    )
    body = forms.CharField(
        label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000
    )
    attachments = MultipleFileField(label=gettext_lazy("Attachments"))


class AssignForm(VersionForm):
    agent = AgentChoiceField(
        _agents(), required=False, empty_label=gettext_lazy("No agent"), label=gettext_lazy("Agent")
    )
    team = forms.ModelChoiceField(
        Team.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("No team"),
        label=gettext_lazy("Team"),
    )
    department = forms.ModelChoiceField(
        Department.objects.all(),
        required=False,
        empty_label=gettext_lazy("Keep the department"),
        label=gettext_lazy("Transfer to department"),
    )

    def __init__(self, *args: Any, choices: selectors.FilterChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if choices is not None:
            use_choices(self, choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("agent") and not data.get("team"):
            raise forms.ValidationError(_("Choose an agent, a team or both."))
        return data


class EscalateForm(VersionForm):
    team = forms.ModelChoiceField(
        Team.objects.none(),
        required=False,
        empty_label=gettext_lazy("No team"),
        label=gettext_lazy("To team"),
    )
    department = forms.ModelChoiceField(
        Department.objects.none(),
        required=False,
        empty_label=gettext_lazy("Keep the department"),
        label=gettext_lazy("To department"),
    )
    summary = forms.CharField(
        label=gettext_lazy("Hand-off summary"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What is known and what was tried, for the next tier."),
    )

    def __init__(
        self, *args: Any, ticket: Ticket, choices: selectors.FilterChoices | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only targets above the ticket's tier are offered; the model refuses the others too.
        self.fields["team"].queryset = Team.objects.filter(is_active=True, tier__gt=ticket.tier).order_by(
            "name"
        )
        self.fields["department"].queryset = Department.objects.filter(tier__gt=ticket.tier).order_by("name")
        # Listed once (from the page's cached choices, else the database): the dialog lists
        # them and the buttons ask whether there are any.
        teams = choices.teams if choices is not None else self.fields["team"].queryset
        departments = choices.departments if choices is not None else self.fields["department"].queryset
        self.fields["team"].choices = [("", _("No team"))] + [
            (team.pk, team.name) for team in teams if team.tier > ticket.tier
        ]
        self.fields["department"].choices = [("", _("Keep the department"))] + [
            (dept.pk, dept.name) for dept in departments if dept.tier > ticket.tier
        ]

    def has_targets(self) -> bool:
        return len(self.fields["team"].choices) + len(self.fields["department"].choices) > 2

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("team") and not data.get("department"):
            raise forms.ValidationError(_("Choose a team or a department of a higher tier."))
        return data


class MessageForm(VersionForm):
    """Resolve (the resolution message) and request info (the question)."""

    message = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 4}))


class ReasonForm(VersionForm):
    """Reopen and cancel need a reason; close takes an optional one."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class PhoneTicketForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Requester's e-mail"),
        help_text=gettext_lazy("An existing requester is found by it."),
    )
    name = forms.CharField(label=gettext_lazy("Requester's name"), max_length=120, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    # The portal's wording for the empty choice, not Django's "---------".
    help_topic = TopicChoiceField(
        _topics(), label=gettext_lazy("Help topic"), empty_label=gettext_lazy("Choose a help topic…")
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=255)
    body = forms.CharField(
        label=gettext_lazy("What the caller said"), widget=forms.Textarea(attrs={"rows": 6})
    )
    attachments = MultipleFileField(label=gettext_lazy("Attachments"))


class BulkForm(forms.Form):
    ACTIONS = [
        ("claim", gettext_lazy("Take them")),
        ("assign", gettext_lazy("Assign to…")),
        ("close", pgettext_lazy("bulk action", "Close")),
        ("cancel", gettext_lazy("Cancel…")),
        ("link_incident", gettext_lazy("Link to incident #…")),
    ]

    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(choices=ACTIONS)
    agent = AgentChoiceField(
        _agents(), required=False, empty_label=gettext_lazy("No agent"), label=gettext_lazy("Agent")
    )
    team = forms.ModelChoiceField(
        Team.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("No team"),
        label=gettext_lazy("Team"),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000)
    incident = forms.CharField(label=gettext_lazy("Incident"), required=False, max_length=20)

    def __init__(self, *args: Any, choices: selectors.FilterChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if choices is not None:
            use_choices(self, choices)
        # Any whole number: which of them the agent may act on is decided by the services.
        self.fields["tickets"].choices = [(v, v) for v in self.data.getlist("tickets")] if self.data else []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == "assign" and not data.get("agent") and not data.get("team"):
            raise forms.ValidationError(_("Choose an agent or a team to assign to."))
        if action == "cancel" and not (data.get("reason") or "").strip():
            raise forms.ValidationError(_("Give a reason to cancel."))
        if action == "link_incident":
            number = (data.get("incident") or "").strip().lstrip("#")
            if not number.isdigit():
                raise forms.ValidationError(
                    _("Give the number of the incident to link them to (100042, say).")
                )
            data["incident"] = number
        return data


class AlertsForm(forms.Form):
    """One tick box per alert, labelled as the model names it; then the agent's language and
    time zone (the console's and the alerts'; blank: the help desk's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in AgentProfile.ALERTS:
            label = AgentProfile._meta.get_field(name).verbose_name
            self.fields[name] = forms.BooleanField(label=capfirst(label), required=False)
        desk_language = _language_name(settings.LANGUAGE_CODE)
        self.fields["language"] = forms.ChoiceField(
            label=_("Language"),
            required=False,
            choices=[
                ("", _("The help desk's language (%(name)s)") % {"name": desk_language}),
                *((code, _language_name(code)) for code, _name in settings.LANGUAGES),
            ],
        )
        self.fields["time_zone"] = forms.ChoiceField(
            label=_("Time zone"),
            required=False,
            choices=[
                ("", _("The help desk's time zone (%(name)s)") % {"name": settings.TIME_ZONE}),
                *((zone, zone) for zone in locales.time_zones()),
            ],
            help_text=_(
                "The console shows times in it. Due times are still counted on the business hours' calendar."
            ),
        )

    PREFERENCES = ("language", "time_zone")


def _language_name(code: str) -> str:
    """A language by its own name ("Deutsch"), as people look for theirs."""
    return get_language_info(code)["name_local"]


class MergeForm(VersionForm):
    """Merge this ticket into another: its number; ``confirm`` when the requesters differ."""

    into = forms.RegexField(
        r"^\s*#?\d{1,12}\s*$",
        label=gettext_lazy("Merge into ticket number"),
        error_messages={"invalid": gettext_lazy("Enter a ticket number, such as 100042.")},
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_into(self) -> str:
        return self.cleaned_data["into"].strip().lstrip("#")
