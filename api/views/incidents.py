"""Major incidents (docs/lifecycle.md, "Major incidents"): open one, or declare a ticket one, and
change its public status line; link reports to it and unlink them; preview and post a public
update that reaches every report. Each calls its service in ``tickets.services.incidents`` as
the console does; resolving an incident is the ordinary ``resolve`` transition."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import pagination, present, schema, writes
from api.access import Caller, caller, ticket_for, tickets_for
from api.errors import NOT_FOUND, Conflict
from api.idempotent import idempotent
from api.permissions import CanRead, CanWrite
from api.serializers import incidents as shapes
from api.serializers import tickets as shown
from tickets import selectors, services
from tickets.models import Ticket

AGENTS_ONLY = gettext_lazy("Only agents work with major incidents.")
MAY_NOT_MANAGE = gettext_lazy("Your role may not declare major incidents or send their updates.")
MAY_NOT_LINK = gettext_lazy("Your role may not link tickets.")


def _agent(who: Caller) -> Caller:
    if not who.is_agent:
        raise exceptions.PermissionDenied(str(AGENTS_ONLY))
    return who


def _seen(request: Request, number: str) -> tuple[Caller, Ticket]:
    """The caller, an agent, and the ticket they see (404 first: a requester learns nothing)."""
    who = caller(request)
    ticket = ticket_for(who, number)
    return _agent(who), ticket


def _check_perm(who: Caller, perm: str, message: Any) -> None:
    if not who.user.has_perm(perm):
        raise exceptions.PermissionDenied(str(message))


def _incident(request: Request, number: str) -> tuple[Caller, Ticket]:
    """The major incident with this number, which the caller sees; 409 for another ticket."""
    who, ticket = _seen(request, number)
    if not ticket.is_major_incident:
        raise Conflict(
            _("#%(number)s is not a major incident.") % {"number": ticket.number},
            ticket=present.detail_data(who, ticket),
        )
    return who, ticket


WRITE_PARAMETERS = [schema.NUMBER, schema.IF_MATCH, schema.IDEMPOTENCY_KEY, schema.etag(200), schema.REPLAYED]


class IncidentOpen(APIView):
    permission_classes = [CanRead, CanWrite]

    @extend_schema(
        summary="Open a major incident (supervisors)",
        description="A new ticket standing for the outage: the agent is its requester and its "
        "assignee, with `team`; `first_report`, the ticket it is opened from, is linked to it.",
        parameters=[schema.IDEMPOTENCY_KEY, schema.etag(201), schema.location(201), schema.REPLAYED],
        request=shapes.IncidentOpenBody,
        responses={201: schema.DETAIL, **schema.errors(400, 403, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        who = _agent(caller(request))
        _check_perm(who, "tickets.manage_incidents", MAY_NOT_MANAGE)
        body = shapes.IncidentOpenBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if who.department is not None and data["department"] != who.department:
            raise exceptions.ValidationError(
                {
                    "department": [
                        # Translators: %(department)s is the name of a department.
                        _("This API key works in %(department)s only.") % {"department": who.department}
                    ]
                }
            )
        first = None
        if number := data.get("first_report", "").strip():
            first = tickets_for(who).filter(number=number).first() if number.isdigit() else None
            if first is None:
                raise exceptions.ValidationError({"first_report": [str(NOT_FOUND)]})
        try:
            incident = services.incident_open(
                actor=who.user,
                subject=data["subject"],
                body=data["body"],
                status=data["status"],
                department=data["department"],
                team=data.get("team"),
                first_report=first,
            )
        except services.TicketActionError as exc:
            field = "first_report" if first is not None else "non_field_errors"
            raise exceptions.ValidationError({field: [str(exc)]}) from None
        incident = present.reload(incident)
        headers = {"Location": shown.ticket_url(incident.number)}
        return present.detail_response(who, incident, status=201, **headers)


class IncidentFlag(APIView):
    """The ticket as a major incident: declare it (POST), change its status line (PATCH)."""

    permission_classes = [CanRead, CanWrite]

    def _write(self, request: Request, number: str, service: Any) -> Response:
        who, ticket = _seen(request, number)
        _check_perm(who, "tickets.manage_incidents", MAY_NOT_MANAGE)
        body = shapes.StatusBody(data=request.data)
        body.is_valid(raise_exception=True)
        with writes.changing(request, who, ticket):
            service(ticket, who.user, body.validated_data["status"])
        return present.detail_response(who, present.reload(ticket))

    @extend_schema(
        summary="Declare the ticket a major incident (supervisors)",
        description="Other tickets reporting the same outage can then be linked to it; their "
        "requesters read its status line on their tickets.",
        operation_id="v1_tickets_incident_declare",
        parameters=WRITE_PARAMETERS,
        request=shapes.StatusBody,
        responses={200: schema.DETAIL, **schema.errors(400, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        return self._write(
            request,
            number,
            lambda t, actor, status: services.incident_declare(ticket=t, actor=actor, status=status),
        )

    @extend_schema(
        summary="Change a major incident's public status line (supervisors)",
        operation_id="v1_tickets_incident_status",
        parameters=[schema.NUMBER, schema.IF_MATCH, schema.etag(200)],
        request=shapes.StatusBody,
        responses={200: schema.DETAIL, **schema.errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, number: str) -> Response:
        return self._write(
            request,
            number,
            lambda t, actor, status: services.incident_set_status(incident=t, actor=actor, status=status),
        )


class Reports(APIView):
    """An incident's reports: list them, link more."""

    def get_permissions(self) -> list[Any]:
        return [CanRead()] if self.request.method == "GET" else [CanRead(), CanWrite()]

    @extend_schema(
        operation_id="v1_tickets_reports_list",
        summary="The reports linked to a major incident",
        description="The reports you may see, newest activity first, in the agent form. Pages by "
        "cursor: follow `next`. A ticket that is no incident has none.",
        parameters=[schema.NUMBER, shapes.ReportsQuery],
        responses={200: shapes.ReportPage, **schema.errors(400, 403, 404)},
    )
    def get(self, request: Request, number: str) -> Response:
        who, incident = _seen(request, number)
        query = shapes.ReportsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports = (
            selectors.ticket_queue(who.user, queue="all", sort="activity")
            .filter(incident=incident)
            .prefetch_related("follow_up_of", "incident")
        )
        if who.department is not None:
            reports = reports.filter(department=who.department)
        page = pagination.paginate(
            request,
            reports,
            sort="activity",
            size=query.validated_data["page_size"],
            cursor=query.validated_data.get("cursor"),
        )
        rows = shown.AgentTicketSerializer(page.rows, many=True).data
        return Response({"results": rows, "next": page.next})

    @extend_schema(
        summary="Link tickets to a major incident as its reports",
        description="Each ticket named is linked or refused with the reason (one you may not see "
        "is “No such ticket.”); a linked report still open is assigned to the incident's team. "
        "`If-Match` is the incident's version.",
        parameters=WRITE_PARAMETERS,
        request=shapes.LinkBody,
        responses={200: shapes.LinkAnswer, **schema.errors(400, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        who, incident = _seen(request, number)
        _check_perm(who, "tickets.work_ticket", MAY_NOT_LINK)
        body = shapes.LinkBody(data=request.data)
        body.is_valid(raise_exception=True)
        numbers = [n.strip() for n in body.validated_data["tickets"]]
        results = []
        with writes.changing(request, who, incident):
            refused = services.incident_refusal(incident)
            if refused is not None:  # the whole request, before any ticket it names
                raise services.TicketActionError(refused)
            found = {
                t.number: t
                for t in tickets_for(who)
                .select_related("incident")
                .filter(number__in=[n for n in numbers if n.isdigit()])
            }
            done: set[str] = set()
            for named in numbers:
                results.append(_link(who, found.get(named), named, incident, done))
        linked = sum(1 for r in results if r["outcome"] == "linked")
        answer = {"linked": linked, "refused": len(results) - linked, "results": results}
        return Response(answer, headers={"ETag": present.etag(present.reload(incident))})


def _link(who: Caller, ticket: Ticket | None, named: str, incident: Ticket, done: set[str]) -> dict[str, str]:
    if ticket is None:
        return {"ticket": named, "outcome": "refused", "reason": str(NOT_FOUND)}
    if ticket.number in done:
        return {"ticket": named, "outcome": "refused", "reason": _("Named twice.")}
    done.add(ticket.number)
    try:
        services.ticket_link_incident(ticket=ticket, actor=who.user, incident=incident)
    except (services.TicketActionError, PermissionDenied) as exc:
        return {"ticket": named, "outcome": "refused", "reason": str(exc)}
    return {"ticket": named, "outcome": "linked", "reason": ""}


class IncidentLink(APIView):
    permission_classes = [CanRead, CanWrite]

    @extend_schema(
        summary="Unlink a report from its major incident",
        description="The report goes on alone, with its own resolution clock.",
        parameters=[schema.NUMBER, schema.IF_MATCH, schema.etag(200)],
        responses={200: schema.DETAIL, **schema.errors(403, 404, 409)},
    )
    def delete(self, request: Request, number: str) -> Response:
        who, ticket = _seen(request, number)
        _check_perm(who, "tickets.work_ticket", MAY_NOT_LINK)
        with writes.changing(request, who, ticket):
            services.ticket_unlink_incident(ticket=ticket, actor=who.user)
        return present.detail_response(who, present.reload(ticket))


class UpdatePreview(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        summary="Who a public update would reach now",
        description="The incident's active reports and their distinct requesters.",
        parameters=[schema.NUMBER],
        responses={200: shapes.Audience, **schema.errors(403, 404, 409)},
    )
    def get(self, request: Request, number: str) -> Response:
        _who, incident = _incident(request, number)
        audience = services.incident_audience(incident)
        return Response({"reports": audience.reports, "requesters": audience.requesters})


class Updates(APIView):
    permission_classes = [CanRead, CanWrite]

    @extend_schema(
        summary="Post a public update to every report (supervisors)",
        description="A public reply on the incident and on each active report, in its own thread, "
        "mailed to its requester. The answer is the audience reached and the incident.",
        parameters=[
            schema.NUMBER,
            schema.IF_MATCH,
            schema.IDEMPOTENCY_KEY,
            schema.etag(201),
            schema.REPLAYED,
        ],
        request=shapes.UpdateBody,
        responses={201: shapes.UpdateAnswer, **schema.errors(400, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        who, incident = _seen(request, number)
        _check_perm(who, "tickets.manage_incidents", MAY_NOT_MANAGE)
        body = shapes.UpdateBody(data=request.data)
        body.is_valid(raise_exception=True)
        with writes.changing(request, who, incident):
            audience = services.incident_post_update(
                incident=incident, actor=who.user, body=body.validated_data["body"]
            )
        incident = present.reload(incident)
        data = {
            "reports": audience.reports,
            "requesters": audience.requesters,
            "ticket": present.detail_data(who, incident),
        }
        return Response(data, status=201, headers={"ETag": present.etag(incident)})


urlpatterns = [
    path("incidents/", IncidentOpen.as_view(), name="incidents"),
    path("tickets/<str:number>/incident/", IncidentFlag.as_view(), name="incident"),
    path("tickets/<str:number>/incident-link/", IncidentLink.as_view(), name="incident-link"),
    path("tickets/<str:number>/reports/", Reports.as_view(), name="incident-reports"),
    path("tickets/<str:number>/updates/", Updates.as_view(), name="updates"),
    path("tickets/<str:number>/updates/preview/", UpdatePreview.as_view(), name="updates-preview"),
]
