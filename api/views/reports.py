"""The lifecycle reports for supervisors: the dashboard's figures and the SLA what-if, the same
numbers as the console's pages (``tickets.reports``), over the tickets the caller sees. Their
reads may be served by the read replica (``tickets.replica``), once the caller is let in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema
from api.access import Caller, caller
from api.permissions import CanRead
from api.serializers import reports as shown
from tickets.replica import reading_from_replica
from tickets.reports import sla, snapshots
from tickets.reports.types import ReportFilters


class CanViewReports(CanRead):
    """A supervisor's session or key (not a "create only" key): the "view reports" permission."""

    message = gettext_lazy("Only supervisors read the reports (the “view reports” permission).")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        who = caller(request)
        return who.is_agent and who.user.has_perm("tickets.view_reports")


def _query(request: Request, form: type[shown.ReportQuery]) -> shown.ReportQuery:
    query = form(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query


def _filters(who: Caller, query: shown.ReportQuery) -> ReportFilters:
    """The query's filters; a key limited to a department reports on that department only."""
    filters = query.filters()
    if who.department is None:
        return filters
    if filters.department_id not in (None, who.department.pk):
        raise exceptions.PermissionDenied(
            # Translators: %(department)s is the name of a department.
            _("This API key reports on the %(department)s department only.")
            % {"department": who.department.name}
        )
    return replace(filters, department_id=who.department.pk)


class Dashboard(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        summary="The lifecycle dashboard (supervisors)",
        description="Over the tickets you see that match the filters, in the period: the funnel, "
        "time in each stage, time waiting on the requester, SLA attainment, reopen, escalation "
        "and follow-up rates, created and closed per day, the load of each team and agent and the "
        "slowest help topics. Durations in seconds. The console's reports page shows the same.",
        parameters=[shown.DashboardQuery],
        responses={200: shown.DashboardSerializer, **schema.errors(400, 403)},
    )
    @reading_from_replica()
    def get(self, request: Request) -> Response:
        who = caller(request)
        query = _query(request, shown.DashboardQuery)
        fresh = query.validated_data.get("fresh", False)
        dashboard = snapshots.dashboard(who.user, query.period_asked(), _filters(who, query), fresh=fresh)
        return Response(shown.DashboardSerializer(dashboard).data)


class WhatIf(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        summary="SLA what-if (supervisors)",
        description="The attainment the period's tickets would have had under an SLA plan's "
        "targets and calendar (or hours given here), replayed from their transition logs, beside "
        "the attainment they had.",
        parameters=[shown.WhatIfQuery],
        responses={200: shown.WhatIfSerializer, **schema.errors(400, 403)},
    )
    @reading_from_replica()
    def get(self, request: Request) -> Response:
        who = caller(request)
        query = _query(request, shown.WhatIfQuery)
        data = query.validated_data
        period, filters, plan = query.period(timezone.now()), _filters(who, query), data["plan"]
        result = sla.what_if(
            who.user,
            period,
            filters,
            plan=plan,
            first_response_hours=data.get("first_response_hours"),
            resolution_hours=data.get("resolution_hours"),
        )
        answer = {"period": period, "filters": filters, "plan": plan, "result": result}
        return Response(shown.WhatIfSerializer(answer).data)


urlpatterns = [
    path("reports/dashboard/", Dashboard.as_view(), name="reports-dashboard"),
    path("reports/what-if/", WhatIf.as_view(), name="reports-what-if"),
]
