"""Every error as JSON with a stable ``code`` and a ``message`` for people (docs/api.md):

    {"code": "invalid", "message": "Some fields are not valid.", "fields": {"subject": ["..."]}}

400 invalid / bad_request, 401 unauthenticated, 403 forbidden, 404 not_found (for a ticket the
caller may not see, the same body as for one that does not exist; an unknown path or transition
says so), 405, 406, 409 stale or
not_allowed, 413, 415, 422 idempotency_key_reused, 429 rate_limited (with Retry-After).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from tickets import idempotency, services

NOT_FOUND = gettext_lazy("No such ticket.")


class Conflict(exceptions.APIException):
    """409: the ticket changed since the caller's copy (``stale``), or the move is not allowed
    from its current state (``not_allowed``). ``ticket`` is its current representation."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "not_allowed"

    def __init__(self, message: str, *, code: str = "not_allowed", ticket: Any = None) -> None:
        super().__init__(message, code)
        self.error_code, self.ticket = code, ticket


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"

    def __init__(self, message: str, *, code: str = "unprocessable") -> None:
        super().__init__(message, code)
        self.error_code = code


CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "bad_request",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


class NoSuchEndpoint(APIView):
    """Any path under /api/ that names no endpoint: the API's JSON 404, not the site's page."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound(
            _("No such endpoint (paths end with a slash); the endpoints are listed at /api/docs/.")
        )

    post = put = patch = delete = options = get


def _message(detail: Any) -> str:
    if isinstance(detail, list | tuple):
        return " ".join(_message(d) for d in detail)
    if isinstance(detail, dict):
        return _("Some fields are not valid.")
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, idempotency.IdempotencyMismatch):
        exc = Unprocessable(str(exc), code="idempotency_key_reused")
    elif isinstance(exc, services.TicketConflict):
        exc = Conflict(str(exc), code="stale")
    elif isinstance(exc, services.TicketActionError):
        exc = Conflict(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    code = getattr(exc, "error_code", None) or next(
        (c for kind, c in CODES.items() if isinstance(exc, kind)), exc.default_code
    )
    body: dict[str, Any] = {"code": code, "message": _message(exc.detail)}
    if isinstance(exc, exceptions.ValidationError):
        body["fields"] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    if isinstance(exc, exceptions.Throttled):
        seconds = int(exc.wait or 1)
        body["message"] = ngettext(
            "Too many requests; try again in %(seconds)s second.",
            "Too many requests; try again in %(seconds)s seconds.",
            seconds,
        ) % {"seconds": seconds}
    if isinstance(exc, Conflict) and exc.ticket is not None:
        body["ticket"] = exc.ticket
    response.data = body
    return response
