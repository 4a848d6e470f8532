"""Who is calling: an API key (``Authorization: Bearer <key>``) or a signed-in browser session.

A key authenticates as its owner, with the key as ``request.auth``; what the key may do is
narrowed by its scope and department (``api.access``). A session is Django's own, with CSRF
enforced on writes.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from tickets import apikeys


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must be “Bearer <key>”."))
        key = apikeys.apikey_authenticate(header[1])
        if key is None:
            raise exceptions.AuthenticationFailed(
                _("This API key is not valid: unknown, revoked or expired.")
            )
        return key.owner, key

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session, for the portal's and the console's own pages calling the API."""
