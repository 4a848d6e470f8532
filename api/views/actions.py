"""What is done to a ticket: replies and notes (agents), messages (the requester, or an
integration for them), and the lifecycle's transitions, each calling its service exactly as
the console and the portal do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import present, schema, writes
from api.access import Caller, caller, ticket_for, ticket_for_message
from api.errors import Conflict
from api.idempotent import idempotent
from api.permissions import CanRead, CanWrite
from api.serializers import inputs
from api.serializers import tickets as shown
from tickets import linked, services
from tickets.models import State, ThreadEntry, Ticket

MULTIPART = ("application/json", "multipart/form-data")
REPORTS_RESOLVED = "Reports-Resolved"


class EntryAnswer(serializers.Serializer):
    entry = shown.EntrySerializer()
    ticket = schema.DETAIL
    follow_up = serializers.BooleanField(
        help_text="The ticket had closed: the message opened `ticket`, a follow-up to it."
    )


def _entry_response(who: Caller, landed: Ticket, entry: ThreadEntry, *, follow_up: bool) -> Response:
    landed = present.reload(landed)
    data = {
        "entry": shown.EntrySerializer(entry).data,
        "ticket": present.detail_data(who, landed),
        "follow_up": follow_up,
    }
    headers = {"ETag": present.etag(landed), "Location": shown.ticket_url(landed.number)}
    return Response(data, status=201, headers=headers)


ENTRY_SCHEMA = {
    "parameters": [
        schema.NUMBER,
        schema.IF_MATCH,
        schema.IDEMPOTENCY_KEY,
        schema.etag(201),
        schema.location(201),
        schema.REPLAYED,
    ],
    "responses": {201: EntryAnswer, **schema.errors(400, 403, 404, 409, 422)},
}


class AgentEntry(APIView):
    """A reply or a note: agents only."""

    permission_classes = [CanRead, CanWrite]
    service: Callable[..., ThreadEntry]

    def write(self, request: Request, number: str) -> Response:
        who = caller(request)
        ticket = ticket_for(who, number)
        if not who.is_agent:
            raise exceptions.PermissionDenied(_("Only agents reply or add notes; requesters send messages."))
        body = inputs.EntryBody(data=request.data)
        body.is_valid(raise_exception=True)
        with writes.changing(request, who, ticket):
            entry = type(self).service(
                ticket=ticket,
                actor=who.user,
                body=body.validated_data["body"],
                attachments=body.validated_data.get("attachments", []),
            )
        return _entry_response(who, ticket, entry, follow_up=False)


class Reply(AgentEntry):
    service = services.ticket_reply

    @extend_schema(
        summary="Reply to the requester (agents)",
        description="A public reply, mailed to the requester.",
        request={kind: inputs.EntryBody for kind in MULTIPART},
        **ENTRY_SCHEMA,
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        return self.write(request, number)


class Note(AgentEntry):
    service = services.ticket_note

    @extend_schema(
        summary="Add an internal note (agents)",
        description="Agents only see it; nobody is mailed.",
        request={kind: inputs.EntryBody for kind in MULTIPART},
        **ENTRY_SCHEMA,
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        return self.write(request, number)


class Message(APIView):
    permission_classes = [CanWrite]

    @extend_schema(
        summary="The requester's message",
        description="From the requester, or from an integration (“create” key) for the ticket's "
        "requester, named by `requester_email`. On a waiting ticket it goes back to work; on a "
        "closed one it opens a follow-up (`follow_up`, and `ticket` and Location are the "
        "follow-up's).",
        request={kind: inputs.MessageBody for kind in MULTIPART},
        **ENTRY_SCHEMA,
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        who = caller(request)
        body = inputs.MessageBody(data=request.data, context={"who": who})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if who.is_integration:
            ticket = ticket_for_message(who, number, email=data["requester_email"])
            acting: dict[str, Any] = {"actor": None, "system_rule": f"API key “{who.key.name}”"}
        else:
            ticket = ticket_for(who, number)
            if not who.is_requester:
                raise exceptions.PermissionDenied(_("Messages are the requester's; agents send replies."))
            acting = {"actor": who.user}
        with writes.changing(request, who, ticket):
            landed, entry = services.ticket_receive_reply(
                ticket=ticket, body=data["body"], attachments=data.get("attachments", []), **acting
            )
        # A message for a merged ticket lands on its survivor: no follow-up.
        follow_up = landed.pk not in (ticket.pk, ticket.merged_into_id)
        return _entry_response(who, landed, entry, follow_up=follow_up)


# -- transitions -------------------------------------------------------------------------------

Move = Callable[[Ticket, Any, dict[str, Any]], object]

# name -> (its fields, the service call), as agents/views/actions.py runs them.
AGENT_MOVES: dict[str, tuple[type[serializers.Serializer], Move]] = {
    "assign": (
        inputs.AssignBody,
        lambda t, a, d: services.ticket_assign(
            ticket=t, actor=a, agent=d.get("agent"), team=d.get("team"), department=d.get("department")
        ),
    ),
    "claim": (inputs.NoBody, lambda t, a, d: services.ticket_claim(ticket=t, actor=a)),
    "start_work": (inputs.NoBody, lambda t, a, d: services.ticket_start_work(ticket=t, actor=a)),
    "request_info": (
        inputs.MessageFieldBody,
        lambda t, a, d: services.ticket_request_info(ticket=t, actor=a, message=d["message"]),
    ),
    "escalate": (
        inputs.EscalateBody,
        lambda t, a, d: services.ticket_escalate(
            ticket=t, actor=a, summary=d["summary"], team=d.get("team"), department=d.get("department")
        ),
    ),
    "resolve": (
        inputs.MessageFieldBody,
        lambda t, a, d: services.ticket_resolve(ticket=t, actor=a, message=d["message"]),
    ),
    "reopen": (
        inputs.ReasonBody,
        lambda t, a, d: services.ticket_reopen(ticket=t, actor=a, reason=d["reason"]),
    ),
    "close": (
        inputs.OptionalReasonBody,
        lambda t, a, d: services.ticket_close(ticket=t, actor=a, reason=d["reason"]),
    ),
    "cancel": (
        inputs.ReasonBody,
        lambda t, a, d: services.ticket_cancel(ticket=t, actor=a, reason=d["reason"]),
    ),
}
# What a requester may run (on a resolved ticket): confirm the fix, or say it did not hold.
REQUESTER_MOVES: dict[str, tuple[type[serializers.Serializer], Callable[..., services.RequesterWrite]]] = {
    "close": (
        inputs.NoBody,
        lambda t, a, d: services.ticket_confirm_fix(ticket=t, actor=a),
    ),
    "reopen": (
        inputs.ReasonBody,
        lambda t, a, d: services.ticket_requester_reopen(ticket=t, actor=a, reason=d["reason"]),
    ),
}
assert set(present.REQUESTER_MOVES) == set(REQUESTER_MOVES)

SUMMARIES = {
    "assign": "Assign to an agent and/or a team (naming a department transfers it)",
    "claim": "Take the ticket",
    "start_work": "Start work (the assignee)",
    "request_info": "Ask the requester; the ticket waits for them",
    "escalate": "Escalate to a higher-tier team or department",
    "resolve": "Resolve, with a message to the requester",
    "reopen": "Reopen a resolved ticket (agents; requesters: the fix did not hold)",
    "close": "Close a resolved ticket (agents; requesters: confirm the fix)",
    "cancel": "Cancel a ticket that needs no work",
}


class Transition(APIView):
    permission_classes = [CanRead, CanWrite]
    name: str

    def run(self, request: Request, number: str) -> Response:
        who = caller(request)
        ticket = ticket_for(who, number)
        if who.is_agent:
            fields, move = AGENT_MOVES[self.name]
        elif self.name in REQUESTER_MOVES:
            fields, move = REQUESTER_MOVES[self.name]
        else:
            raise exceptions.PermissionDenied(_("Requesters may only close or reopen a resolved ticket."))
        body = fields(data=request.data, context={"ticket": ticket})
        body.is_valid(raise_exception=True)
        with writes.changing(request, who, ticket):
            if not who.is_agent and ticket.state != State.RESOLVED:
                raise services.TicketActionError(_("Only a resolved ticket can be confirmed or reopened."))
            done = move(ticket, who.user, body.validated_data)
        landed = done.ticket if isinstance(done, services.RequesterWrite) else ticket
        headers = {} if landed.pk == ticket.pk else {"Location": shown.ticket_url(landed.number)}
        landed = present.reload(landed)
        if self.name == "resolve" and landed.is_major_incident:
            headers[REPORTS_RESOLVED] = str(linked.incident_reports_resolved_with(landed))
        return present.detail_response(who, landed, **headers)


def _transition_view(name: str) -> type[Transition]:
    fields = AGENT_MOVES[name][0]

    class View(Transition):
        @extend_schema(
            summary=SUMMARIES[name],
            operation_id=f"v1_tickets_transitions_{name}",
            parameters=[
                schema.NUMBER,
                schema.IF_MATCH,
                schema.IDEMPOTENCY_KEY,
                schema.etag(200),
                schema.location(200),
                *([schema.reports_resolved(200)] if name == "resolve" else []),
                schema.REPLAYED,
            ],
            request=None if fields is inputs.NoBody else fields,
            responses={200: schema.DETAIL, **schema.errors(400, 403, 404, 409, 422)},
        )
        @idempotent
        def post(self, request: Request, number: str) -> Response:
            return self.run(request, number)

    View.name = name
    View.__name__ = View.__qualname__ = "".join(part.title() for part in name.split("_")) + "Transition"
    return View


class Merge(APIView):
    permission_classes = [CanRead, CanWrite]

    @extend_schema(
        summary="Merge a true duplicate into another ticket (agents)",
        description="This ticket is closed into `into`, the survivor: its thread entries (with their "
        "files) and contacts move there in order of time, and its number leads there from then on. "
        "Both must be in one department; different requesters need `confirm_other_requester` "
        "(409 with code `confirm_other_requester` without it). Answers with the survivor; If-Match "
        "is this ticket's version.",
        parameters=[
            schema.NUMBER,
            schema.IF_MATCH,
            schema.IDEMPOTENCY_KEY,
            schema.etag(200),
            schema.location(200),
            schema.REPLAYED,
        ],
        request=inputs.MergeBody,
        responses={200: schema.DETAIL, **schema.errors(400, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        who = caller(request)
        # The duplicate itself, never where its number leads: a merged ticket is not merged again.
        ticket = ticket_for(who, number, follow=False)
        if not who.is_agent:
            raise exceptions.PermissionDenied(_("Only agents merge tickets."))
        body = inputs.MergeBody(data=request.data)
        body.is_valid(raise_exception=True)
        into = ticket_for(who, body.validated_data["into"])
        with writes.changing(request, who, ticket):
            try:
                services.ticket_merge(
                    ticket=ticket,
                    into=into,
                    actor=who.user,
                    confirm_other_requester=body.validated_data["confirm_other_requester"],
                )
            except services.MergeNeedsConfirmation as exc:
                raise Conflict(
                    str(exc), code="confirm_other_requester", ticket=present.detail_data(who, ticket)
                ) from None
        into = present.reload(into)
        return present.detail_response(who, into, Location=shown.ticket_url(into.number))


class UnknownTransition(APIView):
    @extend_schema(exclude=True)
    def post(self, request: Request, number: str, name: str) -> Response:
        raise exceptions.NotFound(_("No such transition."))


urlpatterns = [
    path("tickets/<str:number>/replies/", Reply.as_view(), name="replies"),
    path("tickets/<str:number>/notes/", Note.as_view(), name="notes"),
    path("tickets/<str:number>/messages/", Message.as_view(), name="messages"),
    *(
        path(
            f"tickets/<str:number>/transitions/{name}/",
            _transition_view(name).as_view(),
            name=f"transition-{name}",
        )
        for name in AGENT_MOVES
    ),
    path(
        "tickets/<str:number>/transitions/<str:name>/", UnknownTransition.as_view(), name="transition-unknown"
    ),
    path("tickets/<str:number>/merge/", Merge.as_view(), name="merge"),
]
