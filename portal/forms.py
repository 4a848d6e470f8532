"""The portal's forms. They validate input; the writes happen in ``tickets`` services.

Only the fields declared here are read, so a forged ``department``, ``priority``,
``assignee``, ``state`` or ``internal`` in a POST is ignored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import accounts, selectors
from tickets.models import HelpTopic
from tickets.web.forms import MultipleFileField, ThrottledSignInForm


class _ListedTopicField(forms.ChoiceField):
    """A help topic from the listed ones (the cached catalog's): no query to check a choice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topics: dict[str, HelpTopic] = {}

    def clean(self, value: Any) -> HelpTopic | None:
        key = super().clean(value)
        return self.topics.get(key) if key else None


class OpenTicketForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("E-mail address"), help_text=_("We send the ticket number and updates here.")
    )
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    help_topic = _ListedTopicField(label=_("Help topic"))
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(
        label=_("Describe the problem"),
        widget=forms.Textarea(attrs={"rows": 7}),
        max_length=20000,
        help_text=_("What happened, what you expected, and since when. Markdown works."),
    )
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        topics = selectors.help_topics_public()
        self.fields["help_topic"].topics = {str(t.pk): t for t in topics}
        # Nested names in alphabetical order, as on the home page.
        self.fields["help_topic"].choices = [("", gettext("Choose a help topic…"))] + [
            (t.pk, t.full_name) for t in topics
        ]
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["phone"].widget.attrs["autocomplete"] = "tel"
        if user is not None and user.is_authenticated:
            # A signed-in requester opens tickets as themselves.
            del self.fields["name"], self.fields["email"]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    attachments = MultipleFileField(label=_("Attachments"))


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still wrong?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class StatusForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), help_text=_("The address you opened the ticket with.")
    )
    number = forms.CharField(label=_("Ticket number"), max_length=12)

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().lstrip("#")


class RegisterForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", gettext("The two passwords differ."))
        elif data.get("password1"):
            try:
                password_validation.validate_password(data["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class SignInForm(ThrottledSignInForm):
    """Sign in with an e-mail address, in any case."""

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = gettext("E-mail address")
        self.fields["username"].widget.attrs["autocomplete"] = "email"

    def normalize_username(self, username: str) -> str:
        return username.strip().lower()


class ThrottledPasswordResetForm(PasswordResetForm):
    """The same answer for known and unknown addresses; a few mails per hour at most, each
    made and sent as the help desk's other automatic mail (``tickets.accounts``), not by
    Django's own ``send_mail``, which marks nothing as automatic."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        accounts.password_reset_mail(to_email=to_email, context=context)
