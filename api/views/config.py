"""The configuration: help topics and priorities for every caller (an integration needs their
ids to open tickets), departments, teams and SLA plans for agents."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema
from api.access import caller
from api.serializers import config as shown
from tickets import selectors


def _listing(name: str, serializer: type[serializers.Serializer]) -> Any:
    return inline_serializer(f"{name}List", {"results": serializer(many=True)})


class HelpTopics(APIView):
    @extend_schema(
        summary="Help topics",
        description="Agents: every active topic; others: the public ones.",
        responses={200: _listing("HelpTopic", shown.HelpTopicSerializer), **schema.errors()},
    )
    def get(self, request: Request) -> Response:
        who = caller(request)
        topics = selectors.console_choices().help_topics if who.is_agent else selectors.help_topics_public()
        return Response({"results": shown.HelpTopicSerializer(topics, many=True).data})


class Priorities(APIView):
    @extend_schema(
        summary="Priorities, most urgent first",
        responses={200: _listing("Priority", shown.PrioritySerializer), **schema.errors()},
    )
    def get(self, request: Request) -> Response:
        return Response({"results": shown.PrioritySerializer(selectors.priorities(), many=True).data})


class AgentsOnly(APIView):
    """What agents pick from: one of the console's choices."""

    choice: str
    serializer: type[serializers.Serializer]

    def listing(self, request: Request) -> Response:
        if not caller(request).is_agent:
            raise exceptions.PermissionDenied(_("Only agents read this."))
        rows = getattr(selectors.console_choices(), self.choice)
        return Response({"results": self.serializer(rows, many=True).data})


class Departments(AgentsOnly):
    choice, serializer = "departments", shown.DepartmentSerializer

    @extend_schema(
        summary="Departments (agents)",
        responses={200: _listing("Department", serializer), **schema.errors(403)},
    )
    def get(self, request: Request) -> Response:
        return self.listing(request)


class Teams(AgentsOnly):
    choice, serializer = "teams", shown.TeamSerializer

    @extend_schema(
        summary="Active teams (agents)",
        responses={200: _listing("Team", serializer), **schema.errors(403)},
    )
    def get(self, request: Request) -> Response:
        return self.listing(request)


class SLAPlans(AgentsOnly):
    choice, serializer = "sla_plans", shown.SLAPlanSerializer

    @extend_schema(
        summary="Active SLA plans (agents)",
        responses={200: _listing("SLAPlan", serializer), **schema.errors(403)},
    )
    def get(self, request: Request) -> Response:
        return self.listing(request)


urlpatterns = [
    path("help-topics/", HelpTopics.as_view(), name="help-topics"),
    path("priorities/", Priorities.as_view(), name="priorities"),
    path("departments/", Departments.as_view(), name="departments"),
    path("teams/", Teams.as_view(), name="teams"),
    path("sla-plans/", SLAPlans.as_view(), name="sla-plans"),
]
