"""Tickets: the list and a new ticket, one ticket (read, change its properties), its files."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import pagination, present, schema, writes
from api.access import caller, ticket_for, tickets_for
from api.idempotent import idempotent
from api.permissions import CanRead, CanWrite
from api.serializers import inputs
from api.serializers import tickets as shown
from tickets import accounts, selectors, services, uploads
from tickets.models import Ticket


def _filters(data: dict[str, Any]) -> selectors.QueueFilters:
    return selectors.QueueFilters(
        **{name: data.get(name) for name in ("department", "team", "agent", "priority", "help_topic")},
        state=data.get("state"),
        source=data.get("source"),
        search=data.get("q", ""),
    )


class TicketList(APIView):
    def get_permissions(self) -> list[Any]:
        return [CanRead()] if self.request.method == "GET" else [CanWrite()]

    @extend_schema(
        operation_id="v1_tickets_list",
        summary="The tickets you may see",
        description="Agents: a console queue, filtered, searched and sorted. Requesters: their own "
        "tickets, newest activity first (only `state` applies). Pages by cursor: follow `next`.",
        parameters=[inputs.TicketListQuery],
        responses={200: schema.TicketPage, **schema.errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        who = caller(request)
        query = inputs.TicketListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if who.is_agent:
            sort = data["sort"]
            tickets = selectors.ticket_queue(who.user, queue=data["queue"], filters=_filters(data), sort=sort)
            tickets = tickets.prefetch_related("follow_up_of", "incident")
            if who.department is not None:
                tickets = tickets.filter(department=who.department)
        else:
            sort = "activity"
            tickets = tickets_for(who).select_related(
                "help_topic__parent__parent", "follow_up_of", "incident"
            )
            if data.get("state"):
                tickets = tickets.filter(state=data["state"])
            tickets = tickets.order_by(*selectors.SORTS[sort][1])
        page = pagination.paginate(
            request, tickets, sort=sort, size=data["page_size"], cursor=data.get("cursor")
        )
        serializer = shown.AgentTicketSerializer if who.is_agent else shown.TicketSerializer
        return Response({"results": serializer(page.rows, many=True).data, "next": page.next})

    @extend_schema(
        summary="Open a ticket",
        description="Integrations (“create” keys) and agents open it for the requester they name "
        "(found or made by e-mail address); a requester opens their own. Intake and routing run "
        "as for every channel. Send files as multipart `attachments`.",
        parameters=[schema.IDEMPOTENCY_KEY, schema.etag(201), schema.location(201), schema.REPLAYED],
        request={
            "application/json": inputs.TicketCreateBody,
            "multipart/form-data": inputs.TicketCreateBody,
        },
        responses={201: schema.TICKET, **schema.errors(400, 403, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        who = caller(request)
        if who.is_agent and not who.user.has_perm("tickets.work_ticket"):
            raise exceptions.PermissionDenied(_("You may not open tickets."))
        body = inputs.TicketCreateBody(data=request.data, context={"who": who})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        details = {
            "subject": data["subject"],
            "body": data["body"],
            "help_topic": data.get("help_topic"),
            "priority_hint": data.get("priority"),
            "attachments": data.get("attachments", []),
            "source": Ticket.Source.API,
            "department": who.department,
        }
        try:
            if who.is_requester:
                requester = accounts.requester_for_user(who.user)
                ticket = services.ticket_create(requester=requester, actor=who.user, **details)
            else:
                _requester, ticket = services.ticket_create_for_contact(
                    email=data["requester_email"],
                    name=data["requester_name"],
                    actor=who.user if who.is_agent else None,
                    **details,
                )
        except services.TicketActionError as exc:
            raise exceptions.ValidationError(str(exc)) from None
        ticket = present.reload(ticket)
        headers = {"ETag": present.etag(ticket), "Location": shown.ticket_url(ticket.number)}
        return Response(present.ticket_data(who, ticket), status=201, headers=headers)


class TicketDetail(APIView):
    def get_permissions(self) -> list[Any]:
        return [CanRead()] if self.request.method == "GET" else [CanRead(), CanWrite()]

    @extend_schema(
        summary="One ticket, with its thread and log",
        description="Agents read every entry and the whole log; requesters the public entries and "
        "when the ticket moved. `allowed_transitions` names what the caller may do now.",
        parameters=[schema.NUMBER, schema.etag(200)],
        responses={200: schema.DETAIL, **schema.errors(403, 404)},
    )
    def get(self, request: Request, number: str) -> Response:
        who = caller(request)
        return present.detail_response(who, ticket_for(who, number))

    @extend_schema(
        summary="Change a ticket's properties (agents)",
        description="Each change is an event in the thread. `team` assigns the ticket to that team "
        "(keeping its agent), as the console's property panel does.",
        parameters=[schema.NUMBER, schema.IF_MATCH, schema.etag(200)],
        request=inputs.TicketPatchBody,
        responses={200: schema.DETAIL, **schema.errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, number: str) -> Response:
        who = caller(request)
        ticket = ticket_for(who, number)
        if not who.is_agent:
            raise exceptions.PermissionDenied(_("Only agents change a ticket's properties."))
        body = inputs.TicketPatchBody(data=request.data, context={"ticket": ticket})
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        with writes.changing(request, who, ticket), transaction.atomic():
            if "team" in changes and (team := changes.pop("team")) != ticket.team:
                services.ticket_assign(ticket=ticket, actor=who.user, agent=ticket.assignee, team=team)
            if changes:
                services.ticket_update_properties(ticket=ticket, actor=who.user, **changes)
        return present.detail_response(who, present.reload(ticket))


class AnyAccept(BaseContentNegotiation):
    """A download is a file whatever the client accepts."""

    def select_parser(self, request: Any, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class AttachmentDownload(APIView):
    permission_classes = [CanRead]
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="Download a file of the thread",
        description="Requesters may download the files of public entries only.",
        parameters=[
            schema.NUMBER,
            OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Its id."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            **schema.errors(403, 404),
        },
    )
    def get(self, request: Request, number: str, attachment_id: str) -> Any:
        who = caller(request)
        ticket = ticket_for(who, number)
        attachment = (
            selectors.attachment_of(ticket, int(attachment_id), public_only=not who.is_agent)
            if attachment_id.isdigit() and int(attachment_id) <= inputs.MAX_ID
            else None
        )
        if attachment is None:
            raise exceptions.NotFound(_("No such file."))
        return uploads.download_response(attachment)


urlpatterns = [
    path("tickets/", TicketList.as_view(), name="tickets"),
    path("tickets/<str:number>/", TicketDetail.as_view(), name="ticket"),
    path(
        # Any text, so that an id that is no number is this API's 404 (JSON), not the site's.
        "tickets/<str:number>/attachments/<str:attachment_id>/",
        AttachmentDownload.as_view(),
        name="attachment",
    ),
]
