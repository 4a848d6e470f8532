"""Related tickets (docs/lifecycle.md, "Related tickets"): list the tickets related to one, relate
another, take a link back. Agents only; each side must be a ticket the caller sees. Calls
``tickets.services.related`` as the console does."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema
from api.access import Caller, caller, ticket_for
from api.permissions import CanRead, CanWrite
from tickets import linked, services
from tickets.models import Ticket

AGENTS_ONLY = gettext_lazy("Only agents relate tickets.")


class RelatedTicket(serializers.Serializer):
    number = serializers.CharField()
    subject = serializers.CharField()
    state = serializers.CharField()
    requester = serializers.CharField(source="requester.name", help_text="The requester's name.")


class RelatedList(serializers.Serializer):
    results = RelatedTicket(many=True, help_text="The related tickets you see, oldest first.")


class RelateBody(serializers.Serializer):
    ticket = serializers.CharField(max_length=20, help_text="The number of the ticket to relate.")


def _agent(request: Request, number: str) -> tuple[Caller, Ticket]:
    who = caller(request)
    ticket = ticket_for(who, number)
    if not who.is_agent:
        raise exceptions.PermissionDenied(str(AGENTS_ONLY))
    return who, ticket


def _listed(who: Caller, ticket: Ticket, *, status: int = 200) -> Response:
    rows = linked.related_tickets(ticket, who.user)
    if who.department is not None:
        rows = [t for t in rows if t.department_id == who.department.pk]
    return Response({"results": RelatedTicket(rows, many=True).data}, status=status)


def _run(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except services.TicketActionError as exc:
        raise exceptions.ValidationError({"ticket": [str(exc)]}) from None
    except PermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from None


class Related(APIView):
    def get_permissions(self) -> list[object]:
        return [CanRead()] if self.request.method == "GET" else [CanRead(), CanWrite()]

    @extend_schema(
        operation_id="v1_tickets_related_list",
        summary="The tickets related to this one",
        parameters=[schema.NUMBER],
        responses={200: RelatedList, **schema.errors(403, 404)},
    )
    def get(self, request: Request, number: str) -> Response:
        who, ticket = _agent(request, number)
        return _listed(who, ticket)

    @extend_schema(
        summary="Relate another ticket to this one",
        description="Both must be tickets you see; the link is an event in both threads.",
        parameters=[schema.NUMBER],
        request=RelateBody,
        responses={201: RelatedList, **schema.errors(400, 403, 404)},
    )
    def post(self, request: Request, number: str) -> Response:
        who, ticket = _agent(request, number)
        body = RelateBody(data=request.data)
        body.is_valid(raise_exception=True)
        other = ticket_for(who, body.validated_data["ticket"].strip())
        _run(lambda: services.ticket_relate(ticket=ticket, other=other, actor=who.user))
        return _listed(who, ticket, status=201)


class RelatedOne(APIView):
    permission_classes = [CanRead, CanWrite]

    @extend_schema(
        summary="Take back a related link",
        parameters=[schema.NUMBER],
        responses={200: RelatedList, **schema.errors(400, 403, 404)},
    )
    def delete(self, request: Request, number: str, other: str) -> Response:
        who, ticket = _agent(request, number)
        related = ticket_for(who, other)
        _run(lambda: services.ticket_unrelate(ticket=ticket, other=related, actor=who.user))
        return _listed(who, ticket)


urlpatterns = [
    path("tickets/<str:number>/related/", Related.as_view(), name="related"),
    path("tickets/<str:number>/related/<str:other>/", RelatedOne.as_view(), name="related-one"),
]
