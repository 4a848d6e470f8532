"""A person's own language and time zone (tickets/locales.py holds the rules)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tickets import locales
from tickets.models import AgentProfile, Requester
from tickets.services._common import TicketActionError


def _checked(language: str | None, time_zone: str | None) -> dict[str, str]:
    """The fields to write: a blank value is "the help desk's own"; an unknown one is refused."""
    fields = {}
    if language is not None:
        fields["language"] = locales.language(language)
        if language and not fields["language"]:
            raise TicketActionError(_("That language is not offered here."))
    if time_zone is not None:
        fields["time_zone"] = locales.time_zone(time_zone)
        if time_zone and not fields["time_zone"]:
            raise TicketActionError(_("That time zone is not known."))
    return fields


@transaction.atomic
def preferences_set(
    *, user: Any, language: str | None = None, time_zone: str | None = None, session: Any = None
) -> dict[str, str]:
    """Store a signed-in person's choice (``None``: leave as is) on what they are: an agent's
    profile, a requester's record, or both; and in their ``session``, if given, so that it
    holds from the next page on. Returns what was stored."""
    fields = _checked(language, time_zone)
    if not fields:
        return fields
    if user.is_staff:
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        AgentProfile.objects.filter(pk=profile.pk).update(**fields)
    Requester.objects.filter(user_id=user.pk).update(**fields)
    if session is not None:
        _remember(session, fields.get("language"), fields.get("time_zone"), user)
    return fields


def _remember(session: Any, language: str | None, zone: str | None, user: Any) -> None:
    """What ``helpdesk.i18n`` reads on each request: the language, and an agent's zone (a
    requester's zone is their browser's). ``None`` leaves a key as it is."""
    if language is not None:
        session[locales.SESSION_LANGUAGE] = language
    if zone is not None and user.is_staff:
        session[locales.SESSION_TIME_ZONE] = zone


def _requester_heard_from(requester: Requester, *, language: str = "", time_zone: str = "") -> None:
    """What a requester's latest message says about them (the portal they wrote in, an
    e-mail's Content-Language, their browser's zone): kept for the mail they will get. The
    private form runs inside the service that received the message."""
    heard = {"language": locales.language(language), "time_zone": locales.time_zone(time_zone)}
    fields = {name: value for name, value in heard.items() if value and getattr(requester, name) != value}
    if fields:
        for name, value in fields.items():
            setattr(requester, name, value)
        Requester.objects.filter(pk=requester.pk).update(**fields)


requester_heard_from = transaction.atomic(_requester_heard_from)


def stored_preferences(user: Any) -> tuple[str, str | None]:
    """An account's stored language ("" for none) and, for an agent, their time zone ("" for
    the help desk's). A requester's zone is ``None``: their browser's zone is theirs."""
    if user.is_staff:
        row = AgentProfile.objects.filter(user_id=user.pk).values_list("language", "time_zone").first()
        return row or ("", "")
    language = Requester.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return language or "", None


def remember_at_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """At sign-in (Django's ``user_logged_in``), keep the account's choices in the session:
    an agent's zone is always theirs or the help desk's, never their browser's."""
    if request is None or not hasattr(request, "session"):
        return
    language, zone = stored_preferences(user)
    _remember(request.session, language, zone, user)
