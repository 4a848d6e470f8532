"""Form fields the portal and the console share (their forms stay in their own apps)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.functional import lazy
from django.utils.translation import ngettext

from tickets import accounts, throttle, uploads
from tickets.models import HelpTopic


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


def _attachments_help() -> str:
    count = settings.ATTACHMENT_MAX_COUNT
    # Translators: %(size)s is a number of megabytes; %(types)s lists file extensions (".pdf, .png").
    return ngettext(
        "Up to %(count)s file of %(size)s MB: %(types)s.",
        "Up to %(count)s files of %(size)s MB each: %(types)s.",
        count,
    ) % {
        "count": count,
        "size": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "types": ", ".join(uploads.ALLOWED_EXTENSIONS),
    }


class MultipleFileField(forms.FileField):
    """Several files in one field, checked together by ``tickets.uploads``."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        # Fields are made when their form's class is, before any language is chosen: the text is
        # translated each time it is shown.
        self.help_text = lazy(_attachments_help, str)()
        self.widget.attrs["accept"] = ",".join(uploads.ALLOWED_EXTENSIONS)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        files = [super(MultipleFileField, self).clean(f, initial) for f in files]
        try:
            uploads.check_uploads(files)
        except uploads.UploadError as exc:
            raise forms.ValidationError(str(exc)) from None
        return files


class TopicChoiceField(forms.ModelChoiceField):
    """Help topics named with their parents ("Report a Problem / Access Issue")."""

    def label_from_instance(self, obj: HelpTopic) -> str:
        return obj.full_name


class ThrottledSignInForm(AuthenticationForm):
    """Django's sign-in form, refusing for a while an account or an address that failed too
    often (``tickets.accounts.login_*``); ``throttled`` tells the view to answer 429."""

    throttled = False

    def normalize_username(self, username: str) -> str:
        return username.strip()

    def clean(self) -> dict[str, Any]:
        username = self.normalize_username(self.cleaned_data.get("username") or "")
        self.cleaned_data["username"] = username
        ip = throttle.client_ip(self.request)
        if accounts.login_blocked(username, ip):
            self.throttled = True
            raise forms.ValidationError(accounts.locked_out_message(), code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            accounts.login_failed(username, ip)
            raise
