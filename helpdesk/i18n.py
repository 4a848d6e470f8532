"""Each request in its reader's language and time zone, and the language picker (docs/i18n.md).

Django's ``LocaleMiddleware`` has already chosen from the picker's cookie, else the browser's
Accept-Language. A signed-in person's own choice, kept in their session at sign-in, comes
before both; their time zone likewise, else the zone their browser reports
(``static/timezone.js``), else the help desk's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets import locales, services


def _session(request: HttpRequest) -> dict | None:
    """The session if the request carries one: one without a cookie is never read (no query)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    return getattr(request, "session", None)


class PreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = _session(request)
        chosen = locales.language(session.get(locales.SESSION_LANGUAGE)) if session is not None else ""
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        # An agent's session names their zone ("" is the help desk's); anyone else's browser does.
        if session is not None and locales.SESSION_TIME_ZONE in session:
            zone = locales.time_zone(session[locales.SESSION_TIME_ZONE])
        else:
            zone = locales.time_zone(request.COOKIES.get(settings.TIME_ZONE_COOKIE_NAME))
        if zone:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return "/"
    return target


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The picker: the cookie for anyone, the account and the session for a signed-in person."""
    response = HttpResponseRedirect(_back(request))
    code = locales.language(request.POST.get("language"))
    if not code:
        messages.error(request, _("That language is not offered here."))
        return response
    if request.user.is_authenticated:
        services.preferences_set(user=request.user, language=code, session=request.session)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 3600,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
    )
    return response
