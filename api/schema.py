"""What the OpenAPI schema says about every endpoint beyond its serializers: the error body
and the codes each endpoint answers, and the headers (ETag, If-Match, Idempotency-Key)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from api import idempotent
from api.serializers import tickets as shown


class ErrorSerializer(serializers.Serializer):
    """Every error (``api.errors``)."""

    code = serializers.CharField(help_text="Stable: invalid, unauthenticated, forbidden, not_found, stale, …")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 invalid: what is wrong with each field (or header, or query parameter).",
    )
    ticket = serializers.DictField(
        required=False, help_text="409: the ticket as it is now, in the form the caller reads it."
    )


def forms_of_a_ticket(result: dict, generator: object, request: object, public: bool) -> dict:
    """A postprocessing hook: a ticket comes in the form of its caller (``…AsCaller``), and the
    agent form holds every field of the requester form, so an agent's ticket is valid under
    both. They are alternatives of ``anyOf``, not ``oneOf`` (exactly one)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("AsCaller") and "oneOf" in component:
            component["anyOf"] = component.pop("oneOf")
    return result


# A ticket in its caller's form (api.present): the agent form, or the requester form, which
# integrations also get; a detail adds the thread, the log and the allowed transitions.
TICKET = PolymorphicProxySerializer(
    "TicketAsCaller",
    serializers=[shown.AgentTicketSerializer, shown.TicketSerializer],
    resource_type_field_name=None,
)
DETAIL = PolymorphicProxySerializer(
    "TicketDetailAsCaller",
    serializers=[shown.AgentTicketDetailSerializer, shown.TicketDetailSerializer, shown.TicketSerializer],
    resource_type_field_name=None,
)


class TicketPage(serializers.Serializer):
    results = PolymorphicProxySerializer(
        "TicketListItemAsCaller",
        serializers=[shown.AgentTicketSerializer, shown.TicketSerializer],
        resource_type_field_name=None,
        many=True,
    )
    next = serializers.URLField(allow_null=True, help_text="The next page, or null after the last.")


WHAT = {
    400: "Invalid: a field, query parameter or header (`fields` says which).",
    401: "No credentials, or an API key that is unknown, revoked or expired.",
    403: "Not allowed to this caller (key scope, role or permission).",
    404: "No such ticket, or one the caller may not see (the same answer).",
    409: "`stale`: the ticket changed since the If-Match version; `not_allowed`: not from its "
    "current state. `ticket` is the ticket as it is now.",
    422: "This Idempotency-Key was used for another request.",
    429: "Too many requests; see Retry-After.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers of an endpoint: 401 and 429 for every one, plus these."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=WHAT[code]) for code in sorted({401, 429, *codes})
    }


def etag(*codes: int) -> OpenApiParameter:
    return OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=list(codes),
        description='The ticket\'s version, quoted: `"7"`. Send it back as If-Match.',
    )


def location(*codes: int) -> OpenApiParameter:
    return OpenApiParameter(
        "Location", OpenApiTypes.STR, OpenApiParameter.HEADER, response=list(codes),
        description="The ticket's URL; a follow-up's when the requester's message or reopening "
        "found the ticket closed and opened one.",
    )  # fmt: skip


def reports_resolved(*codes: int) -> OpenApiParameter:
    return OpenApiParameter(
        "Reports-Resolved", OpenApiTypes.INT, OpenApiParameter.HEADER, response=list(codes),
        description="On resolving a major incident: how many of its linked reports were resolved "
        "with it (each with the incident's message; the incident's thread names any left).",
    )  # fmt: skip


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='Optional: the version the change was decided on (`"7"`, `W/"7"` or `*`). '
    "If the ticket changed since, nothing is done and the answer is 409 `stale`.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    idempotent.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional: a retry with the same key and body within the window gets the first "
    "answer again (with `Idempotent-Replayed: true`) and nothing is done twice.",
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description="`true` when this is the stored answer to an earlier request with the same key.",
)
NUMBER = OpenApiParameter(
    "number", OpenApiTypes.STR, OpenApiParameter.PATH, description="The ticket's number."
)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
